// `stt-benchmark emulator`: the transcription emulator of both vendors over TLS, in its own
// process, for the CPU benchmark's clients (Swift and Python alike).

import Foundation
import StreamingSTT
import StreamingSTTTesting

/// The API key the benchmark emulator accepts. Not a secret: it only opens the local emulator.
let benchmarkAPIKey = "bench-key"

/// Runs `TranscriptionEmulator` on 127.0.0.1 over TLS, accepting ``benchmarkAPIKey``, with the
/// script of the first `--seconds` (default 600) of ``BenchmarkRecording``. AssemblyAI's
/// real-time check is off unless `--real-time` is given; `--stamp` turns on
/// `stampsTranscripts` (each transcript message carries its `CLOCK_MONOTONIC` send time). Its
/// open-file limit is raised to the hard limit, for thousands of sessions. Prints
/// `PORT <port> CA <path>`, then reads commands from standard input until it closes or says
/// `quit`:
///
/// - `sessions`: waits (at most 10 s) until every session so far has ended, then prints one JSON
///   line: an array with the sessions not reported before (vendor, audio bytes received,
///   violations, close code, whether the client closed, finals sent).
func runEmulatorMode(_ arguments: some Sequence<String>) throws {
    let options = try Options(arguments, valued: ["seconds"], flags: ["real-time", "stamp"])
    let seconds = try options.integer("seconds", default: 600)
    raiseOpenFileLimit()
    let authority = try TestCertificateAuthority.generate(names: ["localhost", "127.0.0.1"])
    defer { authority.remove() }
    let emulator = try TranscriptionEmulator(
        configuration: .init(
            tls: authority, apiKeys: [benchmarkAPIKey], script: BenchmarkRecording.script(seconds: Double(seconds)),
            assemblyAI: .init(enforceRealTime: options.flag("real-time")), maxRecordedAudioBytes: 0,
            maxRecordedMessages: 1000, stampsTranscripts: options.flag("stamp")))
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
