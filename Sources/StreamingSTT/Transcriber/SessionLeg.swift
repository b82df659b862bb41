/// One session of the service inside a ``StreamingTranscriber``: a connection, its decoder and
/// its counters. Without reconnection a transcriber has one; with it, a new leg replaces a failed
/// one, and during a rollover two are open for a moment. Isolated to the transcriber.
final class SessionLeg {
    /// What the leg is doing.
    enum Role {
        /// Connected, waiting for `Begin` / `RecognitionStarted`, or started but not yet sent audio
        /// (a rollover's next session before the switch).
        case standby
        /// Receiving the audio.
        case active
        /// Ended by the transcriber after a rollover; its last finals are on their way.
        case draining
        /// Over.
        case ended
    }

    /// The transcriber's number for the session: 0 for the first.
    let index: Int
    let connection: WebSocketConnection
    var decoder: any SessionDecoder
    var role = Role.standby
    /// The service's description, once it started.
    var info: SessionInfo?
    /// When the connection was made.
    let connectedAt: ContinuousClock.Instant
    /// When `Begin` / `RecognitionStarted` arrived.
    var startedAt: ContinuousClock.Instant?
    /// Where this session's audio time 0 is in the whole stream (bytes).
    var startPosition = 0
    /// The position up to which the stream has been sent to this session (bytes).
    var sentPosition = 0
    /// The session's own turn numbers and the transcriber's for them (sessions after the first),
    /// so that turn orders keep going up across sessions.
    var turnMap: [Int: Int] = [:]
    /// Binary messages sent (Speechmatics sequence numbers).
    var chunksSent = 0
    /// Speechmatics `AudioAdded` acknowledgements.
    let acknowledgements: AcknowledgementCounter
    /// Messages received and not yet decoded.
    let received: ReceivedMessages
    /// The highest Speechmatics `AudioAdded.seq_no`.
    var chunksAcknowledged: Int { acknowledgements.value }
    /// Bytes of audio sent.
    var bytesSent = 0
    /// Whether the vendor's end message was sent.
    var endMessageSent = false
    /// When the last message from the service arrived (acknowledgements read on the event loop
    /// aside).
    var lastReceivedAt: ContinuousClock.Instant?
    /// The end of the latest partial or final, in this session's audio time (seconds): how far the
    /// service has transcribed.
    var transcribedUntil = 0.0
    /// Whether the session produced a partial or final (it works).
    var producedTranscript = false
    /// The error the leg failed with.
    var failure: TranscriptionError?
    /// The session started to take over from this one at a turn boundary (rollover).
    var successor: SessionLeg?
    /// Attempts it took to open this session for a rollover.
    var rolloverAttempts = 1
    /// The rollover timer.
    var rolloverTimer: Task<Void, Never>?

    init(
        index: Int, connection: WebSocketConnection, decoder: any SessionDecoder,
        acknowledgements: AcknowledgementCounter = AcknowledgementCounter(),
        received: ReceivedMessages = ReceivedMessages(), connectedAt: ContinuousClock.Instant
    ) {
        self.received = received
        self.index = index
        self.connection = connection
        self.decoder = decoder
        self.acknowledgements = acknowledgements
        self.connectedAt = connectedAt
    }
}
