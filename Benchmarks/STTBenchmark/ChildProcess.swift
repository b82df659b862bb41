// Running a client as a child process: its output, its exit status, its whole-process CPU time,
// and a time limit.

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
