import StreamingSTT
import StreamingSTTTesting
import Testing

/// A service that stops reading its socket (the client's sends block once the small receive
/// buffer is full) is detected by the keepalive: the session fails with a retryable
/// `connectionLost` within pingInterval + pongTimeout + 5 s of the stall, for both vendors, over
/// ws and wss, whether the client's send queue is full, nearly empty, or (Speechmatics) the
/// sender waits on the acknowledgement window.
@Suite("A peer that stops reading is detected within the keepalive bound")
struct TranscriberStalledPeerTests {
    typealias Vendor = TranscriberFaultTests.Vendor

    /// What the client is doing when the service stalls.
    enum Load: String, CaseIterable, Sendable {
        /// Sending as fast as it can: the socket, then the send queue fill, and `send` suspends.
        case queueFull
        /// A few chunks sent, then nothing: the queue stays nearly empty.
        case fewChunks
        /// A few chunks sent, then `stop()`: the end message cannot reach the service, and `stop()`
        /// must not wait for its answer past the bound.
        case stopping
        /// Speechmatics: the window of unacknowledged chunks is full (no `AudioAdded` comes), so
        /// the sender waits for acknowledgements rather than on the socket.
        case acknowledgementWindow
    }

    /// How the service stalls, and over which scheme.
    struct Setup: Sendable, CustomTestStringConvertible {
        /// `wss://` rather than `ws://`.
        var secure: Bool
        /// The service goes on sending (every 200 ms) after it stopped reading: nothing it sends
        /// answers a ping.
        var keepsSending: Bool

        var testDescription: String {
            "\(secure ? "wss" : "ws"), \(keepsSending ? "still sending" : "silent")"
        }

        static let all = [false, true].flatMap { secure in
            [false, true].map { Setup(secure: secure, keepsSending: $0) }
        }
    }

    /// A short keepalive, so that the bound is seconds, not the default 30 s + 60 s.
    static let pingInterval = Duration.seconds(1)
    static let pongTimeout = Duration.seconds(1)
    /// pingInterval + pongTimeout + 5 s.
    static let bound = pingInterval + pongTimeout + .seconds(5)

    struct Outcome {
        /// The first error the events carried.
        var error: TranscriptionError?
        /// From `start()` returning to that error. The service stalled just before: right after
        /// it sent `Begin` / `RecognitionStarted`, which `start()` waits for. (Counting from the
        /// call would add the connection's set-up, seconds on a loaded machine.) When the
        /// keepalive fails the session before `start()` returns (a machine so loaded that
        /// `start()` takes longer than the ping interval and the pong timeout), `start()` throws
        /// that error, and this counts from the call.
        var failedAfter: Duration
        /// From `start()` returning to the sender's last `send` (or `stop()`) returning.
        var senderReturnedAfter: Duration
    }

    /// One session against an emulator that stops reading right after `Begin` /
    /// `RecognitionStarted`, with a 4 KiB receive buffer.
    static func run(_ vendor: Vendor, _ setup: Setup, load: Load) async throws -> Outcome {
        let secure = setup.secure
        let emulator = try TranscriptionEmulator(
            configuration: .init(
                tls: secure ? sharedAuthority : nil,
                assemblyAI: .init(enforceRealTime: false, terminationDelay: .milliseconds(20)),
                speechmatics: .init(closeGrace: .milliseconds(100)), receiveBufferSize: 4096,
                faults: { _ in
                    [
                        setup.keepsSending
                            ? .stopReadingButKeepSending(afterAudioChunks: 0) : .stopReading(afterAudioChunks: 0)
                    ]
                }))
        defer { emulator.shutdown() }
        let provider: StreamingTranscriber.Provider
        switch (vendor, load) {
        case (.speechmatics, .acknowledgementWindow):
            var speechmatics = Speechmatics(
                credentials: .apiKey("emulator-key"), endpoint: .custom(emulator.speechmaticsURL))
            speechmatics.maxUnacknowledgedChunks = 4  // full long before the socket is
            provider = .speechmatics(speechmatics)
        default:
            provider = TranscriberFaultTests.provider(vendor, emulator)
        }
        let configuration = StreamingTranscriber.Configuration(
            startTimeout: .seconds(10), stopTimeout: .seconds(10),
            tls: TLSConfiguration(additionalTrustRoots: secure ? [.file(sharedAuthority.caCertificatePath)] : []),
            keepalive: .enabled(pingInterval: pingInterval, pongTimeout: pongTimeout),
            maxQueuedOutboundBytes: 16 << 10)
        let transcriber = StreamingTranscriber(provider: provider, configuration: configuration)
        let clock = ContinuousClock()
        let firstError = Task { () -> (TranscriptionError, ContinuousClock.Instant)? in
            for await event in transcriber.events {
                if case .error(let error) = event { return (error, clock.now) }
            }
            return nil
        }
        // A session that is never failed makes this throw; the emulator's shutdown then ends it.
        defer { firstError.cancel() }
        let outcome = try await withTimeout(bound + .seconds(10), "the stalled session to fail") {
            let called = clock.now
            do throws(TranscriptionError) {
                try await transcriber.start()
            } catch {
                let failedAfter = clock.now - called
                return Outcome(error: error, failedAfter: failedAfter, senderReturnedAfter: failedAfter)
            }
            let started = clock.now
            let chunks = load == .fewChunks || load == .stopping ? 3 : 100_000  // 100 ms each
            for _ in 0..<chunks {
                do { try await transcriber.send(audio: [UInt8](repeating: 0, count: 3200)) } catch { break }
            }
            if load == .stopping { _ = try? await transcriber.stop() }
            let senderReturned = clock.now
            let error = await firstError.value
            return Outcome(
                error: error?.0, failedAfter: (error?.1 ?? clock.now) - started,
                senderReturnedAfter: senderReturned - started)
        }
        _ = try? await transcriber.stop()
        try await offThePool { emulator.shutdown() }
        return outcome
    }

    static func check(_ outcome: Outcome, _ load: Load) {
        let error = outcome.error
        #expect(error?.code == .connectionLost, "\(String(describing: error))")
        #expect(error?.isRetryable == true)
        #expect(
            outcome.failedAfter < bound,
            "failed \(outcome.failedAfter) after the stall; the bound is \(bound)")
        if load != .fewChunks {
            // It waited (for room in the queue, for acknowledgements, or for the end) until the
            // failure.
            // The keepalive timers start when the connection opens, a little before `start()`
            // returns, so the check is against the failure itself rather than a fixed time.
            #expect(
                outcome.senderReturnedAfter + .milliseconds(500) >= outcome.failedAfter,
                "the sender returned \(outcome.senderReturnedAfter) after the stall, before the failure")
            #expect(
                outcome.senderReturnedAfter < bound,
                "the blocked sender returned \(outcome.senderReturnedAfter) after the stall")
        }
    }

    @Test("the send queue full", arguments: Vendor.allCases, Setup.all)
    func queueFull(vendor: Vendor, setup: Setup) async throws {
        Self.check(try await Self.run(vendor, setup, load: .queueFull), .queueFull)
    }

    @Test("the send queue nearly empty", arguments: Vendor.allCases, Setup.all)
    func fewChunks(vendor: Vendor, setup: Setup) async throws {
        Self.check(try await Self.run(vendor, setup, load: .fewChunks), .fewChunks)
    }

    @Test("stop() while the service does not read", arguments: Vendor.allCases, Setup.all)
    func stopping(vendor: Vendor, setup: Setup) async throws {
        Self.check(try await Self.run(vendor, setup, load: .stopping), .stopping)
    }

    @Test("Speechmatics waiting on its acknowledgement window", arguments: Setup.all)
    func acknowledgementWindow(setup: Setup) async throws {
        Self.check(try await Self.run(.speechmatics, setup, load: .acknowledgementWindow), .acknowledgementWindow)
    }
}
