/// Why a `StreamingTranscriber` moved to a new session of the service.
public enum ReconnectionReason: Sendable, Hashable {
    /// The session failed with a retryable error (the connection dropped, the service closed with
    /// a retryable code, a handshake answered 429 or 5xx, …).
    case failure(TranscriptionError)
    /// The session was about to reach its known limit (AssemblyAI `expires_at`, or
    /// ``ReconnectionPolicy/maximumSessionDuration``), so a new one took over without a gap.
    case rollover
}

/// The transcriber lost its session (or is about to replace it) and is opening a new one.
///
/// Audio sent meanwhile is kept (up to ``ReconnectionPolicy/replayBufferDuration``) and sent to
/// the new session. ``TranscriptEvent/reconnected(_:)`` follows when the new session started;
/// ``TranscriptEvent/error(_:)`` ends the events when the transcriber gives up.
public struct Reconnecting: Sendable, Hashable {
    /// Why.
    public var reason: ReconnectionReason
    /// The number of the session that ended or is being replaced (the first session is 0).
    public var sessionIndex: Int
    /// The id the service gave that session.
    public var sessionID: String
    /// The attempt about to be made (1 for the first attempt after a failure).
    public var attempt: Int
    /// How long the transcriber waits before this attempt (backoff with jitter).
    public var delay: Duration

    /// Creates a reconnecting notice.
    public init(reason: ReconnectionReason, sessionIndex: Int, sessionID: String, attempt: Int, delay: Duration) {
        self.reason = reason
        self.sessionIndex = sessionIndex
        self.sessionID = sessionID
        self.attempt = attempt
        self.delay = delay
    }
}

/// A new session of the service took over.
///
/// From here on, events come from ``session`` (their ``Transcript/sessionIndex`` is
/// ``sessionIndex``); their times keep counting from the start of the audio of the first session,
/// and AssemblyAI turn orders keep going up.
public struct Reconnected: Sendable, Hashable {
    /// Why.
    public var reason: ReconnectionReason
    /// The number of the new session (the first session is 0).
    public var sessionIndex: Int
    /// What the new session's first message said (its ``TranscriptEvent/begin(_:)`` is not
    /// delivered: this event takes its place).
    public var session: SessionInfo
    /// Attempts it took (1 when the first one succeeded).
    public var attempts: Int
    /// Where the new session's audio starts, in seconds from the start of the audio.
    public var audioOffset: Double
    /// Seconds of audio sent again to the new session: audio the old session had not finalized,
    /// and audio sent while there was no session.
    public var replayedAudio: Double
    /// Seconds of audio that neither session transcribes: what did not fit in the replay buffer.
    /// Zero when nothing was lost.
    public var lostAudio: Double

    /// Creates a reconnected notice.
    public init(
        reason: ReconnectionReason, sessionIndex: Int, session: SessionInfo, attempts: Int, audioOffset: Double,
        replayedAudio: Double, lostAudio: Double
    ) {
        self.reason = reason
        self.sessionIndex = sessionIndex
        self.session = session
        self.attempts = attempts
        self.audioOffset = audioOffset
        self.replayedAudio = replayedAudio
        self.lostAudio = lostAudio
    }
}
