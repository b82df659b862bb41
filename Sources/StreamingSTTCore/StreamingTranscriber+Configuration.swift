import CoreMetrics
import StreamingSTTWebSocket
import Tracing

extension StreamingTranscriber.Configuration {
    /// WebSocket keepalive: a ping every `pingInterval`; no pong within `pongTimeout` fails the
    /// connection with a retryable `connectionLost` (`.disabled`, or
    /// `.enabled(pingInterval:pongTimeout:)`). Messages from the service are no answer: a service
    /// that stopped reading is detected within `pingInterval + pongTimeout` (plus a moment), even
    /// while it still sends or the sender waits on the send queue or on acknowledgements.
    public typealias Keepalive = WebSocketConfiguration.Keepalive
}

extension StreamingTranscriber {
    /// Session settings that do not belong to a vendor.
    public struct Configuration: Sendable {
        /// DNS, TCP, TLS and the WebSocket handshake together.
        public var connectTimeout: Duration
        /// From the handshake to `Begin` / `RecognitionStarted` (a large Speechmatics vocabulary
        /// can delay the start by up to 15 s).
        public var startTimeout: Duration
        /// From the end message to `Termination` / `EndOfTranscript`, plus the audio the service
        /// had not transcribed yet (audio sent faster than real time takes it that long), and at
        /// least this long after the service's last message.
        public var stopTimeout: Duration
        /// How long the sender waits for Speechmatics acknowledgements before giving up.
        public var acknowledgementTimeout: Duration
        /// Audio is sent in chunks of this duration (AssemblyAI allows 50–1000 ms per message and
        /// recommends 50; the last chunk may be up to twice as long).
        public var audioChunkDuration: Duration
        /// TLS settings (extra trusted CAs for a private endpoint or an emulator).
        public var tls: TLSConfiguration
        /// WebSocket keepalive (Speechmatics asks for a ping timeout of at least 60 s).
        public var keepalive: Keepalive
        /// The bound of the WebSocket send queue.
        public var maxQueuedOutboundBytes: Int
        /// The largest message accepted from the service.
        public var maxMessageSize: Int
        /// Also deliver every vendor message as ``/StreamingSTTProtocol/TranscriptEvent/raw(_:)``
        /// (empty finals included).
        public var deliversRawMessages: Bool
        /// Reconnection after retryable failures and rollover before session limits; `nil` (the
        /// default) ends the transcriber with the first failure.
        public var reconnection: ReconnectionPolicy?
        /// Supplies the credentials of each session, replacing the provider's (for example a
        /// fresh temporary token per session, since an AssemblyAI token opens one session only).
        public var credentials: SessionCredentials?
        /// The loop that services the connection.
        public var eventLoop: WebSocketEventLoop
        /// Send the key or token over `ws://` to a host that is not loopback. Off by default: a
        /// session that would present a credential unencrypted to another machine fails at
        /// `start()` (or when a later session opens) with
        /// ``/StreamingSTTProtocol/TranscriptionError/Code/invalidConfiguration`` before anything
        /// is sent. Loopback (`localhost`, `127.0.0.0/8`, `::1`) and `wss://` need no permission;
        /// turn this on only for a network you trust end to end (an on-premises container on a
        /// private link).
        public var allowsCredentialsOverCleartext: Bool
        /// Multichannel audio: one label per channel, in the order the channels are interleaved
        /// (a stereo call: `["agent", "caller"]`). Each channel is transcribed on its own and its
        /// transcripts carry its label (`Transcript.channel`); ``StreamingTranscriber/wireFormat``
        /// then has this many channels, and audio is never mixed down. Speechmatics: channel
        /// diarization with these labels (`channel_and_speaker` when the options ask for speakers;
        /// they replace the options' own labels). AssemblyAI, which has no multichannel protocol:
        /// one session per channel, their events merged. Empty (the default): one channel. See
        /// `Docs/Channels.md`.
        public var channelLabels: [String] = []
        /// Where the session's metrics go (swift-metrics): `nil` (the default) uses
        /// `MetricsSystem.factory` when the transcriber is created (a `withMetricsFactory` scope's,
        /// or the global one, which records nothing until the program bootstraps a backend). Give a
        /// factory to keep a tenant's sessions apart, or in tests. Every name, dimension and unit
        /// is in `Docs/Observability.md`; no dimension holds a key, a token or transcript text.
        public var metricsFactory: (any MetricsFactory)?
        /// Where the session's spans go (swift-distributed-tracing): `nil` (the default) uses the
        /// tracer `InstrumentationSystem` gives the task that calls `start()` (a `withTracer`
        /// scope, the bootstrapped one, or none). A span `stt.session` per transcription, child of
        /// that task's `ServiceContext`, and `stt.connect` per connection attempt; see
        /// `Docs/Observability.md`.
        public var tracer: (any Tracer)?
        /// The transcript lag (how far the newest final's end trails the audio sent, see
        /// ``/StreamingSTTProtocol/SessionStatistics/transcriptLag``) above which the session
        /// delivers ``/StreamingSTTProtocol/TranscriptEvent/lagging(_:)``: once each time the lag
        /// goes above it, again after it came back to it or below. `nil` (the default): no
        /// warning. The lag includes the turn in progress (AssemblyAI finals end turns) and
        /// silence after the last word, so choose a bound above the longest turn or pause you
        /// expect, and send audio in real time (audio sent faster shows as lag).
        public var transcriptLagWarning: Duration?

        /// Creates a configuration; every argument has a default.
        public init(
            connectTimeout: Duration = .seconds(10),
            startTimeout: Duration = .seconds(20),
            stopTimeout: Duration = .seconds(10),
            acknowledgementTimeout: Duration = .seconds(120),
            audioChunkDuration: Duration = .milliseconds(50),
            tls: TLSConfiguration = .init(),
            keepalive: Keepalive = .enabled(
                pingInterval: .seconds(30), pongTimeout: .seconds(60)),
            maxQueuedOutboundBytes: Int = 256 << 10,
            maxMessageSize: Int = 4 << 20,
            deliversRawMessages: Bool = false,
            reconnection: ReconnectionPolicy? = nil,
            credentials: SessionCredentials? = nil,
            eventLoop: WebSocketEventLoop = .shared,
            allowsCredentialsOverCleartext: Bool = false,
            metricsFactory: (any MetricsFactory)? = nil,
            tracer: (any Tracer)? = nil,
            transcriptLagWarning: Duration? = nil
        ) {
            self.transcriptLagWarning = transcriptLagWarning
            self.connectTimeout = connectTimeout
            self.startTimeout = startTimeout
            self.stopTimeout = stopTimeout
            self.acknowledgementTimeout = acknowledgementTimeout
            self.audioChunkDuration = audioChunkDuration
            self.tls = tls
            self.keepalive = keepalive
            self.maxQueuedOutboundBytes = maxQueuedOutboundBytes
            self.maxMessageSize = maxMessageSize
            self.deliversRawMessages = deliversRawMessages
            self.reconnection = reconnection
            self.credentials = credentials
            self.eventLoop = eventLoop
            self.allowsCredentialsOverCleartext = allowsCredentialsOverCleartext
            self.metricsFactory = metricsFactory
            self.tracer = tracer
        }
    }
}

/// Supplies the credentials of each session a ``StreamingTranscriber`` opens: the first one and
/// every one after a reconnection or rollover.
///
/// ```swift
/// configuration.credentials = SessionCredentials { _ in
///     .temporaryToken(try await AssemblyAI.createTemporaryToken(apiKey: key))
/// }
/// ```
///
/// A ``/StreamingSTTProtocol/TranscriptionError`` thrown here keeps its code and
/// ``/StreamingSTTProtocol/TranscriptionError/isRetryable``; any other error becomes a retryable
/// `tokenRequestFailed` (its text is not kept, in case it holds a secret).
public struct SessionCredentials: Sendable {
    let make: @Sendable (_ sessionIndex: Int) async throws -> Credentials

    /// Creates a supplier; it is given the session's number (0 for the first).
    public init(_ make: @escaping @Sendable (_ sessionIndex: Int) async throws -> Credentials) {
        self.make = make
    }
}
