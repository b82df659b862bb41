// `stt-benchmark cpu`: client CPU per audio-hour (workloads 1 and 2 of Docs/Performance.md).
// Every client, ours and the vendors' Python SDKs alike, streams the same recording unpaced to
// the emulator (another process) in its own process; each is measured the same way and checked
// against what the emulator received.

import ArgumentParser
import Foundation

/// One client configuration of the CPU benchmark: a row of its table.
struct ClientRow {
    /// How the client is run.
    enum Kind {
        /// `stt-benchmark client`: `StreamingTranscriber`.
        case swift
        /// The same with the session's tasks on the event loop's thread (`--executor loop`).
        case swiftOnEventLoop
        /// A script of `Benchmarks/python/`, run by the benchmark virtualenv's Python.
        case python(script: String)
    }

    /// What the table calls the client.
    var label: String
    /// `assemblyai` or `speechmatics`.
    var vendor: String
    /// Audio per message.
    var chunkMilliseconds: Int
    var kind: Kind

    /// Whether this is our library.
    var isOurs: Bool {
        switch kind {
        case .swift, .swiftOnEventLoop: true
        case .python: false
        }
    }

    /// Whether this is our library with its tasks on the event loop.
    var isOnEventLoop: Bool {
        if case .swiftOnEventLoop = kind { return true }
        return false
    }

    /// The rows: ours at 50 ms and at the largest chunk each vendor allows the library for
    /// unpaced audio (AssemblyAI 500 ms, `StreamingTranscriber`'s limit inside the service's
    /// 50–1000 ms; Speechmatics 5 s), ours at 50 ms with the session's tasks on the event loop
    /// (`WebSocketEventLoop` as their executor), then each Python client at 50 ms.
    static let all: [ClientRow] = [
        ClientRow(label: "StreamingSTT (Swift)", vendor: "assemblyai", chunkMilliseconds: 50, kind: .swift),
        ClientRow(label: "StreamingSTT (Swift)", vendor: "assemblyai", chunkMilliseconds: 500, kind: .swift),
        ClientRow(
            label: "StreamingSTT (Swift), tasks on the event loop", vendor: "assemblyai", chunkMilliseconds: 50,
            kind: .swiftOnEventLoop),
        ClientRow(
            label: "assemblyai 1.8.2 SDK, streaming.v3 (Python)", vendor: "assemblyai", chunkMilliseconds: 50,
            kind: .python(script: "assemblyai_sdk.py")),
        ClientRow(
            label: "websocket-client 1.9.2 loop (Python)", vendor: "assemblyai", chunkMilliseconds: 50,
            kind: .python(script: "assemblyai_websocket_client.py")),
        ClientRow(label: "StreamingSTT (Swift)", vendor: "speechmatics", chunkMilliseconds: 50, kind: .swift),
        ClientRow(label: "StreamingSTT (Swift)", vendor: "speechmatics", chunkMilliseconds: 5000, kind: .swift),
        ClientRow(
            label: "StreamingSTT (Swift), tasks on the event loop", vendor: "speechmatics", chunkMilliseconds: 50,
            kind: .swiftOnEventLoop),
        ClientRow(
            label: "speechmatics-rt 1.2.1 SDK, AsyncClient (Python)", vendor: "speechmatics", chunkMilliseconds: 50,
            kind: .python(script: "speechmatics_sdk.py")),
        ClientRow(
            label: "websocket-client 1.9.2 loop (Python)", vendor: "speechmatics", chunkMilliseconds: 50,
            kind: .python(script: "speechmatics_websocket_client.py")),
    ]
}

/// The runs of one row.
struct RowRuns {
    var row: ClientRow
    /// The runs that passed every check, as their clients reported them.
    var results: [[String: Any]] = []
    /// The whole-process CPU seconds of those runs (start-up and imports included).
    var wholeProcessCPU: [Double] = []
    /// Why runs failed.
    var failures: [String] = []
    /// Why the row was not run at all.
    var skipped: String?
}

/// `stt-benchmark cpu`: workloads 1 and 2 of Docs/Performance.md, client CPU per audio-hour of
/// every ``ClientRow``; prints their table (or JSON with `--json`).
struct CPUCommand: AsynchronousMode {
    static let configuration = CommandConfiguration(
        commandName: "cpu",
        abstract: "Client CPU per audio-hour: ours and the vendors' Python clients against the emulator.",
        discussion: """
            Every client streams the same recording unpaced, in its own process, to stt-benchmark \
            emulator in another; then callgrind counts our AssemblyAI client's instructions. \
            scripts/benchmark runs this mode with its arguments.
            """
    )

    @Option(help: "Runs of each client (the table gives their median, minimum and maximum).")
    var runs: Int = 9

    @Option(help: "Seconds of the recording each client streams.")
    var seconds: Int = 600

    @Flag(help: "Print JSON instead of Markdown.")
    var json = false

    @Flag(help: "Leave out the Python clients.")
    var noPython = false

    @Option(
        help: ArgumentHelp(
            "A Python with the packages of Benchmarks/python/requirements.txt (default: the virtualenv Benchmarks/python/venv.sh makes).",
            valueName: "path"))
    var python: String?

    @Flag(help: "Leave out the instruction count under valgrind's callgrind.")
    var noCallgrind = false

    @Option(help: "Audio seconds of the shorter callgrind run (the longer one has twice as many).")
    var callgrindSeconds: Int = 30

    func validate() throws {
        try requirePositive(["--runs": runs, "--seconds": seconds, "--callgrind-seconds": callgrindSeconds])
    }

    func run() async throws {
        try await runCPUBenchmark(self)
    }
}

/// Runs `options`' rows and callgrind, and prints the report.
private func runCPUBenchmark(_ options: CPUCommand) async throws {
    let runs = options.runs
    let seconds = options.seconds
    let loadAtStart = loadAverage()
    let context = try await BenchmarkContext(seconds: seconds)
    defer { context.emulator.stop() }
    log("emulator on port \(context.emulator.port); \(seconds) s of audio, \(context.expectedWords) words")

    var python: PythonEnvironment
    if options.noPython {
        python = .unavailable("skipped (--no-python)")
    } else if let path = options.python {
        python = .ready(python: path, version: await PythonEnvironment.version(of: path))
    } else {
        log("preparing the Python virtualenv (Benchmarks/python/venv.sh)")
        python = await PythonEnvironment.prepare()
    }

    var rows = ClientRow.all.map { RowRuns(row: $0) }
    for index in rows.indices {
        if case .python = rows[index].row.kind, case .unavailable(let reason) = python {
            rows[index].skipped = reason
        }
    }
    for run in 1...runs {
        for index in rows.indices where rows[index].skipped == nil {
            let row = rows[index].row
            do {
                let (result, wholeCPU) = try await context.measure(row, python: python)
                rows[index].results.append(result)
                rows[index].wholeProcessCPU.append(wholeCPU)
                let cpu = result["cpu_seconds"] as? Double ?? 0
                let wall = result["wall_seconds"] as? Double ?? 0
                log(
                    "run \(run)/\(runs) \(row.vendor) \(row.chunkMilliseconds) ms \(row.label): "
                        + String(format: "%.2f CPU-s, %.2f s wall", cpu, wall))
            } catch {
                rows[index].failures.append("run \(run): \(error)")
                log("run \(run)/\(runs) \(row.vendor) \(row.chunkMilliseconds) ms \(row.label): FAILED: \(error)")
            }
        }
    }

    var callgrind: CallgrindFigures.Outcome = .notRun("skipped (--no-callgrind)")
    if !options.noCallgrind {
        callgrind = await CallgrindFigures.measure(
            context: context, seconds: options.callgrindSeconds)
    }
    let report = CPUReport(
        rows: rows, runs: runs, audioSeconds: Double(seconds), python: python, callgrind: callgrind,
        loadAtStart: loadAtStart)
    if options.json { try report.printJSON() } else { report.printMarkdown() }
}

/// A progress line on standard error.
func log(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// What every measured session shares: the recording, the emulator child and the expected words.
struct BenchmarkContext {
    let seconds: Int
    let audioPath: String
    let expectedWords: Int
    let emulator: ServerProcess

    init(seconds: Int) async throws {
        self.seconds = seconds
        audioPath = try await BenchmarkRecording.cachedFile(seconds: seconds)
        expectedWords = BenchmarkRecording.script(seconds: Double(seconds)).words.count
        emulator = try ServerProcess.start(["emulator", "--seconds", "\(seconds)"])
    }

    /// The emulator's URL for `vendor`.
    func url(_ vendor: String) -> String {
        "wss://127.0.0.1:\(emulator.port)" + (vendor == "assemblyai" ? "/v3/ws" : "/v2")
    }

    /// The arguments every client takes (Swift and Python alike).
    func clientArguments(_ row: ClientRow, audioPath: String) -> [String] {
        [
            "--vendor", row.vendor, "--chunk-ms", "\(row.chunkMilliseconds)", "--audio", audioPath,
            "--url", url(row.vendor), "--ca", emulator.caPath, "--key", benchmarkAPIKey,
        ]
    }

    /// Runs `row`'s client once in its own process and checks it: it exited 0, it received every
    /// scripted word in finals, and the emulator received every audio byte in one session with
    /// no violation. Returns the client's own report and its whole-process CPU time.
    func measure(_ row: ClientRow, python: PythonEnvironment) async throws -> ([String: Any], Double) {
        let executable: String
        var arguments = clientArguments(row, audioPath: audioPath)
        switch row.kind {
        case .swift:
            executable = CommandLine.arguments[0]
            arguments.insert("client", at: 0)
        case .swiftOnEventLoop:
            executable = CommandLine.arguments[0]
            arguments = ["client", "--executor", "loop"] + arguments
        case .python(let script):
            guard case .ready(let path, _) = python else { throw BenchmarkError("no Python") }
            executable = path
            arguments.insert(BenchmarkRecording.packageRoot + "/Benchmarks/python/" + script, at: 0)
        }
        let outcome = try await runChild(executable, arguments, timeLimit: .seconds(600))
        let result = try check(outcome, bytes: seconds * BenchmarkRecording.bytesPerSecond, words: expectedWords)
        return (result, outcome.cpu.total)
    }

    /// The client's report, if the client and the emulator both say the session was complete.
    func check(_ outcome: ChildOutcome, bytes: Int, words: Int) throws -> [String: Any] {
        let sessions = try emulator.ask("sessions")
        if outcome.timedOut { throw BenchmarkError("timed out") }
        let lastLine = outcome.output.split(separator: "\n").last.map(String.init) ?? ""
        guard let result = try? JSONSerialization.jsonObject(with: Data(lastLine.utf8)) as? [String: Any] else {
            let tail = outcome.errorOutput.split(separator: "\n").suffix(5).joined(separator: " | ")
            throw BenchmarkError("no result (exit \(outcome.status)): \(tail)")
        }
        guard outcome.status == 0, result["ok"] as? Bool == true else {
            throw BenchmarkError("client failed: \(result["error"] ?? "exit \(outcome.status)")")
        }
        guard result["final_words"] as? Int == words else {
            throw BenchmarkError("client received \(result["final_words"] ?? "?") words in finals, expected \(words)")
        }
        guard let records = try JSONSerialization.jsonObject(with: Data(sessions.utf8)) as? [[String: Any]],
            records.count == 1, let record = records.first
        else {
            throw BenchmarkError("expected one emulator session, got: \(sessions.prefix(300))")
        }
        guard record["audio_bytes"] as? Int == bytes else {
            throw BenchmarkError("the emulator received \(record["audio_bytes"] ?? "?") audio bytes, expected \(bytes)")
        }
        // "recorded only: …" is what the service tolerates (a short `last_seq_no`); anything else
        // was answered with an error by the emulator, as the service would.
        let violations = record["violations"] as? [String] ?? []
        let fatal = violations.filter { !$0.hasPrefix("recorded only") }
        if let first = fatal.first {
            throw BenchmarkError("\(fatal.count) protocol violation(s), first: \(first)")
        }
        var checked = result
        checked["tolerated_violations"] = violations
        return checked
    }
}
