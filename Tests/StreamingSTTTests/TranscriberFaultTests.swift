import StreamingSTT
import StreamingSTTTesting
import Testing

/// Every emulator fault gives the documented outcome within a bounded time, for both vendors, over
/// ws and wss, and every final sent before the fault reaches the caller; no socket is left open.
@Suite("StreamingTranscriber fault matrix against the emulator")
struct TranscriberFaultTests {
    enum Vendor: String, CaseIterable, Sendable { case assemblyAI, speechmatics }

    /// Speech starts at once and a sentence ends every 0.6 s, so finals are flowing when faults hit.
    static let script = EmulatorScript(
        text: "One. Two. Three. Four. Five. Six. Seven. Eight.", startingAt: 0.05, wordDuration: 0.2, gap: 0.05,
        sentenceGap: 0.4)

    struct Outcome {
        var events: [TranscriptEvent]
        var startError: TranscriptionError?
        var stopError: TranscriptionError?
        var record: EmulatorSessionRecord?
        var finals: [String] {
            events.compactMap { if case .final(let transcript) = $0 { transcript.text } else { nil } }
        }
        var lastError: TranscriptionError? {
            if case .error(let error) = events.last { return error }
            return nil
        }
    }

    /// The vendor's options pointed at `emulator`, with the key it accepts.
    static func provider(_ vendor: Vendor, _ emulator: TranscriptionEmulator) -> StreamingTranscriber.Provider {
        switch vendor {
        case .assemblyAI:
            .assemblyAI(
                AssemblyAI(
                    credentials: .apiKey("emulator-key"), speechModel: .u3RealtimePro,
                    endpoint: .custom(emulator.assemblyAIURL)))
        case .speechmatics:
            .speechmatics(
                Speechmatics(credentials: .apiKey("emulator-key"), endpoint: .custom(emulator.speechmaticsURL)))
        }
    }

    /// Runs one session with `faults`, sending `seconds` of audio in 100 ms pieces, then stopping.
    static func run(
        _ vendor: Vendor,
        secure: Bool = false,
        faults: [EmulatorFault],
        seconds: Double = 3,
        configure: (inout StreamingTranscriber.Configuration) -> Void = { _ in }
    ) async throws -> Outcome {
        let emulator = try TranscriptionEmulator(
            configuration: .init(
                tls: secure ? sharedAuthority : nil, script: script,
                assemblyAI: .init(enforceRealTime: false, terminationDelay: .milliseconds(20)),
                speechmatics: .init(closeGrace: .milliseconds(100)), faults: { _ in faults }))
        defer { emulator.shutdown() }
        let provider = Self.provider(vendor, emulator)
        var configuration = StreamingTranscriber.Configuration(
            startTimeout: .seconds(10), stopTimeout: .seconds(10),
            tls: TLSConfiguration(additionalTrustRoots: secure ? [.file(sharedAuthority.caCertificatePath)] : []),
            keepalive: .enabled(pingInterval: .milliseconds(500), pongTimeout: .milliseconds(2000)))
        configure(&configuration)
        let transcriber = StreamingTranscriber(provider: provider, configuration: configuration)
        let collector = Task {
            var all: [TranscriptEvent] = []
            for await event in transcriber.events { all.append(event) }
            return all
        }
        var outcome = Outcome(events: [])
        try await withTimeout(.seconds(30), "the session under a fault") {
            do {
                try await transcriber.start()
            } catch {
                return  // start() returns once the connection is released
            }
            for _ in 0..<Int(seconds * 10) {
                do { try await transcriber.send(audio: [UInt8](repeating: 0, count: 3200)) } catch { break }
            }
            _ = try? await transcriber.stop()  // after a failure too: it returns once the sockets are released
        }
        outcome.events = try await withTimeout { await collector.value }
        outcome.startError = nil
        outcome.record = emulator.sessions.first
        // Nothing is left behind: once the emulator has closed its side (a server that stopped
        // reading never notices the client leave), no socket to it remains in this process — the
        // client released its own when `stop()` returned. (Connections are counted per socket:
        // a count of threads or of all descriptors would see the tests running in parallel, and a
        // context per test slows the shared machine's sanitizer runs to a crawl.)
        let port = emulator.port
        try await offThePool { emulator.shutdown() }
        #expect(openSockets(port: port) == 0, "sockets left open to the emulator")
        return outcome
    }

    @Test("TCP dropped mid-stream: finals first, then connectionLost", arguments: Vendor.allCases, [false, true])
    func drop(vendor: Vendor, secure: Bool) async throws {
        let outcome = try await Self.run(vendor, secure: secure, faults: [.dropConnection(afterAudioChunks: 30)])
        #expect(!outcome.finals.isEmpty)
        #expect(outcome.lastError?.code == .connectionLost)
        #expect(outcome.lastError?.isRetryable == true)
        let sent = outcome.record?.finalTranscripts.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty } ?? []
        #expect(outcome.finals.count == sent.count, "every final the emulator sent reaches the caller")
    }

    @Test(
        "the vendor's mid-stream error: finals first, then a retryable vendor error", arguments: Vendor.allCases,
        [false, true])
    func vendorError(vendor: Vendor, secure: Bool) async throws {
        let outcome = try await Self.run(vendor, secure: secure, faults: [.vendorError(afterAudioChunks: 30)])
        #expect(!outcome.finals.isEmpty)
        let error = try #require(outcome.lastError)
        #expect(error.code == .vendorError)
        #expect(error.vendorCode == (vendor == .assemblyAI ? "3005" : "job_error"))
        #expect(error.isRetryable)
        let sent = outcome.record?.finalTranscripts.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty } ?? []
        #expect(outcome.finals.count == sent.count)
    }

    @Test(
        "closed with each vendor code and no Error message",
        arguments: [
            (Vendor.assemblyAI, 3008, true), (.assemblyAI, 3006, false), (.assemblyAI, 1008, false),
            (.speechmatics, 4005, true), (.speechmatics, 1003, false), (.speechmatics, 4001, false),
            (.speechmatics, 1011, true),
        ])
    func closeCodes(vendor: Vendor, code: Int, retryable: Bool) async throws {
        let outcome = try await Self.run(
            vendor, faults: [.close(code: code, reason: "closed by test", afterAudioChunks: 10)])
        let error = try #require(outcome.lastError)
        #expect(error.closeCode == UInt16(code))
        #expect(error.isRetryable == retryable)
        let auth = (vendor == .assemblyAI && code == 1008) || (vendor == .speechmatics && code == 4001)
        #expect(error.code == (auth ? .authenticationFailed : .serverClosed))
    }

    @Test(
        "malformed JSON and unknown messages are tolerated; the session ends normally", arguments: Vendor.allCases,
        [false, true])
    func tolerated(vendor: Vendor, secure: Bool) async throws {
        let outcome = try await Self.run(
            vendor, secure: secure,
            faults: [.sendMalformedJSON(afterAudioChunks: 5), .sendUnknownMessage(afterAudioChunks: 6)],
            seconds: Self.script.duration + 1)
        #expect(
            outcome.events.contains {
                if case .warning(let notice) = $0 { notice.type == "malformed_message" } else { false }
            })
        #expect(outcome.events.contains { if case .raw = $0 { true } else { false } })
        if case .terminated = outcome.events.last {
        } else {
            Issue.record("not terminated: \(String(describing: outcome.events.last))")
        }
        #expect(outcome.finals.joined(separator: " ") == Self.script.transcript)
    }

    @Test("an oversized frame is a protocol violation", arguments: Vendor.allCases, [false, true])
    func hugeFrame(vendor: Vendor, secure: Bool) async throws {
        let outcome = try await Self.run(
            vendor, secure: secure, faults: [.sendHugeFrame(bytes: 2 << 20, afterAudioChunks: 10)]
        ) {
            $0.maxMessageSize = 1 << 20
        }
        #expect(outcome.lastError?.code == .protocolViolation)
        #expect(outcome.lastError?.closeCode == 1009)
    }

    @Test(
        "the default maxMessageSize (4 MiB): a message of 4 MiB arrives, one byte more ends the session with protocolViolation and 1009",
        arguments: Vendor.allCases, [false, true])
    func defaultMessageLimit(vendor: Vendor, secure: Bool) async throws {
        #expect(StreamingTranscriber.Configuration().maxMessageSize == 4 << 20)
        let over = try await Self.run(
            vendor, secure: secure, faults: [.sendHugeFrame(bytes: (4 << 20) + 1, afterAudioChunks: 5)])
        #expect(over.lastError?.code == .protocolViolation, "\(String(describing: over.events.last))")
        #expect(over.lastError?.closeCode == 1009)
        #expect(over.lastError?.isRetryable == false)
        let at = try await Self.run(
            vendor, secure: secure, faults: [.sendHugeFrame(bytes: 4 << 20, afterAudioChunks: 5)])
        #expect(
            at.events.contains { if case .raw(let message) = $0 { message.text.utf8.count == 4 << 20 } else { false } })
        if case .terminated = at.events.last {
        } else {
            Issue.record("not terminated: \(String(describing: at.events.last))")
        }
    }

    @Test(
        "a slow server (every reply delayed): the session still completes", arguments: Vendor.allCases, [false, true])
    func slowServer(vendor: Vendor, secure: Bool) async throws {
        // The emulator delays each reply in turn, so delays add up over a session's messages.
        let outcome = try await Self.run(vendor, secure: secure, faults: [.delayReplies(.milliseconds(40))], seconds: 1)
        {
            $0.stopTimeout = .seconds(20)
            $0.startTimeout = .seconds(10)
        }
        if case .terminated = outcome.events.last {
        } else {
            Issue.record("not terminated: \(String(describing: outcome.events.last))")
        }
    }

    @Test(
        "a server that stops reading: the sender waits, then the dead peer is detected", arguments: Vendor.allCases,
        [false, true])
    func stopsReading(vendor: Vendor, secure: Bool) async throws {
        let outcome = try await Self.run(
            vendor, secure: secure, faults: [.stopReading(afterAudioChunks: 5)], seconds: 60
        ) {
            $0.maxQueuedOutboundBytes = 64 << 10
        }
        #expect(outcome.lastError?.code == .connectionLost || outcome.lastError?.code == .timeout)
        #expect((outcome.record?.audioByteCount ?? 0) < 60 * 32000, "the sender was held back")
    }

    @Test("the handshake refused with an HTTP status (over wss)", arguments: Vendor.allCases, [401, 403, 429, 500])
    func handshake(vendor: Vendor, status: Int) async throws {
        let outcome = try await Self.run(vendor, secure: true, faults: [.rejectHandshake(status: status)])
        let error = try #require(outcome.lastError)
        #expect(error.httpStatus == status)
        #expect(error.code == (status == 401 || status == 403 ? .authenticationFailed : .handshakeRejected))
        #expect(error.isRetryable == (status >= 429))
    }

    @Test(
        "the final message never comes: stop times out, every final before it delivered", arguments: Vendor.allCases,
        [false, true])
    func neverFinishes(vendor: Vendor, secure: Bool) async throws {
        let outcome = try await Self.run(vendor, secure: secure, faults: [.neverSendFinalMessage]) {
            $0.stopTimeout = .seconds(8)
        }
        #expect(outcome.lastError?.code == .timeout)
        let sent = outcome.record?.finalTranscripts.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty } ?? []
        #expect(outcome.finals.count == sent.count)
        #expect(!outcome.finals.isEmpty)
    }

    @Test(
        "closed before the session starts, or never started: start fails in bounded time", arguments: Vendor.allCases,
        [false, true])
    func neverStarts(vendor: Vendor, secure: Bool) async throws {
        let closed = try await Self.run(vendor, secure: secure, faults: [.closeBeforeStart(code: 1011)])
        #expect(closed.lastError?.closeCode == 1011)
        let silent = try await Self.run(vendor, secure: secure, faults: [.neverStart]) { $0.startTimeout = .seconds(2) }
        #expect(silent.lastError?.code == .timeout)
        #expect(!silent.events.contains { if case .begin = $0 { true } else { false } })
    }
}
