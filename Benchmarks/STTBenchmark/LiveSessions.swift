// Concurrent real-time sessions and added latency (workloads 3 and 4 of Docs/Performance.md):
// many paced `StreamingTranscriber` sessions in one client process, against emulators in their
// own processes.
//
//   stt-benchmark sessions                  # N = 100, 500, 1000, 2000; 60 s each
//   stt-benchmark sessions --sessions 100 --seconds 10 --json
//   stt-benchmark latency                   # 1 session for 300 s, 500 for 60 s
//   stt-benchmark live --sessions N …       # one run (run by the two above)
//
// Each run is a child process (`live`), so its peak memory is its own; it starts the emulator
// processes itself, and they are its children.

import ArgumentParser
import Foundation
import StreamingSTT
import StreamingSTTTesting
import StreamingSTTWebSocket
import Synchronization

// MARK: - The modes

/// `stt-benchmark sessions`: one `live` run per `--sessions` count, `--seconds` of audio each,
/// over `--emulators` emulator processes, AssemblyAI `--model`, through `StreamingTranscriber` (a
/// bare `WebSocketConnection` with `--transport-only`), against the emulator (or
/// `--minimal-server`: see ``LiveCommand``); prints the table (or `--json`).
struct SessionsCommand: AsynchronousMode {
    static let configuration = CommandConfiguration(
        commandName: "sessions",
        abstract: "Concurrent real-time sessions in one client process: one live run per session count.",
        discussion: """
            Each count is a separate stt-benchmark live process against its own emulator \
            processes. The table gives chunk-send lateness, client and server CPU, client memory, \
            failures and finals.
            """
    )

    @Option(help: ArgumentHelp("Session counts, one run each.", valueName: "n,n,…"))
    var sessions = IntegerList([100, 500, 1000, 2000])

    @Option(
        help: ArgumentHelp("Audio seconds per session: one per count, or the last for the rest.", valueName: "s,s,…"))
    var seconds = IntegerList([60])

    @Option(help: "Emulator (or server) processes (default: one per 500 sessions).")
    var emulators: Int?

    @Option(help: "Seconds over which the sessions' starts are spread.")
    var rampSeconds: Int = 10

    @Option(help: "The AssemblyAI speech model.")
    var model = "u3-rt-pro"

    @Option(help: "Where the sessions' tasks run: pool (Swift's global pool) or loop (the event loop's thread).")
    var executor: ExecutorChoice = .pool

    @Flag(help: "Print JSON instead of Markdown.")
    var json = false

    @Flag(help: "A bare WebSocketConnection speaking the same protocol instead of StreamingTranscriber.")
    var transportOnly = false

    @Flag(help: "Minimal servers (stt-benchmark serve: Begin and Termination only) instead of the emulator.")
    var minimalServer = false

    func validate() throws { try requirePositive(["--emulators": emulators, "--ramp-seconds": rampSeconds]) }

    func run() async throws {
        var results: [[String: Any]] = []
        for (index, count) in sessions.values.enumerated() {
            results.append(
                try await runLiveChild(
                    sessions: count, seconds: seconds.value(at: index),
                    emulators: emulators ?? defaultEmulatorCount(sessions: count), rampSeconds: rampSeconds,
                    model: model, transportOnly: transportOnly, minimalServer: minimalServer, executor: executor))
        }
        if json {
            try printJSON(["workload": "concurrent real-time sessions", "runs": results])
            return
        }
        printSessionsTable(results)
    }
}

/// `stt-benchmark latency`: one `live` run per `--sessions` count, for `--seconds`, AssemblyAI
/// `--model` (by default `universal-streaming-english`, which sends a partial for every word, so
/// many samples); each count is run through `StreamingTranscriber` and then through a bare
/// `WebSocketConnection` (the transport's share), unless `--no-transport`. Prints the delivery
/// latency of every transcript (or `--json`).
struct LatencyCommand: AsynchronousMode {
    static let configuration = CommandConfiguration(
        commandName: "latency",
        abstract: "Transcript delivery latency: the emulator's send time to the consumer's event.",
        discussion: """
            Each count is a separate stt-benchmark live process against emulators that stamp \
            every transcript with its CLOCK_MONOTONIC send time.
            """
    )

    @Option(help: ArgumentHelp("Session counts, one run each.", valueName: "n,n,…"))
    var sessions = IntegerList([1, 500])

    @Option(
        help: ArgumentHelp("Audio seconds per session: one per count, or the last for the rest.", valueName: "s,s,…"))
    var seconds = IntegerList([300, 60])

    @Option(help: "Emulator processes (default: one per 500 sessions).")
    var emulators: Int?

    @Option(help: "Seconds over which the sessions' starts are spread.")
    var rampSeconds: Int = 10

    @Option(help: "The AssemblyAI speech model.")
    var model = "universal-streaming-english"

    @Flag(help: "Print JSON instead of Markdown.")
    var json = false

    @Flag(help: "Leave out the runs through a bare WebSocketConnection.")
    var noTransport = false

    func validate() throws { try requirePositive(["--emulators": emulators, "--ramp-seconds": rampSeconds]) }

    func run() async throws {
        var results: [[String: Any]] = []
        for (index, count) in sessions.values.enumerated() {
            for transportOnly in noTransport ? [false] : [false, true] {
                results.append(
                    try await runLiveChild(
                        sessions: count, seconds: seconds.value(at: index),
                        emulators: emulators ?? defaultEmulatorCount(sessions: count), rampSeconds: rampSeconds,
                        model: model, transportOnly: transportOnly, minimalServer: false, executor: .pool))
            }
        }
        if json {
            try printJSON(["workload": "added latency", "runs": results])
            return
        }
        printLatencyTable(results)
    }
}

/// One emulator process per 500 sessions.
private func defaultEmulatorCount(sessions: Int) -> Int {
    max(1, (sessions + 499) / 500)
}

private func printJSON(_ object: Any) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
    FileHandle.standardOutput.write(data + Data("\n".utf8))
}

/// Runs `stt-benchmark live` as a child process and returns its JSON result.
private func runLiveChild(
    sessions: Int, seconds: Int, emulators: Int, rampSeconds: Int, model: String, transportOnly: Bool,
    minimalServer: Bool, executor: ExecutorChoice
) async throws -> [String: Any] {
    FileHandle.standardError.write(
        Data(
            ("live: \(sessions) sessions, \(seconds) s, \(emulators) emulator process(es), \(model)"
                + (transportOnly ? ", transport only" : "") + (minimalServer ? ", minimal server" : "") + "…\n").utf8))
    let outcome = try await runChild(
        CommandLine.arguments[0],
        [
            "live", "--sessions", "\(sessions)", "--seconds", "\(seconds)", "--emulators", "\(emulators)",
            "--ramp-seconds", "\(rampSeconds)", "--model", model, "--executor", executor.rawValue,
        ] + (transportOnly ? ["--transport-only"] : []) + (minimalServer ? ["--minimal-server"] : []),
        timeLimit: .seconds(seconds + rampSeconds + 300))
    guard let line = outcome.output.split(separator: "\n").last,
        let result = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
    else {
        throw BenchmarkError(
            "live run of \(sessions) sessions ended with status \(outcome.status)"
                + (outcome.timedOut ? " (timed out)" : "") + ": \(outcome.errorOutput.suffix(2000))")
    }
    return result
}

// MARK: - One run

/// The emulators of one run: `stt-benchmark emulator --real-time --stamp` processes.
private struct EmulatorGroup {
    let processes: [ServerProcess]

    /// `true`: `stt-benchmark serve` processes, whose `/v3/ws` is a minimal AssemblyAI (`Begin`,
    /// audio dropped, `Termination`), with no transcripts, checks or records.
    let minimal: Bool

    init(count: Int, scriptSeconds: Int, minimal: Bool) throws {
        self.minimal = minimal
        processes = try (0..<count).map { _ in
            try ServerProcess.start(
                minimal ? ["serve"] : ["emulator", "--seconds", "\(scriptSeconds)", "--real-time", "--stamp"])
        }
    }

    /// The AssemblyAI URL and CA file of the emulator for session `index` (round robin).
    func endpoint(forSession index: Int) -> (url: String, ca: String) {
        let process = processes[index % processes.count]
        return ("wss://127.0.0.1:\(process.port)/v3/ws", process.caPath)
    }

    /// The user + system CPU seconds of every emulator process so far (`/proc/<pid>/stat`).
    var cpuSeconds: Double {
        processes.map { processCPUSeconds($0.process.processIdentifier) }.reduce(0, +)
    }

    /// Every session each emulator saw, once they have ended (each waits at most 10 s).
    func sessions() throws -> [[String: Any]] {
        if minimal { return [] }
        return try processes.flatMap { process -> [[String: Any]] in
            let line = try process.ask("sessions")
            return (try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [[String: Any]]) ?? []
        }
    }

    func stop() {
        for process in processes { process.stop() }
    }
}

/// The user + system CPU seconds of process `pid` so far, from `/proc/<pid>/stat`.
private func processCPUSeconds(_ pid: Int32) -> Double {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return 0 }
    // Fields after the command name: state is field 3, utime 14, stime 15.
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// The figures of the window in which every session of a run is streaming.
private struct SteadyWindow: Sendable {
    var wallSeconds: Double
    var cpuPercent: Double
    var emulatorCPUPercent: Double
    var residentMiB: Double
    var activeFrom: Int
    var activeTo: Int

    var json: [String: Any] {
        [
            "wall_seconds": wallSeconds, "cpu_percent": cpuPercent, "emulator_cpu_percent": emulatorCPUPercent,
            "rss_mib": residentMiB, "active_sessions_from": activeFrom, "active_sessions_to": activeTo,
        ]
    }
}

/// What the sessions of one run add up to, shared by their tasks.
private final class LiveTally: Sendable {
    /// Send-call time minus scheduled time, for every chunk.
    let lateness = SharedHistogram()
    /// Emulator send time to event delivery, for every stamped transcript.
    let latency = SharedHistogram()
    private let state = Mutex(
        (active: 0, started: 0, completed: 0, finals: 0, unstamped: 0, failures: [String: Int]()))

    func started() { state.withLock { $0.active += 1 } }

    func ended(finals: Int, unstamped: Int, began: Bool, failure: String?) {
        state.withLock { state in
            state.active -= began ? 1 : 0
            state.started += began ? 1 : 0
            state.finals += finals
            state.unstamped += unstamped
            if let failure { state.failures[failure, default: 0] += 1 } else { state.completed += 1 }
        }
    }

    var active: Int { state.withLock { $0.active } }
    var counts: (started: Int, completed: Int, finals: Int, unstamped: Int, failures: [String: Int]) {
        state.withLock { ($0.started, $0.completed, $0.finals, $0.unstamped, $0.failures) }
    }
}

/// `stt-benchmark live`: one run of `--sessions` concurrent real-time AssemblyAI sessions
/// (`--model`) in this process, spread round robin over `--emulators` emulator processes
/// (real-time check on, transcripts stamped with their send time). Session `i` starts
/// `i × --ramp-seconds / N` after the run begins; once `start()` has returned it sends one 50 ms
/// chunk (1 600 bytes of the benchmark recording) every 50 ms for `--seconds`, each scheduled at
/// its own start + k × 50 ms (a sleep until then, never a fixed delay after the previous send),
/// then `stop()`. Prints one JSON line.
///
/// `--transport-only` replaces `StreamingTranscriber` with a bare `WebSocketConnection` speaking
/// the same protocol (see ``transportSession(endpoint:model:chunks:tally:executor:)``): the
/// transport's share of the figures. `--minimal-server` replaces the emulators with
/// `stt-benchmark serve` processes, whose `/v3/ws` only says `Begin` and `Termination`: a server
/// that needs little of the machine's CPU, to see what the client can drive when the server is
/// not the limit. `--executor loop` runs every session's tasks on the event loop's thread.
struct LiveCommand: AsynchronousMode {
    static let configuration = CommandConfiguration(
        commandName: "live",
        abstract: "One run of concurrent real-time sessions (run by sessions and latency); prints one JSON line.",
        discussion: """
            Starts its emulator (or server) processes itself, as its children.
            """
    )

    @Option(help: "Concurrent sessions.")
    var sessions: Int = 100

    @Option(help: "Audio seconds per session.")
    var seconds: Int = 60

    @Option(help: "Emulator (or server) processes.")
    var emulators: Int = 1

    @Option(help: "Seconds over which the sessions' starts are spread.")
    var rampSeconds: Int = 10

    @Option(help: "The AssemblyAI speech model.")
    var model = "u3-rt-pro"

    @Option(help: "Where the sessions' tasks run: pool (Swift's global pool) or loop (the event loop's thread).")
    var executor: ExecutorChoice = .pool

    @Flag(help: "A bare WebSocketConnection speaking the same protocol instead of StreamingTranscriber.")
    var transportOnly = false

    @Flag(help: "Minimal servers (stt-benchmark serve: Begin and Termination only) instead of the emulator.")
    var minimalServer = false

    func validate() throws {
        try requirePositive([
            "--sessions": sessions, "--seconds": seconds, "--emulators": emulators, "--ramp-seconds": rampSeconds,
        ])
    }

    func run() async throws {
        try await runLive(self)
    }
}

/// Runs ``LiveCommand``.
private func runLive(_ options: LiveCommand) async throws {
    let minimal = options.minimalServer
    let executor = options.executor.executor
    let transportOnly = options.transportOnly
    let sessionCount = options.sessions
    let audioSeconds = options.seconds
    let emulatorCount = options.emulators
    let rampSeconds = options.rampSeconds
    let model = AssemblyAI.SpeechModel(rawValue: options.model)
    raiseOpenFileLimit()

    let recording = try readAll(try await BenchmarkRecording.cachedFile(seconds: audioSeconds))
    let chunkBytes = BenchmarkRecording.bytesPerSecond / 20
    let chunks = stride(from: 0, to: recording.count, by: chunkBytes).map {
        Array(recording[$0..<min($0 + chunkBytes, recording.count)])
    }
    let emulators = try EmulatorGroup(count: emulatorCount, scriptSeconds: audioSeconds + 5, minimal: minimal)
    defer { emulators.stop() }
    let tally = LiveTally()
    let clock = ContinuousClock()

    let cpuBefore = CPUTime.ofThisProcess()
    let emulatorCPUBefore = emulators.cpuSeconds
    let residentBefore = residentBytes()
    let began = clock.now
    // The steady window: every session started (the ramp plus 2 s) until the first could end.
    let steadyFrom = began + .seconds(rampSeconds + 2)
    let steadyTo = began + .seconds(max(rampSeconds + 2, audioSeconds - 2))
    let emulatorPIDs = emulators.processes.map(\.process.processIdentifier)
    let sampler = Task { () -> SteadyWindow? in
        try await Task.sleep(until: steadyFrom, clock: clock)
        let cpu = CPUTime.ofThisProcess()
        let emulatorCPU = emulatorPIDs.map(processCPUSeconds).reduce(0, +)
        let activeFrom = tally.active
        try await Task.sleep(until: steadyTo, clock: clock)
        let wall = seconds(clock.now - steadyFrom)
        guard wall >= 5 else { return nil }
        return SteadyWindow(
            wallSeconds: wall, cpuPercent: (CPUTime.ofThisProcess() - cpu).total / wall * 100,
            emulatorCPUPercent: (emulatorPIDs.map(processCPUSeconds).reduce(0, +) - emulatorCPU) / wall * 100,
            residentMiB: Double(residentBytes()) / 1_048_576, activeFrom: activeFrom, activeTo: tally.active)
    }
    await withTaskGroup(of: Void.self) { group in
        for index in 0..<sessionCount {
            let endpoint = emulators.endpoint(forSession: index)
            let startAt = began + .milliseconds(index * rampSeconds * 1000 / sessionCount)
            group.addTask(executorPreference: executor) {
                try? await Task.sleep(until: startAt, clock: clock)
                if transportOnly {
                    await transportSession(
                        endpoint: endpoint, model: model, chunks: chunks, tally: tally, executor: executor)
                } else {
                    await liveSession(
                        endpoint: endpoint, model: model, chunks: chunks, tally: tally, executor: executor)
                }
            }
        }
    }
    let wall = seconds(clock.now - began)
    let cpu = CPUTime.ofThisProcess() - cpuBefore
    let emulatorCPU = emulators.cpuSeconds - emulatorCPUBefore
    let steady = (try? await sampler.value)??.json ?? [:]
    let records = try emulators.sessions()
    let counts = tally.counts
    let violations = records.flatMap { $0["violations"] as? [String] ?? [] }
    // Every transcriber has ended and been released: what is still resident, then what is left
    // once glibc has given its free heap pages back (what the sessions really kept).
    let endResident = residentBytes()
    trimHeap()
    let trimmedResident = residentBytes()
    let result: [String: Any] = [
        "sessions": sessionCount, "seconds": audioSeconds, "emulators": emulatorCount, "ramp_seconds": rampSeconds,
        "model": model.rawValue, "client": transportOnly ? "WebSocketConnection" : "StreamingTranscriber",
        "executor": executor == nil ? "pool" : "loop",
        "server": minimal ? "minimal" : "emulator",
        "chunk_ms": 50, "chunk_bytes": chunkBytes,
        "lateness": tally.lateness.snapshot.summary, "latency": tally.latency.snapshot.summary,
        "wall_seconds": wall, "cpu_seconds": cpu.total, "user_seconds": cpu.user, "system_seconds": cpu.system,
        "cpu_percent": cpu.total / wall * 100, "emulator_cpu_percent": emulatorCPU / wall * 100,
        "steady": steady, "rss_before_mib": Double(residentBefore) / 1_048_576,
        "peak_rss_mib": Double(peakResidentKiB()) / 1024, "end_rss_mib": Double(endResident) / 1_048_576,
        "end_rss_trimmed_mib": Double(trimmedResident) / 1_048_576,
        "open_connections_at_end": WebSocketEventLoop.shared.connectionCount,
        "started": counts.started, "completed": counts.completed,
        "failed": counts.failures.values.reduce(0, +), "failures": counts.failures,
        "finals_delivered": counts.finals, "finals_sent": records.map { $0["finals"] as? Int ?? 0 }.reduce(0, +),
        "transcripts_unstamped": counts.unstamped, "emulator_sessions": records.count,
        "emulator_violations": violations.count, "emulator_violation_examples": Array(violations.prefix(5)),
        "load_average": loadAverage(),
    ]
    let json = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
    FileHandle.standardOutput.write(json + Data("\n".utf8))
}

/// One session: start, a chunk every 50 ms against its own schedule, stop; its transcripts'
/// delivery latency and its chunks' lateness go to `tally`.
private func liveSession(
    endpoint: (url: String, ca: String), model: AssemblyAI.SpeechModel, chunks: [[UInt8]], tally: LiveTally,
    executor: (any TaskExecutor)?
) async {
    let transcriber = StreamingTranscriber(
        provider: .assemblyAI(
            AssemblyAI(
                credentials: .apiKey(Secret(benchmarkAPIKey)), speechModel: model, endpoint: .custom(endpoint.url))),
        configuration: .init(tls: TLSConfiguration(additionalTrustRoots: [.file(endpoint.ca)])))
    let reader = Task(executorPreference: executor) { () -> (finals: Int, unstamped: Int) in
        var counts = (finals: 0, unstamped: 0)
        for await event in transcriber.events {
            let received = monotonicNanoseconds()
            switch event {
            case .partial(let transcript), .final(let transcript):
                if case .final = event { counts.finals += 1 }
                // `received` was read before the message is decoded for its stamp.
                if let stamp = sendStamp(of: transcript), received >= stamp {
                    tally.latency.record(received - stamp)
                } else {
                    counts.unstamped += 1
                }
            default:
                break
            }
        }
        return counts
    }
    var failure: String?
    var began = false
    do {
        try await transcriber.start()
        began = true
        tally.started()
        failure = await sendPaced(chunks, tally: tally) { chunk in
            do throws(TranscriptionError) {
                try await transcriber.send(audio: chunk)
                return nil
            } catch {
                return "send: \(error.code)"
            }
        }
        if failure == nil {
            do { _ = try await transcriber.stop() } catch { failure = "stop: \(error.code)" }
        }
    } catch {
        failure = "start: \(error.code)"
    }
    if failure != nil { await transcriber.cancel() }
    let counts = await reader.value
    tally.ended(finals: counts.finals, unstamped: counts.unstamped, began: began, failure: failure)
}

/// One session of the AssemblyAI protocol on a bare `WebSocketConnection`, for comparison: the
/// same handshake query and key, audio sent once `Begin` has arrived, the same schedule, then
/// `Terminate` and the messages read until the emulator closes. A transcript's latency is taken
/// when its message is read, before any parsing (the stamp is then found by a substring search).
private func transportSession(
    endpoint: (url: String, ca: String), model: AssemblyAI.SpeechModel, chunks: [[UInt8]], tally: LiveTally,
    executor: (any TaskExecutor)?
) async {
    var configuration = WebSocketConfiguration()
    configuration.additionalHeaders = [("Authorization", benchmarkAPIKey)]
    configuration.tls.additionalTrustRoots = [.file(endpoint.ca)]
    let url = endpoint.url + "?speech_model=\(model.rawValue)&sample_rate=16000&encoding=pcm_s16le"
    let connection: WebSocketConnection
    do {
        connection = try await WebSocketConnection.connect(to: url, configuration: configuration)
    } catch {
        tally.ended(finals: 0, unstamped: 0, began: false, failure: "connect: \(error.code)")
        return
    }
    let begun = AsyncStream<Void>.makeStream()
    let reader = Task(executorPreference: executor) { () -> (finals: Int, unstamped: Int, failure: String?) in
        var counts = (finals: 0, unstamped: 0, failure: String?.none)
        do {
            for try await message in connection.messages {
                let received = monotonicNanoseconds()
                guard case .text(let text) = message else { continue }
                begun.continuation.finish()
                guard text.contains("\"type\":\"Turn\"") else { continue }
                if text.contains("\"end_of_turn\":true") { counts.finals += 1 }
                if let stamp = sendStamp(in: text), received >= stamp {
                    tally.latency.record(received - stamp)
                } else {
                    counts.unstamped += 1
                }
            }
        } catch {
            counts.failure = "read: \((error as? WebSocketError)?.code.description ?? "\(error)")"
        }
        begun.continuation.finish()
        return counts
    }
    for await _ in begun.stream {}
    tally.started()
    var failure = await sendPaced(chunks, tally: tally) { chunk in
        do throws(WebSocketError) {
            try await connection.send(binary: chunk)
            return nil
        } catch {
            return "send: \(error.code)"
        }
    }
    if failure == nil {
        do { try await connection.send(text: #"{"type":"Terminate"}"#) } catch { failure = "send: \(error.code)" }
    }
    let counts = await reader.value
    _ = await connection.close()
    tally.ended(finals: counts.finals, unstamped: counts.unstamped, began: true, failure: failure ?? counts.failure)
}

/// Sends one chunk every 50 ms, each against its own due time from the first, recording how late
/// each send call started; stops at the first failure `send` reports, and returns it.
private func sendPaced(
    _ chunks: [[UInt8]], tally: LiveTally, send: ([UInt8]) async -> String?
) async -> String? {
    let clock = ContinuousClock()
    let start = clock.now
    for (index, chunk) in chunks.enumerated() {
        let due = start + .milliseconds(50 * index)
        try? await Task.sleep(until: due, clock: clock)
        let now = clock.now
        tally.lateness.record(now > due ? UInt64(seconds(now - due) * 1e9) : 0)
        if let failure = await send(chunk) { return failure }
    }
    return nil
}

/// The emulator's send time in a transcript's message (`"emulator_sent_at_ns":"…"`), if stamped.
private func sendStamp(of transcript: Transcript) -> UInt64? {
    guard let stamped = try? transcript.raw?.decode(StampedMessage.self) else { return nil }
    return UInt64(stamped.sentAt)
}

/// The stamp the emulator adds to each transcript message with `--stamp`: `CLOCK_MONOTONIC` in
/// nanoseconds, as a decimal string.
private struct StampedMessage: Decodable {
    var sentAt: String

    enum CodingKeys: String, CodingKey {
        case sentAt = "emulator_sent_at_ns"
    }
}

/// The value of `"emulator_sent_at_ns":"…"` in a message's text.
private func sendStamp(in text: String) -> UInt64? {
    guard let key = text.range(of: "\"emulator_sent_at_ns\":\"") else { return nil }
    return UInt64(text[key.upperBound...].prefix { $0 != "\"" })
}

/// glibc's `malloc_trim(0)`: gives the heap's free pages back to the system. Looked up at run
/// time, since the Glibc module does not export `malloc.h`.
private func trimHeap() {
    typealias Trim = @convention(c) (Int) -> Int32
    // RTLD_DEFAULT is a null handle on glibc.
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return }
    _ = unsafeBitCast(symbol, to: Trim.self)(0)
}

/// The whole file at `path`.
private func readAll(_ path: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else { throw BenchmarkError("cannot read \(path)") }
    return [UInt8](data)
}

// MARK: - Tables

private func number(_ value: Any?, _ format: String = "%.1f") -> String {
    guard let value = value as? Double ?? (value as? Int).map(Double.init) else { return "?" }
    return String(format: format, value)
}

private func printSessionsTable(_ results: [[String: Any]]) {
    print("## Concurrent real-time sessions (AssemblyAI over wss, 50 ms chunks every 50 ms)\n")
    print(
        "| client | sessions | server processes | audio s per session | chunk-send lateness p50 / p99 / max, ms "
            + "| client CPU %, whole run (steady) | servers' CPU %, whole run (steady) "
            + "| client RSS MiB: peak / streaming / end (after malloc_trim) | sessions failed | finals delivered / sent |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    var best: Int?
    for result in results {
        let lateness = result["lateness"] as? [String: Any] ?? [:]
        let steady = result["steady"] as? [String: Any] ?? [:]
        let failed = result["failed"] as? Int ?? -1
        let failures = (result["failures"] as? [String: Int] ?? [:]).sorted { $0.key < $1.key }
            .map { "\($0.key) × \($0.value)" }.joined(separator: ", ")
        print(
            "| \(result["client"] ?? "?")\(result["server"] as? String == "minimal" ? ", minimal server" : "") "
                + "| \(result["sessions"] ?? "?") | \(result["emulators"] ?? "?") "
                + "| \(result["seconds"] ?? "?") "
                + "| \(number(lateness["p50_ms"], "%.2f")) / \(number(lateness["p99_ms"], "%.2f")) / "
                + "\(number(lateness["max_ms"], "%.1f")) "
                + "| \(number(result["cpu_percent"])) (\(number(steady["cpu_percent"]))) "
                + "| \(number(result["emulator_cpu_percent"])) (\(number(steady["emulator_cpu_percent"]))) "
                + "| \(number(result["peak_rss_mib"])) / \(number(steady["rss_mib"])) / \(number(result["end_rss_mib"])) (\(number(result["end_rss_trimmed_mib"]))) "
                + "| \(failed)\(failures.isEmpty ? "" : " (\(failures))") "
                + "| \(result["finals_delivered"] ?? "?") / \(result["finals_sent"] ?? "?") |")
        if failed == 0, result["client"] as? String == "StreamingTranscriber",
            result["server"] as? String == "emulator",
            let p99 = lateness["p99_ms"] as? Double,
            p99 < 20, let count = result["sessions"] as? Int
        {
            best = max(best ?? 0, count)
        }
    }
    print(
        "\nLargest N with chunk-send lateness p99 < 20 ms and no failed session (StreamingTranscriber): "
            + (best.map { "\($0)" } ?? "none of those run") + ".")
}

private func printLatencyTable(_ results: [[String: Any]]) {
    print("## Added latency: emulator writes a transcript → the consumer has the TranscriptEvent\n")
    print(
        "| client | sessions | audio s per session | model | transcripts measured | p50 ms | p99 ms | p99.9 ms "
            + "| max ms | client CPU % (steady) | sessions failed |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for result in results {
        let latency = result["latency"] as? [String: Any] ?? [:]
        let steady = result["steady"] as? [String: Any] ?? [:]
        print(
            "| \(result["client"] ?? "?") | \(result["sessions"] ?? "?") | \(result["seconds"] ?? "?") "
                + "| \(result["model"] ?? "?") "
                + "| \(latency["count"] ?? "?") | \(number(latency["p50_ms"], "%.3f")) "
                + "| \(number(latency["p99_ms"], "%.3f")) | \(number(latency["p999_ms"], "%.3f")) "
                + "| \(number(latency["max_ms"], "%.2f")) | \(number(steady["cpu_percent"])) "
                + "| \(result["failed"] ?? "?") |")
    }
}
