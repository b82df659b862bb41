// `stt-benchmark emulator`: the transcription emulator of both vendors over TLS, in its own
// process, for the clients of `cpu` (Swift and Python alike) and of `live`.

import ArgumentParser
import Foundation
import StreamingSTT
import StreamingSTTTesting

/// The API key the benchmark emulator accepts. Not a secret: it only opens the local emulator.
let benchmarkAPIKey = "bench-key"

/// `stt-benchmark emulator`: `TranscriptionEmulator` on 127.0.0.1 over TLS, accepting
/// ``benchmarkAPIKey``, with the script of the first `--seconds` of ``BenchmarkRecording``.
/// AssemblyAI's real-time check is off unless `--real-time` is given; `--stamp` turns on
/// `stampsTranscripts` (each transcript message carries its `CLOCK_MONOTONIC` send time). Its
/// open-file limit is raised to the hard limit, for thousands of sessions. Prints
/// `PORT <port> CA <path>`, then reads commands from standard input until it closes or says
/// `quit`:
///
/// - `sessions`: waits (at most 10 s) until every session so far has ended, then prints one JSON
///   line: an array with the sessions not reported before (vendor, audio bytes received,
///   violations, close code, whether the client closed, finals sent).
struct EmulatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emulator",
        abstract: "The transcription emulator of both vendors over TLS, alone (run by cpu and live).",
        discussion: """
            Prints PORT <port> CA <path>, then reads commands from standard input until it closes \
            or says quit. The line "sessions" is answered with one JSON line: the sessions that \
            ended since the last such answer.
            """
    )

    @Option(help: "Seconds of the benchmark recording the emulator's script covers.")
    var seconds: Int = 600

    @Flag(help: "Enforce AssemblyAI's real-time pacing check.")
    var realTime = false

    @Flag(help: "Stamp each transcript message with its CLOCK_MONOTONIC send time (emulator_sent_at_ns).")
    var stamp = false

    func validate() throws { try requirePositive(["--seconds": seconds]) }

    func run() throws {
        raiseOpenFileLimit()
        let authority = try TestCertificateAuthority.generate(names: ["localhost", "127.0.0.1"])
        defer { authority.remove() }
        let emulator = try TranscriptionEmulator(
            configuration: .init(
                tls: authority, apiKeys: [benchmarkAPIKey],
                script: BenchmarkRecording.script(seconds: Double(seconds)),
                assemblyAI: .init(enforceRealTime: realTime), maxRecordedAudioBytes: 0,
                maxRecordedMessages: 1000, stampsTranscripts: stamp))
        defer { emulator.shutdown() }
        FileHandle.standardOutput.write(Data("PORT \(emulator.port) CA \(authority.caCertificatePath)\n".utf8))
        var reported = 0
        while let line = readLine(strippingNewline: true), line != "quit" {
            guard line == "sessions" else { continue }
            let records = try runBlocking { await settledSessions(of: emulator) }
            let fresh = records.dropFirst(reported).map(summary)
            reported = records.count
            let json = try JSONSerialization.data(withJSONObject: Array(fresh), options: [.sortedKeys])
            FileHandle.standardOutput.write(json + Data("\n".utf8))
        }
    }
}

/// Every session so far, once all of them have ended or 10 s have passed.
private func settledSessions(of emulator: TranscriptionEmulator) async -> [EmulatorSessionRecord] {
    let count = emulator.sessions.count
    await withTaskGroup(of: Void.self) { group in
        group.addTask { _ = await emulator.waitForSessions(count: count) }
        group.addTask { try? await Task.sleep(for: .seconds(10)) }
        await group.next()
        group.cancelAll()
    }
    return emulator.sessions
}

/// What the CPU benchmark checks of a session.
private func summary(_ record: EmulatorSessionRecord) -> [String: Any] {
    [
        "vendor": record.vendor.rawValue,
        "audio_bytes": record.audioByteCount,
        "violations": record.violations,
        "ended": record.ended,
        "close_code": record.closeCode ?? -1,
        "closed_by_client": record.closedByClient,
        "handshake_status": record.handshakeStatus ?? 101,
        "finals": record.finalTranscripts.count,
    ]
}

/// Raises this process's soft limit on open files to its hard limit (children inherit it).
func raiseOpenFileLimit() {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
    limit.rlim_cur = limit.rlim_max
    setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}
