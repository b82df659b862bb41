// An instruction count of our AssemblyAI client (50 ms chunks) under valgrind's callgrind:
// steadier than CPU time on a shared machine, and it shows where the instructions go.

import Foundation

/// The callgrind runs of workload 1 (AssemblyAI, 50 ms chunks) on two shorter recordings, `n`
/// and `2n` seconds: the difference between the two runs is what streaming `n` more seconds
/// costs, without the process's start-up and the session's set-up (TLS among them).
enum CallgrindFigures {
    /// One function's own (exclusive) instructions for the extra `n` seconds.
    struct Function {
        var instructions: Int
        var percent: Double
        var name: String
    }

    /// What the runs gave.
    enum Outcome {
        /// The whole client process's instructions for `seconds` and `2 × seconds` of audio, and
        /// the functions whose own instructions grew the most between the two.
        case measured(seconds: Int, short: Int, long: Int, top: [Function])
        /// Why there is no figure.
        case notRun(String)
    }

    /// Runs `stt-benchmark client` for AssemblyAI at 50 ms under `valgrind --tool=callgrind`
    /// with the first `seconds` and `2 × seconds` of the recording, against the benchmark's
    /// emulator, and reads both with `callgrind_annotate`.
    ///
    /// Valgrind 3.19 cannot read the debug information of the toolchain's release build, so it
    /// runs a copy stripped of it (`strip --strip-debug`; the symbols stay).
    static func measure(context: BenchmarkContext, seconds: Int) async -> Outcome {
        let tools = ["/usr/bin/valgrind", "/usr/bin/callgrind_annotate", "/usr/bin/strip"]
        guard tools.allSatisfy({ FileManager.default.isExecutableFile(atPath: $0) }) else {
            return .notRun("valgrind or strip is not installed (apt-get install valgrind binutils)")
        }
        log("callgrind: AssemblyAI, 50 ms chunks, \(seconds) s and \(2 * seconds) s of audio (a minute or two)")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stt-callgrind-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let binary = directory + "/stt-benchmark"
            let stripped = try await runChild(
                "/usr/bin/strip", ["--strip-debug", "-o", binary, CommandLine.arguments[0]], timeLimit: .seconds(120))
            guard stripped.status == 0 else { throw BenchmarkError("strip failed: \(stripped.errorOutput)") }
            let short = try await profile(binary, seconds: seconds, context: context, directory: directory)
            let long = try await profile(binary, seconds: 2 * seconds, context: context, directory: directory)
            let extra = long.total - short.total
            var grown: [Function] = []
            for (name, instructions) in long.functions {
                let growth = instructions - (short.functions[name] ?? 0)
                grown.append(Function(instructions: growth, percent: 100 * Double(growth) / Double(extra), name: name))
            }
            grown.sort { $0.instructions > $1.instructions }
            let top = grown.prefix(12).map {
                Function(instructions: $0.instructions, percent: $0.percent, name: demangle($0.name))
            }
            return .measured(seconds: seconds, short: short.total, long: long.total, top: Array(top))
        } catch {
            return .notRun("callgrind run failed: \(error)")
        }
    }

    /// One checked run under callgrind: the program's total and each function's own instructions.
    private static func profile(
        _ binary: String, seconds: Int, context: BenchmarkContext, directory: String
    ) async throws -> (total: Int, functions: [String: Int]) {
        let audio = try await BenchmarkRecording.cachedFile(seconds: seconds)
        let output = directory + "/callgrind-\(seconds).out"
        let row = ClientRow(label: "callgrind", vendor: "assemblyai", chunkMilliseconds: 50, kind: .swift)
        let arguments =
            ["--tool=callgrind", "--callgrind-out-file=\(output)", binary, "client"]
            + context.clientArguments(row, audioPath: audio)
        let outcome = try await runChild("/usr/bin/valgrind", arguments, timeLimit: .seconds(1800))
        _ = try context.check(
            outcome, bytes: seconds * BenchmarkRecording.bytesPerSecond,
            words: BenchmarkRecording.script(seconds: Double(seconds)).words.count)
        let annotated = try await runChild(
            "/usr/bin/callgrind_annotate", ["--threshold=100", output], timeLimit: .seconds(300))
        return try parse(annotated.output)
    }

    /// Reads `callgrind_annotate`'s `PROGRAM TOTALS` and every function's own instructions.
    private static func parse(_ text: String) throws -> (total: Int, functions: [String: Int]) {
        var total: Int?
        var functions: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.trimmingCharacters(in: .whitespaces).split(separator: " ", maxSplits: 1)
            guard fields.count == 2, let count = Int(fields[0].replacingOccurrences(of: ",", with: "")) else {
                continue
            }
            var rest = fields[1].trimmingCharacters(in: .whitespaces)
            if rest.hasPrefix("("), let close = rest.firstIndex(of: ")") {
                rest = rest[rest.index(after: close)...].trimmingCharacters(in: .whitespaces)
            }
            if rest.hasPrefix("PROGRAM TOTALS") {
                total = count
            } else if total != nil {
                functions[rest, default: 0] += count
            }
        }
        guard let total else { throw BenchmarkError("no PROGRAM TOTALS in callgrind_annotate's output") }
        return (total, functions)
    }

    /// `file:symbol [object]` with the Swift symbol demangled (simplified) and the object's
    /// directory dropped.
    private static func demangle(_ entry: String) -> String {
        var symbol = entry
        var object = ""
        if let open = entry.range(of: " [", options: .backwards) {
            symbol = String(entry[..<open.lowerBound])
            object = String(entry[open.upperBound...].dropLast()).split(separator: "/").last.map(String.init) ?? ""
        }
        if let colon = symbol.range(of: ":") { symbol = String(symbol[colon.upperBound...]) }
        if symbol.hasPrefix("$s") || symbol.hasPrefix("_$s") {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["swift-demangle", "--simplified", "--compact", symbol]
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            if (try? process.run()) != nil {
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                if process.terminationStatus == 0, !text.isEmpty { symbol = text }
            }
        }
        return object.isEmpty ? symbol : "\(symbol) [\(object)]"
    }
}
