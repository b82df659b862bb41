// `stt-benchmark soak`: many concurrent sessions with reconnection on, for a long time, against the
// emulator (in its own process) injecting random faults. Not run in CI.
//
//   stt-benchmark soak --sessions 200 --minutes 30
//
// It prints sessions completed, reconnections, finals delivered against finals the emulator sent
// (they must be equal), errors by kind, and the client's resident memory every minute (it must
// stay flat). It exits 1 when a final went missing.

import ArgumentParser
import Foundation
import StreamingSTT
import StreamingSTTTesting

// MARK: - The emulator side

/// The fault the soak emulator injects into session `index`: the same for the same index in every
/// run (a fixed hash of the index), a fault in about 45 % of the sessions.
func soakFaults(forSession index: Int) -> [EmulatorFault] {
    var state = UInt64(truncatingIfNeeded: index) &+ 0x9E37_79B9_7F4A_7C15
    func next() -> UInt64 {
        state = (state ^ (state >> 30)) &* 0xBF58_476D_1CE4_E5B9
        state = (state ^ (state >> 27)) &* 0x94D0_49BB_1331_11EB
        return state ^ (state >> 31)
    }
    let roll = Int(next() % 100)
    let after = 20 + Int(next() % 400)  // 1 to 21 s into the session (50 ms chunks)
    switch roll {
    case 0..<55: return []
    case 55..<65: return [.dropConnection(afterAudioChunks: after)]
    case 65..<73: return [.vendorError(afterAudioChunks: after)]
    case 73..<78: return [.close(code: 1011, reason: "internal_error", afterAudioChunks: after)]
    case 78..<83: return [.rejectHandshake(status: 503)]
    case 83..<88: return [.delayReplies(.milliseconds(20))]  // delays add up: keep under the message rate
    case 88..<93: return [.sendMalformedJSON(afterAudioChunks: after)]
    case 93..<96: return [.sendUnknownMessage(afterAudioChunks: after)]
    default: return [.rejectHandshake(status: 429)]
    }
}

/// `stt-benchmark soak-emulator`: the emulator with ``soakFaults(forSession:)``, over TLS. Prints
/// `PORT <port> CA <path>`; on `totals` prints one JSON line (sessions, finals sent, faults by
/// kind, protocol violations), after waiting (at most 20 s) for every session to end.
struct SoakEmulatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak-emulator",
        abstract: "The soak's emulator, injecting random faults (run by soak).",
        discussion: """
            Prints PORT <port> CA <path>, then reads commands from standard input until it closes \
            or says quit. The line "totals" is answered with one JSON line: sessions, finals \
            sent, faults injected and protocol violations.
            """
    )

    func run() throws { try runSoakEmulator() }
}

/// Runs ``SoakEmulatorCommand``.
private func runSoakEmulator() throws {
    let authority = try TestCertificateAuthority.generate(names: ["localhost", "127.0.0.1"])
    defer { authority.remove() }
    let emulator = try TranscriptionEmulator(
        configuration: .init(
            tls: authority, apiKeys: [benchmarkAPIKey], script: BenchmarkRecording.script(seconds: 120),
            assemblyAI: .init(enforceRealTime: true), speechmatics: .init(closeGrace: .milliseconds(200)),
            // Thousands of sessions are kept: record little of each (the finals fit in 1 500).
            maxRecordedAudioBytes: 0, maxRecordedMessages: 1500, faults: { soakFaults(forSession: $0.index) }))
    defer { emulator.shutdown() }
    FileHandle.standardOutput.write(Data("PORT \(emulator.port) CA \(authority.caCertificatePath)\n".utf8))
    while let line = readLine(strippingNewline: true), line != "quit" {
        guard line == "totals" else { continue }
        let records = try runBlocking { () async -> [EmulatorSessionRecord] in
            let count = emulator.sessions.count
            await withTaskGroup(of: Void.self) { group in
                group.addTask { _ = await emulator.waitForSessions(count: count) }
                group.addTask { try? await Task.sleep(for: .seconds(20)) }
                await group.next()
                group.cancelAll()
            }
            return emulator.sessions
        }
        var faults: [String: Int] = [:]
        for record in records {
            for fault in soakFaults(forSession: record.index) {
                faults[String(describing: fault).prefix { $0 != "(" }.description, default: 0] += 1
            }
        }
        var perSession: [String: [Any]] = [:]
        for record in records {
            guard let begin = record.messagesSent.first, let id = soakSessionID(begin) else { continue }
            let fault = soakFaults(forSession: record.index).first.map { "\($0)" } ?? "none"
            perSession[id] = [soakFinalsSent(record), fault]
        }
        let totals: [String: Any] = [
            "per_session": perSession,
            "sessions": records.count,
            "finals": records.map(soakFinalsSent).reduce(0, +),
            "faults": faults,
            "violations": Array(records.flatMap { $0.violations }.filter { !$0.contains("injected") }.prefix(20)),
            "unended": records.filter { !$0.ended }.count,
        ]
        let json = try JSONSerialization.data(withJSONObject: totals, options: [.sortedKeys])
        FileHandle.standardOutput.write(json + Data("\n".utf8))
    }
}

/// The session id in a `Begin` or `RecognitionStarted` message.
private func soakSessionID(_ message: String) -> String? {
    guard let object = try? JSONSerialization.jsonObject(with: Data(message.utf8)) as? [String: Any] else { return nil }
    return object["id"] as? String
}

/// Finals with words that a session sent (what a client must deliver): AssemblyAI end-of-turn
/// `Turn`s (u3-rt-pro sends one per turn), Speechmatics `AddTranscript`s with text.
private func soakFinalsSent(_ record: EmulatorSessionRecord) -> Int {
    record.finalTranscripts.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.count
}

// MARK: - The client side

/// What the soak's sessions add up to.
private actor SoakTally {
    var started = 0
    var completed = 0
    var failed: [String: Int] = [:]
    var startRetries = 0
    var reconnections = 0
    var rollovers = 0
    var finals = 0
    var lostAudio = 0.0
    var active = 0
    /// Finals delivered, by the id of the service session that sent them.
    var finalsBySession: [String: Int] = [:]

    func add(finalsBySession counts: [String: Int]) {
        finalsBySession.merge(counts, uniquingKeysWith: +)
    }

    func sessionStarted() {
        started += 1
        active += 1
    }
    func sessionEnded(finals: Int, reconnections: Int, rollovers: Int, lost: Double, error: String?) {
        active -= 1
        self.finals += finals
        self.reconnections += reconnections
        self.rollovers += rollovers
        lostAudio += lost
        if let error { failed[error, default: 0] += 1 } else { completed += 1 }
    }
    func startRetried(finals: Int) {
        startRetries += 1
        self.finals += finals
    }
}

/// `stt-benchmark soak`: `--sessions` concurrent workers for `--minutes`, each opening sessions of
/// `--session-seconds` of real-time audio, one after the other, with reconnection, alternating
/// the two vendors.
struct SoakCommand: AsynchronousMode {
    static let configuration = CommandConfiguration(
        commandName: "soak",
        abstract: "Many concurrent sessions with reconnection for a long time, against an emulator injecting faults.",
        discussion: """
            Prints the client's resident memory every minute, then sessions, reconnections, errors \
            and finals delivered against finals sent. Exits 1 if a final went missing.
            """
    )

    @Option(help: "Concurrent workers, each running one session after another.")
    var sessions: Int = 200

    @Option(help: "How long the soak runs.")
    var minutes: Int = 30

    @Option(help: "Audio seconds per session.")
    var sessionSeconds: Int = 60

    func validate() throws {
        try requirePositive(["--sessions": sessions, "--minutes": minutes, "--session-seconds": sessionSeconds])
    }

    func run() async throws {
        try await runSoak(workers: sessions, minutes: minutes, sessionSeconds: sessionSeconds)
    }
}

/// Runs ``SoakCommand``.
private func runSoak(workers: Int, minutes: Int, sessionSeconds: Int) async throws {
    let emulator = try ServerProcess.start(["soak-emulator"])
    defer { emulator.stop() }
    let tls = TLSConfiguration(additionalTrustRoots: [.file(emulator.caPath)])
    let base = "wss://127.0.0.1:\(emulator.port)"
    let tally = SoakTally()
    let clock = ContinuousClock()
    let began = clock.now
    let deadline = began + .seconds(60 * minutes)
    print(
        "soak: \(workers) concurrent sessions for \(minutes) min, \(sessionSeconds) s each, emulator pid "
            + "\(emulator.process.processIdentifier) on port \(emulator.port) with random faults")
    print("\n| minute | client RSS MiB | active sessions | sessions ended | reconnections | finals delivered |")
    print("|---|---|---|---|---|---|")
    let sampler = Task {
        var minute = 0
        while !Task.isCancelled {
            let snapshot = (await tally.active, await tally.completed + (await tally.failed.values.reduce(0, +)))
            print(
                "| \(minute) | \(String(format: "%.1f", Double(residentBytes()) / 1_048_576)) | \(snapshot.0) | "
                    + "\(snapshot.1) | \(await tally.reconnections) | \(await tally.finals) |")
            minute += 1
            do { try await Task.sleep(until: began + .seconds(60 * minute), clock: clock) } catch { return }
        }
    }
    await withTaskGroup(of: Void.self) { group in
        for worker in 0..<workers {
            group.addTask {
                // Spread the starts over the first 10 s.
                try? await Task.sleep(for: .milliseconds(worker * 10_000 / max(1, workers)))
                var round = 0
                while clock.now < deadline {
                    let vendor: ProviderKind = (worker + round) % 2 == 0 ? .assemblyAI : .speechmatics
                    await soakSession(
                        vendor: vendor, base: base, tls: tls, seconds: sessionSeconds, deadline: deadline, tally: tally)
                    round += 1
                }
            }
        }
    }
    sampler.cancel()
    print(
        "| end | \(String(format: "%.1f", Double(residentBytes()) / 1_048_576)) | \(await tally.active) | "
            + "\(await tally.completed + (await tally.failed.values.reduce(0, +))) | \(await tally.reconnections) | "
            + "\(await tally.finals) |")

    let totalsLine = try emulator.ask("totals")
    let totals = (try? JSONSerialization.jsonObject(with: Data(totalsLine.utf8))) as? [String: Any] ?? [:]
    let sent = totals["finals"] as? Int ?? -1
    let delivered = await tally.finals
    print("\n| figure | value |\n|---|---|")
    print("| wall time | \(String(format: "%.1f", seconds(clock.now - began))) s |")
    print("| sessions started (transcribers) | \(await tally.started) |")
    print("| sessions completed (terminated) | \(await tally.completed) |")
    let failures = await tally.failed.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
    print("| sessions failed, by error | \(failures.isEmpty ? "none" : failures.joined(separator: ", ")) |")
    print("| start() refused and retried by the worker | \(await tally.startRetries) |")
    print("| reconnections (failures) / rollovers | \(await tally.reconnections) / \(await tally.rollovers) |")
    print("| emulator sessions (connections) | \(totals["sessions"] ?? "?") |")
    print("| faults injected | \(totals["faults"].map { "\($0)" } ?? "?") |")
    print("| finals delivered / sent by the emulator | \(delivered) / \(sent) |")
    print("| audio lost to full replay buffers | \(String(format: "%.2f", await tally.lostAudio)) s |")
    print("| emulator sessions not ended at the end | \(totals["unended"] ?? "?") |")
    print("| protocol violations seen by the emulator | \(totals["violations"].map { "\($0)" } ?? "?") |")
    if delivered != sent {
        print("\nFINALS MISSING: \(sent - delivered)")
        let perSession = totals["per_session"] as? [String: [Any]] ?? [:]
        let ours = await tally.finalsBySession
        var shown = 0
        for (id, entry) in perSession.sorted(by: { $0.key < $1.key }) {
            let sentHere = entry.first as? Int ?? 0
            guard ours[id, default: 0] != sentHere, shown < 20 else { continue }
            shown += 1
            print("- session \(id): sent \(sentHere), delivered \(ours[id, default: 0]), fault \(entry.last ?? "")")
        }
        exit(1)
    }
}

/// One transcriber: start (retried while the refusal is retryable), real-time audio for
/// `seconds` (or until the deadline), stop; its events are counted.
private func soakSession(
    vendor: ProviderKind, base: String, tls: TLSConfiguration, seconds: Int, deadline: ContinuousClock.Instant,
    tally: SoakTally
) async {
    let provider: StreamingTranscriber.Provider =
        vendor == .assemblyAI
        ? .assemblyAI(
            AssemblyAI(
                credentials: .apiKey(Secret(benchmarkAPIKey)), speechModel: .u3RealtimePro,
                endpoint: .custom(base + "/v3/ws")))
        : .speechmatics(Speechmatics(credentials: .apiKey(Secret(benchmarkAPIKey)), endpoint: .custom(base + "/v2")))
    let policy = ReconnectionPolicy(initialDelay: .milliseconds(200), maxDelay: .seconds(2))
    let clock = ContinuousClock()
    for attempt in 0..<5 {
        let transcriber = StreamingTranscriber(
            provider: provider, configuration: .init(tls: tls, reconnection: policy))
        let counter = Task { () -> (finals: Int, reconnections: Int, rollovers: Int) in
            var counts = (finals: 0, reconnections: 0, rollovers: 0)
            var ids: [Int: String] = [:]
            var bySession: [String: Int] = [:]
            for await event in transcriber.events {
                switch event {
                case .begin(let info): ids[0] = info.id
                case .final(let transcript):
                    counts.finals += 1
                    bySession[ids[transcript.sessionIndex] ?? "?", default: 0] += 1
                case .reconnected(let notice):
                    ids[notice.sessionIndex] = notice.session.id
                    if notice.reason == .rollover { counts.rollovers += 1 } else { counts.reconnections += 1 }
                default: break
                }
            }
            await tally.add(finalsBySession: bySession)
            return counts
        }
        do {
            try await transcriber.start()
        } catch {
            let counts = await counter.value
            if error.isRetryable && attempt < 4 {
                await tally.startRetried(finals: counts.finals)
                try? await Task.sleep(for: .milliseconds(200 * (attempt + 1)))
                continue
            }
            await tally.sessionStarted()
            await tally.sessionEnded(
                finals: counts.finals, reconnections: 0, rollovers: 0, lost: 0, error: "start \(error.code)")
            return
        }
        await tally.sessionStarted()
        let chunk = [UInt8](repeating: 0, count: 3200)
        let began = clock.now
        var failure: String?
        for index in 0..<(seconds * 10) {
            let due = began + .milliseconds(100 * index)
            if due > deadline { break }
            try? await Task.sleep(until: due, clock: clock)
            do {
                try await transcriber.send(audio: chunk)
            } catch {
                failure = "\(error.code)"
                break
            }
        }
        var lost = 0.0
        do {
            let summary = try await transcriber.stop()
            lost = summary.lostAudio
        } catch {
            failure = failure ?? "\(error.code)"
        }
        let counts = await counter.value
        await tally.sessionEnded(
            finals: counts.finals, reconnections: counts.reconnections, rollovers: counts.rollovers, lost: lost,
            error: failure)
        return
    }
}
