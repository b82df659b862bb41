// Child processes: a client run to its end (its output, its exit status, its whole-process CPU
// time, a time limit), and a server mode of this executable, driven through its standard input.

import Foundation

/// How a child process ended.
struct ChildOutcome {
    /// The exit status (or the signal that ended it).
    var status: Int32
    /// Whether it ran past its time limit and was killed.
    var timedOut: Bool
    /// Its standard output.
    var output: String
    /// Its standard error.
    var errorOutput: String
    /// The CPU time of the whole process, start-up included (from `RUSAGE_CHILDREN`).
    var cpu: CPUTime
}

/// Runs `executable` with `arguments` and `environment` added to this process's, waits until it
/// ends (killing it after `timeLimit`), and returns its output and CPU time.
///
/// The CPU time is the growth of `RUSAGE_CHILDREN` across the run, so no other child may end
/// meanwhile: run one at a time (the emulator child runs until the end of the benchmark).
func runChild(
    _ executable: String, _ arguments: [String], environment: [String: String] = [:], timeLimit: Duration
) async throws -> ChildOutcome {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stt-benchmark-\(UUID())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let outputURL = directory.appendingPathComponent("stdout")
    let errorURL = directory.appendingPathComponent("stderr")
    _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errorURL.path, contents: nil)
    let output = try FileHandle(forWritingTo: outputURL)
    let errors = try FileHandle(forWritingTo: errorURL)

    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = output
    process.standardError = errors

    let before = CPUTime.ofEndedChildren()
    let ended = AsyncStream<Void>.makeStream()
    process.terminationHandler = { _ in ended.continuation.finish() }
    try process.run()
    let pid = process.processIdentifier
    let watchdog = Task { () -> Bool in
        do { try await Task.sleep(for: timeLimit) } catch { return false }
        kill(pid, SIGTERM)
        do { try await Task.sleep(for: .seconds(5)) } catch { return true }
        kill(pid, SIGKILL)
        return true
    }
    for await _ in ended.stream {}
    watchdog.cancel()
    let timedOut = await watchdog.value
    try output.close()
    try errors.close()
    return ChildOutcome(
        status: process.terminationStatus, timedOut: timedOut,
        output: (try? String(contentsOf: outputURL, encoding: .utf8)) ?? "",
        errorOutput: (try? String(contentsOf: errorURL, encoding: .utf8)) ?? "",
        cpu: CPUTime.ofEndedChildren() - before)
}

/// This executable in another mode (`serve` or `emulator`), as a child process that prints
/// `PORT <port> CA <path>` and runs until its standard input closes or says `quit`.
struct ServerProcess {
    let process: Process
    let input: Pipe
    let output: Pipe
    let port: Int
    let caPath: String

    static func start(_ arguments: [String] = ["serve"]) throws -> ServerProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        process.arguments = arguments
        let output = Pipe()
        let input = Pipe()
        process.standardOutput = output
        process.standardInput = input
        try process.run()
        let parts = readLine(from: output).split(separator: " ")
        guard parts.count == 4, let port = Int(parts[1]) else { throw BenchmarkError("server did not start") }
        return ServerProcess(process: process, input: input, output: output, port: port, caPath: String(parts[3]))
    }

    /// Sends `command` on the child's standard input and returns the line it answers.
    func ask(_ command: String) throws -> String {
        try input.fileHandleForWriting.write(contentsOf: Data((command + "\n").utf8))
        return Self.readLine(from: output)
    }

    private static func readLine(from output: Pipe) -> String {
        var line = Data()
        while true {
            let byte = output.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data("\n".utf8) { break }
            line += byte
        }
        return String(decoding: line, as: UTF8.self)
    }

    func stop() {
        try? input.fileHandleForWriting.write(contentsOf: Data("quit\n".utf8))
        process.waitUntilExit()
    }
}
