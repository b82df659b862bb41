import Foundation
import StreamingSTTSupport
import StreamingSTTTesting
import Testing

@testable import StreamingSTT

/// Reconnection and rollover against the emulator, for both vendors: retryable faults lead to a new
/// session with the audio replayed, monotonic times and every final delivered; non-retryable ones
/// end the session at once; the attempt budget holds; lost audio is counted; nothing is left open.
@Suite("StreamingTranscriber reconnection and rollover")
struct TranscriberReconnectionTests {
    typealias Vendor = TranscriberFaultTests.Vendor
    enum Fault: String, CaseIterable, Sendable { case dropTCP, vendorError }

    /// A sentence ends every 0.6 s, so finals flow before and after a fault.
    static let script = EmulatorScript(
        text: "One. Two. Three. Four. Five. Six. Seven. Eight. Nine. Ten.", startingAt: 0.05, wordDuration: 0.2,
        gap: 0.05, sentenceGap: 0.4)
    static let chunk = [UInt8](repeating: 0, count: 3200)  // 100 ms of 16 kHz s16le

    struct Outcome: Sendable {
        var events: [TranscriptEvent]
        var records: [EmulatorSessionRecord]
        var bytesSent: Int
        var socketsLeft: Int
        /// The connection states seen (a slow reader may miss some).
        var states: [ConnectionState] = []

        var finals: [Transcript] { events.compactMap { if case .final(let t) = $0 { t } else { nil } } }
        var reconnecting: [Reconnecting] { events.compactMap { if case .reconnecting(let r) = $0 { r } else { nil } } }
        var reconnected: [Reconnected] { events.compactMap { if case .reconnected(let r) = $0 { r } else { nil } } }
        var summary: SessionSummary? { if case .terminated(let s) = events.last { s } else { nil } }
        var error: TranscriptionError? { if case .error(let e) = events.last { e } else { nil } }

        /// Our finals of session `index`, joined the way ``EmulatorSessionRecord/transcript`` is.
        func transcript(ofSession index: Int, vendor: Vendor) -> String {
            finals.filter { $0.sessionIndex == index }.map(\.text).joined(separator: " ")
        }
    }

    /// Runs one session: `chunks` pieces of 100 ms (paced in real time when `paced`), then stop.
    /// `duringOutage` runs once, on the first `reconnecting` event, before sending goes on.
    static func run(
        _ vendor: Vendor,
        secure: Bool = false,
        chunks: Int = 30,
        paced: Bool = false,
        policy: ReconnectionPolicy,
        emulatorSetup: (inout TranscriptionEmulator.Configuration) -> Void = { _ in },
        configure: (inout StreamingTranscriber.Configuration, TranscriptionEmulator) -> Void = { _, _ in },
        provider: ((TranscriptionEmulator) -> StreamingTranscriber.Provider)? = nil,
        duringOutage: (@Sendable (StreamingTranscriber) async -> Int)? = nil,
        faults: @escaping @Sendable (EmulatorSessionInfo) -> [EmulatorFault]
    ) async throws -> Outcome {
        var setup = TranscriptionEmulator.Configuration(
            tls: secure ? sharedAuthority : nil, script: script,
            assemblyAI: .init(enforceRealTime: paced, terminationDelay: .milliseconds(20)),
            speechmatics: .init(closeGrace: .milliseconds(100)), faults: faults)
        emulatorSetup(&setup)
        let emulator = try TranscriptionEmulator(configuration: setup)
        defer { emulator.shutdown() }
        var configuration = StreamingTranscriber.Configuration(
            startTimeout: .seconds(10), stopTimeout: .seconds(10),
            tls: TLSConfiguration(additionalTrustRoots: secure ? [.file(sharedAuthority.caCertificatePath)] : []),
            keepalive: .enabled(pingInterval: .milliseconds(500), pongTimeout: .milliseconds(2000)),
            reconnection: policy)
        configure(&configuration, emulator)
        let transcriber = StreamingTranscriber(
            provider: provider?(emulator) ?? TranscriberFaultTests.provider(vendor, emulator),
            configuration: configuration)
        let outage = Promise<Void>()
        let stateStream = transcriber.connectionStates
        let stateCollector = Task { await stateStream.reduce(into: [ConnectionState]()) { $0.append($1) } }
        let collector = Task {
            var all: [TranscriptEvent] = []
            for await event in transcriber.events {
                if case .reconnecting = event { outage.fulfill(()) }
                all.append(event)
            }
            outage.fulfill(())
            return all
        }
        let bytesSent = try await withTimeout(.seconds(60), "the session") { () -> Int in
            var sent = 0
            do {
                try await transcriber.start()
            } catch {
                return sent
            }
            let clock = ContinuousClock()
            let began = clock.now
            for index in 0..<chunks {
                // Real-time pacing is the behaviour under test here (rollover is on the wall clock,
                // and the emulator refuses AssemblyAI audio faster than real time), not a wait.
                if paced { try await Task.sleep(until: began + .milliseconds(100 * index), clock: clock) }
                do { try await transcriber.send(audio: chunk) } catch { break }
                sent += chunk.count
                if index == chunks / 3, let duringOutage {
                    await outage.value
                    sent += await duringOutage(transcriber)
                }
            }
            _ = try? await transcriber.stop()  // also after a failure: returns once the sockets are released
            return sent
        }
        let events = try await withTimeout { await collector.value }
        let states = try await withTimeout { await stateCollector.value }
        let records = await emulator.waitForSessions(count: emulator.sessions.count)
        let port = emulator.port
        try await offThePool { emulator.shutdown() }
        return Outcome(
            events: events, records: records, bytesSent: bytesSent, socketsLeft: openSockets(port: port),
            states: states)
    }

    static let quickPolicy = ReconnectionPolicy(initialDelay: .milliseconds(20), maxDelay: .milliseconds(100))

    /// Finals never go back in time (a new session's audio may start up to one chunk before the
    /// last final ended).
    static func expectMonotonic(_ finals: [Transcript]) {
        for (previous, next) in zip(finals, finals.dropFirst()) {
            #expect(
                next.start >= previous.end - 0.051,
                "\(next.text) at \(next.start) after \(previous.text) at \(previous.end)")
            #expect(next.turnOrder > previous.turnOrder || next.sessionIndex == previous.sessionIndex)
        }
    }

    @Test(
        "a retryable fault mid-stream: a new session, the audio replayed, every final delivered, times monotonic",
        arguments: Vendor.allCases, [false, true])
    func retryableFaultReconnects(vendor: Vendor, secure: Bool) async throws {
        for fault in Fault.allCases {
            let outcome = try await Self.run(vendor, secure: secure, policy: Self.quickPolicy) { info in
                guard info.index == 0 else { return [] }
                return fault == .dropTCP
                    ? [.dropConnection(afterAudioChunks: 30)] : [.vendorError(afterAudioChunks: 30)]
            }
            let summary = try #require(outcome.summary, "\(fault): \(outcome.events.last.map { "\($0)" } ?? "")")
            #expect(outcome.reconnecting.count == 1)
            if vendor == .speechmatics && fault == .vendorError {
                // job_error: the API reference asks for at least 5 s before a retry.
                #expect(outcome.reconnecting.first.map { $0.delay >= .seconds(5) } == true)
            } else {
                #expect(outcome.reconnecting.first.map { $0.delay < .seconds(1) } == true)
            }
            let reconnected = try #require(outcome.reconnected.first)
            #expect(reconnected.sessionIndex == 1)
            #expect(reconnected.lostAudio == 0)
            #expect(reconnected.replayedAudio > 0)
            #expect(summary.sessionCount == 2)
            #expect(summary.lostAudio == 0)
            #expect(outcome.records.count == 2)
            // Every final each session of the emulator sent reached the caller, in its session.
            for record in outcome.records {
                #expect(outcome.transcript(ofSession: record.index, vendor: vendor) == record.transcript, "\(fault)")
            }
            #expect(
                outcome.finals.contains { $0.sessionIndex == 0 } && outcome.finals.contains { $0.sessionIndex == 1 })
            Self.expectMonotonic(outcome.finals)
            // The new session got the replay and then the rest, exactly.
            let offsetBytes = Int((reconnected.audioOffset * 32000).rounded())
            #expect(outcome.records[1].audioByteCount == outcome.bytesSent - offsetBytes)
            #expect(outcome.records.allSatisfy { $0.ended })
            #expect(outcome.records[1].violations.isEmpty)
            #expect(outcome.socketsLeft == 0)
        }
    }

    @Test("a fault that is not retryable ends the session at once, without reconnecting", arguments: Vendor.allCases)
    func nonRetryableFault(vendor: Vendor) async throws {
        let outcome = try await Self.run(vendor, policy: Self.quickPolicy) { info in
            info.index == 0 ? [.close(code: 4001, reason: "not_authorised", afterAudioChunks: 5)] : []
        }
        let error = try #require(outcome.error)
        #expect(error.code == .authenticationFailed || error.code == .vendorError)
        #expect(!error.isRetryable)
        #expect(outcome.reconnecting.isEmpty)
        #expect(outcome.records.count == 1)
        #expect(outcome.socketsLeft == 0)
    }

    @Test("a reconnection refused with 401 stops after that attempt", arguments: Vendor.allCases)
    func reconnectionUnauthorized(vendor: Vendor) async throws {
        let outcome = try await Self.run(vendor, policy: Self.quickPolicy) { info in
            info.index == 0 ? [.dropConnection(afterAudioChunks: 8)] : [.rejectHandshake(status: 401)]
        }
        let error = try #require(outcome.error)
        #expect(error.code == .authenticationFailed)
        #expect(outcome.reconnecting.count == 1)
        #expect(outcome.records.count == 2)
        #expect(outcome.socketsLeft == 0)
    }

    @Test("503 at every reconnection: gives up after the attempt budget", arguments: Vendor.allCases)
    func givesUpAfterBudget(vendor: Vendor) async throws {
        let policy = ReconnectionPolicy(maxAttempts: 3, initialDelay: .milliseconds(10), maxDelay: .milliseconds(40))
        let outcome = try await Self.run(vendor, policy: policy) { info in
            info.index == 0 ? [.dropConnection(afterAudioChunks: 8)] : [.rejectHandshake(status: 503)]
        }
        let error = try #require(outcome.error)
        #expect(error.code == .handshakeRejected)
        #expect(error.reason.contains("gave up after 3 attempts"))
        #expect(outcome.reconnecting.map(\.attempt) == [1, 2, 3])
        #expect(outcome.records.count == 4)
        #expect(outcome.socketsLeft == 0)
    }

    @Test("a service that accepts and at once closes is not retried forever", arguments: Vendor.allCases)
    func acceptThenCloseRepeatedly(vendor: Vendor) async throws {
        let policy = ReconnectionPolicy(maxAttempts: 3, initialDelay: .milliseconds(10), maxDelay: .milliseconds(40))
        let outcome = try await Self.run(vendor, policy: policy) { info in
            info.index == 0
                ? [.dropConnection(afterAudioChunks: 8)]
                : [.close(code: 1011, reason: "internal_error", afterAudioChunks: 0)]
        }
        let error = try #require(outcome.error)
        #expect(error.reason.contains("gave up after 3 attempts"))
        #expect(outcome.records.count == 4)
        #expect(outcome.socketsLeft == 0)
    }

    @Test("audio beyond the replay buffer during an outage is dropped and counted", arguments: Vendor.allCases)
    func lostAudioIsCounted(vendor: Vendor) async throws {
        // The outage lasts 2 s of wall time, so the 20 sends below finish inside it even on a slow
        // sanitizer run (with 300 ms, a TSan run once saw the new session take over half-way).
        let policy = ReconnectionPolicy(
            initialDelay: .seconds(2), jitter: 0, replayBufferDuration: .milliseconds(500))
        let outcome = try await Self.run(
            vendor, policy: policy,
            duringOutage: { transcriber in
                // Two seconds spoken while there is no session: at most 0.5 s is kept.
                for _ in 0..<20 { try? await transcriber.send(audio: Self.chunk) }
                return 20 * Self.chunk.count
            },
            faults: { info in info.index == 0 ? [.dropConnection(afterAudioChunks: 6)] : [] })
        let summary = try #require(outcome.summary, "\(outcome.events.last.map { "\($0)" } ?? "")")
        let reconnected = try #require(outcome.reconnected.first)
        #expect(reconnected.replayedAudio <= 0.5 + 1e-9)
        #expect(reconnected.lostAudio >= 1.5 - 1e-9)
        #expect(abs(summary.lostAudio - reconnected.lostAudio) < 1e-9)
        // What was lost is exactly what lies between the last final of session 0 and the replay.
        let lastFinal = outcome.finals.last { $0.sessionIndex == 0 }?.end ?? 0
        #expect(abs(reconnected.lostAudio - (reconnected.audioOffset - lastFinal)) < 0.001)
        // The session that took over is the last one the emulator saw (on a slow machine an
        // attempt before it may have timed out without audio).
        let offsetBytes = Int((reconnected.audioOffset * 32000).rounded())
        #expect(outcome.records.last?.audioByteCount == outcome.bytesSent - offsetBytes)
        Self.expectMonotonic(outcome.finals)
        #expect(outcome.socketsLeft == 0)
    }

    @Test("AssemblyAI rollover with inactivity_timeout: the waiting next session is kept alive until the switch")
    func rolloverKeepsStandbyAlive() async throws {
        // expires_at 26 s; lead 14 s: the next session starts at about 12 s and, with no end of
        // turn in the script, takes the audio only at 19 s: 7 s without audio, more than the
        // 5 s inactivity_timeout. KeepAlive every 2.5 s keeps it open. (Its own rollover would
        // come at 24 s, after the 21 s of audio.)
        let outcome = try await Self.run(
            .assemblyAI, chunks: 210, paced: true, policy: ReconnectionPolicy(rolloverLeadTime: .seconds(14)),
            emulatorSetup: {
                $0.assemblyAI.maxSessionDuration = .seconds(26)
                $0.script = EmulatorScript(
                    text: String(repeating: "word ", count: 60) + "end.", startingAt: 0.05, wordDuration: 0.25,
                    gap: 0.05)
            },
            provider: { emulator in
                var options = AssemblyAI(
                    credentials: .apiKey("emulator-key"), speechModel: .u3RealtimePro,
                    endpoint: .custom(emulator.assemblyAIURL))
                options.inactivityTimeout = 5
                return .assemblyAI(options)
            }, faults: { _ in [] })
        let summary = try #require(outcome.summary, "\(outcome.events.last.map { "\($0)" } ?? "")")
        #expect(outcome.reconnecting.map(\.reason) == [.rollover])
        #expect(outcome.reconnected.first?.reason == .rollover)
        #expect(summary.sessionCount == 2)
        #expect(outcome.records.count == 2)
        #expect(outcome.records.allSatisfy { $0.violations.isEmpty }, "\(outcome.records.map(\.violations))")
        #expect(
            outcome.records.count == 2 && outcome.records[1].textMessagesReceived.contains(#"{"type":"KeepAlive"}"#))
        #expect(outcome.records.map(\.audioByteCount).reduce(0, +) == outcome.bytesSent)
    }

    @Test("rollover before the session limit: no gap, no overlap, the old session drained", arguments: Vendor.allCases)
    func rollover(vendor: Vendor) async throws {
        // AssemblyAI: the service says `expires_at` (20 s here); Speechmatics: a configured maximum.
        // The first session starts its successor 9-10 s in (AssemblyAI's `expires_at` is in whole
        // seconds) and switches at the next end of turn (a sentence ends every 0.6 s), at 14-15 s
        // at the latest; the next one would roll over only after 19 s, after the 17 s of audio.
        // Wide margins, so that this holds on a loaded machine under a sanitizer.
        var policy = ReconnectionPolicy(rolloverLeadTime: .seconds(10))
        if vendor == .speechmatics { policy.maximumSessionDuration = .seconds(20) }
        let metrics = ExactTestMetrics()
        let outcome = try await Self.run(
            vendor, chunks: 170, paced: true, policy: policy,
            emulatorSetup: {
                $0.assemblyAI.maxSessionDuration = .seconds(20)
                $0.script = EmulatorScript(
                    text: String(repeating: "One. Two. ", count: 20), startingAt: 0.05, wordDuration: 0.2, gap: 0.05,
                    sentenceGap: 0.4)
            }, configure: { configuration, _ in configuration.metricsFactory = metrics }, faults: { _ in [] })
        let summary = try #require(outcome.summary, "\(outcome.events.last.map { "\($0)" } ?? "")")
        #expect(outcome.reconnecting.map(\.reason) == [.rollover])
        let reconnected = try #require(outcome.reconnected.first)
        #expect(reconnected.reason == .rollover)
        #expect(reconnected.lostAudio == 0)
        #expect(reconnected.audioOffset < 14, "switched at a turn boundary, before the deadline")
        #expect(summary.sessionCount == 2)
        #expect(outcome.records.count == 2)
        // Every byte went to exactly one session.
        #expect(outcome.records.map(\.audioByteCount).reduce(0, +) == outcome.bytesSent)
        #expect(Int((reconnected.audioOffset * 32000).rounded()) == outcome.records[0].audioByteCount)
        // The old session was ended by the client and sent everything (no expiry error).
        #expect(outcome.records[0].closeCode == 1000)
        #expect(outcome.records.allSatisfy { $0.violations.isEmpty })
        for record in outcome.records {
            #expect(outcome.transcript(ofSession: record.index, vendor: vendor) == record.transcript)
        }
        #expect(outcome.finals.last { $0.sessionIndex == 0 }?.isEndOfTurn == true)
        Self.expectMonotonic(outcome.finals)
        #expect(outcome.socketsLeft == 0)
        // Rolling over for seconds, then open again with the next session; counted as a rollover.
        let rolling = try #require(outcome.states.firstIndex(of: .rollingOver), "\(outcome.states)")
        #expect(outcome.states[(rolling + 1)...].contains(.open), "\(outcome.states)")
        #expect(!outcome.states.contains { if case .reconnecting = $0 { true } else { false } })
        #expect(outcome.states.last == .ended(nil))
        #expect(summary.statistics.rollovers == 1)
        #expect(summary.statistics.reconnections == 0)
        // The metrics count a rollover, not a reconnection, and every session's connection.
        let provider = [("provider", vendor == .assemblyAI ? "assemblyai" : "speechmatics")]
        #expect(try metrics.test.expectCounter("stt_rollovers_total", provider).totalValue == 1)
        #expect(try metrics.test.expectCounter("stt_reconnections_total", provider).totalValue == 0)
        #expect(try metrics.test.expectTimer("stt_connect_duration_seconds", provider).values.count == 2)
        #expect(
            abs(metrics.floatingTotal("stt_audio_sent_seconds_total", provider) - Double(outcome.bytesSent) / 32000)
                < 1e-9)
    }

    @Test("each session gets fresh credentials from the supplier (AssemblyAI tokens are single-use)")
    func freshTokenPerSession() async throws {
        let indices = LockedState<[Int]>([])
        let outcome = try await Self.run(
            .assemblyAI, policy: Self.quickPolicy,
            configure: { configuration, emulator in
                let url = emulator.assemblyAITokenURL
                configuration.credentials = SessionCredentials { index in
                    indices.withLock { $0.append(index) }
                    return .temporaryToken(try await AssemblyAI.createTemporaryToken(apiKey: "emulator-key", url: url))
                }
            },
            faults: { info in info.index == 0 ? [.dropConnection(afterAudioChunks: 8)] : [] })
        #expect(outcome.summary != nil, "\(outcome.events.last.map { "\($0)" } ?? "")")
        #expect(indices.withLock { $0 } == [0, 1])
        #expect(outcome.records.count == 2)
        #expect(outcome.records.allSatisfy { $0.handshakeStatus == nil })
        #expect(outcome.records.allSatisfy { record in record.query.contains { $0.name == "token" } })
    }
}
