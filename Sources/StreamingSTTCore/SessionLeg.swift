import StreamingSTTWebSocket

/// One session of the service inside a ``StreamingTranscriber``: a connection, the session's
/// protocol machine, and where the session stands in the whole stream. Without reconnection a
/// transcriber has one; with it, a new leg replaces a failed one, and during a rollover two are
/// open for a moment. Isolated to the transcriber.
final class SessionLeg {
    /// What the transcriber does with the leg.
    enum Role {
        /// Connected, waiting for the service to start it, or started but not yet sent audio
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
    /// The vendor's protocol for this session.
    var machine: SessionStateMachine
    var role = Role.standby
    /// When the connection was made.
    let connectedAt: ContinuousClock.Instant
    /// When the service started the session.
    var startedAt: ContinuousClock.Instant?
    /// Where this session's audio time 0 is in the whole stream (bytes).
    var startPosition = 0
    /// The position up to which the stream has been sent to this session (bytes).
    var sentPosition = 0
    /// Audio acknowledgements, counted on the event loop's thread (vendors that acknowledge).
    let acknowledgements: AcknowledgementCounter?
    /// Messages received and not yet decoded.
    let received: ReceivedMessages
    /// When the last message from the service arrived (acknowledgements counted on the event
    /// loop aside).
    var lastReceivedAt: ContinuousClock.Instant?
    /// The error the leg failed with.
    var failure: TranscriptionError?
    /// The session started to take over from this one at a turn boundary (rollover).
    var successor: SessionLeg?
    /// Attempts it took to open this session for a rollover.
    var rolloverAttempts = 1
    /// Goes up each time the leg's rollover is planned or called off: a waiting rollover timer
    /// that sees it changed does nothing.
    var rolloverGeneration = 0

    init(
        index: Int, connection: WebSocketConnection, machine: SessionStateMachine,
        acknowledgements: AcknowledgementCounter?, received: ReceivedMessages, connectedAt: ContinuousClock.Instant
    ) {
        self.index = index
        self.connection = connection
        self.machine = machine
        self.acknowledgements = acknowledgements
        self.received = received
        self.connectedAt = connectedAt
    }

    /// What the service said when it started the session.
    var info: SessionInfo? { machine.info }
}
