import Foundation
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import StreamingSTTCore
import Synchronization

/// One client's WebSocket relayed to one vendor session.
///
/// The handler task reads the client's messages: the first decides the provider (a `start` text
/// message, or audio for the default provider), audio goes to ``StreamingTranscriber/send(audio:)``,
/// `stop` ends the vendor session gracefully. A child task forwards the transcript events as JSON
/// (with the transcript lag after each final and, from a child task of its own, at the lag report
/// interval), and, in a child task of its own, the connection states, then closes the WebSocket
/// after the last of both; another stops the session when it reaches the duration cap. The client closing its WebSocket without `stop` cancels the vendor session.
/// When the server shuts down gracefully, the vendor session is stopped like on `stop` (every
/// final still reaches the client) and the WebSocket closes with 1001 (going away).
final class RelaySession: Sendable {
    private struct State {
        var transcriber: StreamingTranscriber?
        var timeLimitReached = false
        var shuttingDown = false
        var closed = false
    }

    private let configuration: RelayConfiguration
    private let outbound: WebSocketOutboundWriter
    private let logger: Logger
    private let state = Mutex(State())
    /// Measures the audio rate.
    private let clock: any RelayClock
    private let metrics: RelayMetrics

    init(
        configuration: RelayConfiguration, outbound: WebSocketOutboundWriter, logger: Logger, clock: any RelayClock,
        metrics: RelayMetrics
    ) {
        self.configuration = configuration
        self.outbound = outbound
        self.logger = logger
        self.clock = clock
        self.metrics = metrics
    }

    /// What a client text message asks for.
    enum Command: Equatable {
        case start(ProviderKind?)
        case stop
        case invalid(String)

        init(parsing text: String) {
            guard let message = try? JSONDecoder().decode(Message.self, from: Data(text.utf8)) else {
                self = .invalid("expected a JSON object with a \"type\"")
                return
            }
            switch message.type {
            case "start":
                guard let name = message.provider else {
                    self = .start(nil)
                    return
                }
                guard let provider = ProviderKind(relayName: name) else {
                    self = .invalid("unknown provider (assemblyai or speechmatics)")
                    return
                }
                self = .start(provider)
            case "stop": self = .stop
            default: self = .invalid("unknown message type (start or stop)")
            }
        }

        /// `{"type":"start","provider":…}` or `{"type":"stop"}`; other members are ignored.
        private struct Message: Decodable {
            var type: String
            var provider: String?

            init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: CodingKeys.self)
                type = try container.decode(String.self, forKey: .type)
                // A `provider` that is not a string counts as absent: the default provider.
                provider = try? container.decodeIfPresent(String.self, forKey: .provider)
            }

            private enum CodingKeys: String, CodingKey {
                case type, provider
            }
        }
    }

    func run(inbound: WebSocketInboundStream) async {
        logger.info("relay session opened")
        await relay(inbound: inbound)
        logger.info("relay session closed")
    }

    /// The server is shutting down: end the vendor session with its end message, so that its last
    /// finals reach the client (the forwarder then closes with 1001), or close at once if none
    /// was started. No session starts after this.
    func shutDown() {
        let transcriber = state.withLock { state in
            state.shuttingDown = true
            return state.transcriber
        }
        logger.info("relay session ending: the server is shutting down")
        Task {
            if let transcriber {
                _ = try? await transcriber.stop()
            } else {
                await close(code: TranscriptionRelay.CloseCode.goingAway, reason: "server_shutting_down")
            }
        }
    }

    private func relay(inbound: WebSocketInboundStream) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.enforceTimeLimit() }
            var transcriber: StreamingTranscriber?
            var audioRate: AudioRateLimit?
            var audioRateExceeded = false
            var messages = inbound.messages(maxSize: configuration.maxClientMessageSize).makeAsyncIterator()
            while true {
                let next: HummingbirdWebSocket.WebSocketMessage?
                do { next = try await messages.next() } catch { break }
                guard let message = next else { break }
                switch message {
                case .text(let text):
                    switch Command(parsing: text) {
                    case .start(let provider):
                        if transcriber == nil {
                            transcriber = await begin(
                                provider ?? configuration.defaultProvider, in: &group, audioRate: &audioRate)
                        }
                    case .stop:
                        if let transcriber {
                            _ = try? await transcriber.stop()
                        } else {
                            await close(code: 1000, reason: "stopped")
                        }
                    case .invalid(let reason):
                        await write(EventJSON.error(code: "invalid_message", message: reason, retryable: false))
                    }
                case .binary(let buffer):
                    guard buffer.readableBytes % 2 == 0 else {
                        await write(
                            EventJSON.error(
                                code: "invalid_audio", message: "audio must be 16-bit samples (an even byte count)",
                                retryable: false))
                        await close(code: 1003, reason: "invalid_audio")
                        await transcriber?.cancel()
                        continue
                    }
                    if audioRateExceeded { continue }
                    if transcriber == nil {
                        transcriber = await begin(configuration.defaultProvider, in: &group, audioRate: &audioRate)
                    }
                    if audioRate?.admit(buffer.readableBytes, now: clock.now) == false {
                        audioRateExceeded = true
                        await refuseAudioRate()
                        await transcriber?.cancel()
                        continue
                    }
                    // A failed send means the session ended; the forwarder reports how.
                    let sending = clock.now
                    try? await transcriber?.send(audio: Array(buffer.readableBytesView))
                    audioRate?.relayWaited(from: sending, to: clock.now)
                }
            }
            // The client closed its WebSocket (or answered our close): nobody reads any more.
            if let transcriber { await transcriber.cancel() }
            group.cancelAll()
        }
    }

    /// Creates and starts the vendor session, and the task that forwards its events; sets
    /// `audioRate` to the cap in the session's audio format.
    private func begin(
        _ provider: ProviderKind, in group: inout TaskGroup<Void>, audioRate: inout AudioRateLimit?
    ) async -> StreamingTranscriber? {
        // Once the WebSocket is closing (refused provider, duration cap) or the server is shutting
        // down, nothing starts any more.
        if state.withLock({ $0.closed || $0.shuttingDown }) { return nil }
        guard let access = configuration.access(for: provider) else {
            await write(
                EventJSON.error(
                    code: "provider_unavailable", message: "this server does not offer \(provider)", retryable: false))
            await close(code: 1008, reason: "provider_unavailable")
            return nil
        }
        var logger = self.logger
        logger[metadataKey: "stt.provider"] = "\(provider)"
        let options = Self.provider(provider, access: access)
        let starting = clock.now
        audioRate = AudioRateLimit(
            bytesPerSecond: Self.audioBytesPerSecond(options), realTimeFactor: configuration.maxAudioRealTimeFactor,
            burst: configuration.audioBurst, now: starting)
        // The library's metrics of the session go where the relay's own go.
        var transcriberConfiguration = StreamingTranscriber.Configuration(tls: configuration.tls)
        transcriberConfiguration.metricsFactory = metrics.factory
        transcriberConfiguration.transcriptLagWarning = configuration.transcriptLagWarning
        let transcriber = StreamingTranscriber(
            provider: options, configuration: transcriberConfiguration, logger: logger)
        let limited = state.withLock { state in
            state.transcriber = transcriber
            return state.timeLimitReached || state.shuttingDown
        }
        if limited { return nil }
        metrics.sessionStarted(provider)
        // Subscribed before start(): the client sees every state from `connecting` on.
        let states = transcriber.connectionStates
        group.addTask { await self.forward(transcriber, states: states, logger: logger) }
        // A failure arrives as the `error` event too; the forwarder sends it and closes.
        _ = try? await transcriber.start()
        // The client's audio piled up while the vendor session started.
        audioRate?.relayWaited(from: starting, to: clock.now)
        return transcriber
    }

    static func provider(_ kind: ProviderKind, access: VendorAccess) -> StreamingTranscriber.Provider {
        switch kind {
        case .assemblyAI:
            var options = AssemblyAI(credentials: .apiKey(access.apiKey), speechModel: .u3RealtimePro)
            if let endpoint = access.endpoint { options.endpoint = .custom(endpoint) }
            return .assemblyAI(options)
        case .speechmatics:
            var options = Speechmatics(credentials: .apiKey(access.apiKey))
            options.enablePartials = true
            options.maxDelay = 1.0
            if let endpoint = access.endpoint { options.endpoint = .custom(endpoint) }
            return .speechmatics(options)
        default:
            preconditionFailure("the relay offers AssemblyAI and Speechmatics only (ProviderKind(relayName:))")
        }
    }

    /// Bytes per second of real-time audio in the session's format: sample rate × bytes per
    /// sample × channels (mono).
    static func audioBytesPerSecond(_ provider: StreamingTranscriber.Provider) -> Int {
        if let options = provider.options(as: AssemblyAI.self) {
            return options.sampleRate * options.encoding.bytesPerSample
        }
        if let options = provider.options(as: Speechmatics.self) {
            return options.sampleRate * options.encoding.bytesPerSample
        }
        return 16000 * 2
    }

    /// The client sent audio faster than the cap: tells it why and closes (4413); the caller
    /// cancels the vendor session.
    private func refuseAudioRate() async {
        let factor = configuration.maxAudioRealTimeFactor
        let burst = AudioRateLimit.seconds(configuration.audioBurst)
        logger.warning(
            "relay session ended: audio rate above the cap", metadata: ["stt.audio.maxRealTimeFactor": "\(factor)"])
        await write(
            EventJSON.error(
                code: "audio_rate_exceeded",
                message: "audio arrived faster than \(factor)× real time (bursts of \(burst) s allowed)",
                retryable: false))
        await close(code: TranscriptionRelay.CloseCode.audioRateExceeded, reason: "audio_rate_exceeded")
    }

    /// Sends every event and connection state the client needs, then `ended` and closes the
    /// WebSocket.
    private func forward(
        _ transcriber: StreamingTranscriber, states: AsyncStream<ConnectionState>, logger: Logger
    ) async {
        // The states until the library's last: it finishes the sequence with `ended`, which is
        // written below, after the last event. Cancelling the session cancels this too.
        let failed = await withTaskGroup(of: Void.self, returning: Bool.self) { group in
            group.addTask { await self.forwardStates(states) }
            return await forwardEvents(transcriber, logger: logger)
        }
        await write(EventJSON.state(.ended))
        let (timeLimitReached, shuttingDown) = state.withLock { ($0.timeLimitReached, $0.shuttingDown) }
        if timeLimitReached {
            await close(code: TranscriptionRelay.CloseCode.sessionTimeLimit, reason: "session_time_limit")
        } else if shuttingDown && !failed {
            await close(code: TranscriptionRelay.CloseCode.goingAway, reason: "server_shutting_down")
        } else {
            await close(code: failed ? 1011 : 1000, reason: failed ? "session_failed" : "done")
        }
    }

    /// Sends the transcript events, with the library's transcript lag after each final, before
    /// `terminated`, and at the lag report interval until the last event; returns whether the
    /// session failed.
    private func forwardEvents(_ transcriber: StreamingTranscriber, logger: Logger) async -> Bool {
        await withTaskGroup(of: Void.self, returning: Bool.self) { reports in
            if let interval = configuration.lagReportInterval {
                reports.addTask { await self.reportLag(of: transcriber, every: interval) }
            }
            var failed = false
            for await event in transcriber.events {
                switch event {
                case .begin(let session):
                    logger.info("vendor session started", metadata: ["stt.session.id": "\(session.id)"])
                case .error(let error):
                    failed = true
                    logger.info("vendor session failed", metadata: ["stt.error": "\(error)"])
                    await Self.end(&reports)
                case .terminated:
                    await Self.end(&reports)
                    // The last statistics: every byte sent, the newest final's end.
                    await write(EventJSON.lag(await transcriber.statistics))
                default:
                    break
                }
                if let json = EventJSON.encode(event) { await write(json) }
                if case .final = event { await write(EventJSON.lag(await transcriber.statistics)) }
            }
            reports.cancelAll()
            return failed
        }
    }

    /// Ends the periodic lag reports and waits for a report being written, so that none comes
    /// after the session's last event.
    private static func end(_ reports: inout TaskGroup<Void>) async {
        reports.cancelAll()
        await reports.waitForAll()
    }

    /// Sends the transcript lag every `interval` when it changed since the last report, until
    /// cancelled.
    private func reportLag(of transcriber: StreamingTranscriber, every interval: Duration) async {
        var last: String?
        while true {
            do { try await Task.sleep(for: interval) } catch { return }
            let report = EventJSON.lag(await transcriber.statistics)
            guard report != last, !Task.isCancelled else { continue }
            last = report
            await write(report)
        }
    }

    /// Sends the library's connection states but its last (`ended`, which ``forward(_:states:logger:)``
    /// sends after the last event).
    private func forwardStates(_ states: AsyncStream<ConnectionState>) async {
        for await state in states {
            guard let relayed = RelayConnectionState(state), relayed != .ended else { continue }
            await write(EventJSON.state(relayed))
        }
    }

    /// Stops the session gracefully when it reaches the duration cap.
    private func enforceTimeLimit() async {
        do { try await Task.sleep(for: configuration.maxSessionDuration) } catch { return }
        let transcriber = state.withLock { state in
            state.timeLimitReached = true
            return state.transcriber
        }
        logger.info("relay session reached its duration limit")
        if let transcriber {
            _ = try? await transcriber.stop()  // the forwarder closes with 4408 after the last event
        } else {
            await close(code: TranscriptionRelay.CloseCode.sessionTimeLimit, reason: "session_time_limit")
        }
    }

    private func write(_ text: String) async {
        guard !state.withLock({ $0.closed }) else { return }
        try? await outbound.write(.text(text))
    }

    private func close(code: UInt16, reason: String) async {
        let first = state.withLock { state in
            defer { state.closed = true }
            return !state.closed
        }
        guard first else { return }
        try? await outbound.close(WebSocketErrorCode(codeNumber: Int(code)), reason: reason)
    }
}
