/// How a `StreamingTranscriber` survives the end of a session: reconnection after retryable
/// failures, and rollover before a known session limit. Off unless set in
/// `StreamingTranscriber.Configuration.reconnection`.
///
/// ```swift
/// var configuration = StreamingTranscriber.Configuration()
/// configuration.reconnection = ReconnectionPolicy(maxAttempts: 8, replayBufferDuration: .seconds(20))
/// ```
///
/// - A retryable failure (``TranscriptionError/isRetryable``: the connection dropped, a retryable
///   close code, a handshake answered 429 or 5xx, a timeout) opens a new session after a backoff
///   with jitter; a failure that is not retryable (bad key, bad configuration, no funds) ends the
///   transcriber at once, as does running out of attempts. A session that fails before it was
///   up for ``stableSessionDuration`` and before it produced a transcript counts as a failed
///   attempt, so a service that accepts and at once closes is not retried forever.
/// - Audio not yet finalized, and audio sent while there is no session, is kept (at most
///   ``replayBufferDuration``) and sent to the new session first; what does not fit is dropped and
///   reported in ``Reconnected/lostAudio``.
/// - Before a known limit (AssemblyAI `Begin.expires_at`; ``maximumSessionDuration``; the
///   vendors' own maximum of 3 h for AssemblyAI and 48 h for Speechmatics), a new session is
///   started ``rolloverLeadTime`` ahead, audio moves to it at the next end of turn (or half-way
///   through the lead time), and the old one is ended gracefully so that all its finals arrive.
///
/// AssemblyAI refuses audio sent faster than real time, so audio replayed to a new AssemblyAI
/// session goes at most ``replayBurst`` ahead of real time: after an outage the transcript lags
/// the live audio by what was replayed (at most ``replayBufferDuration``).
public struct ReconnectionPolicy: Sendable, Hashable {
    /// Consecutive failed attempts before the transcriber gives up and reports the last error.
    public var maxAttempts: Int
    /// The wait before the first attempt.
    public var initialDelay: Duration
    /// The longest wait between attempts.
    public var maxDelay: Duration
    /// Each wait is this many times the previous one.
    public var multiplier: Double
    /// Each wait is moved at random by up to this fraction of itself (0…1), so that many
    /// clients do not come back at the same moment.
    public var jitter: Double
    /// A session up for this long (or that produced a transcript) is healthy: the attempt count
    /// starts again from zero when it fails.
    public var stableSessionDuration: Duration
    /// The most audio kept for replay; what does not fit is dropped and counted.
    public var replayBufferDuration: Duration
    /// How far ahead of real time audio replayed to a new AssemblyAI session may go (the service
    /// closes a session that receives audio faster than real time).
    public var replayBurst: Duration
    /// Start the next session this long before the current one reaches its limit.
    public var rolloverLeadTime: Duration
    /// The longest session to allow before rolling over, when shorter than the vendor's limit.
    public var maximumSessionDuration: Duration?

    /// Creates a policy; every argument has a default.
    public init(
        maxAttempts: Int = 6,
        initialDelay: Duration = .milliseconds(500),
        maxDelay: Duration = .seconds(15),
        multiplier: Double = 2,
        jitter: Double = 0.25,
        stableSessionDuration: Duration = .seconds(10),
        replayBufferDuration: Duration = .seconds(15),
        replayBurst: Duration = .milliseconds(500),
        rolloverLeadTime: Duration = .seconds(30),
        maximumSessionDuration: Duration? = nil
    ) {
        self.maxAttempts = maxAttempts
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.multiplier = multiplier
        self.jitter = jitter
        self.stableSessionDuration = stableSessionDuration
        self.replayBufferDuration = replayBufferDuration
        self.replayBurst = replayBurst
        self.rolloverLeadTime = rolloverLeadTime
        self.maximumSessionDuration = maximumSessionDuration
    }

    /// The wait before attempt `attempt` (from 1), with jitter drawn from `random` (0…1).
    package func delay(beforeAttempt attempt: Int, random: Double) -> Duration {
        let ceiling = maxDelay.inSeconds
        var base = initialDelay.inSeconds
        for _ in 1..<max(1, attempt) where base < ceiling { base *= max(1, multiplier) }
        let capped = min(base, ceiling)
        let spread = capped * min(max(jitter, 0), 1) * (random * 2 - 1)
        return .nanoseconds(Int64(max(0, capped + spread) * 1e9))
    }

    /// Checks the values.
    package func validate(provider: ProviderKind) throws(TranscriptionError) {
        func invalid(_ reason: String) -> TranscriptionError {
            TranscriptionError(.invalidConfiguration, provider: provider, reason: "reconnection: " + reason)
        }
        if maxAttempts < 1 { throw invalid("maxAttempts must be at least 1") }
        if initialDelay < .zero || maxDelay < .zero { throw invalid("delays must not be negative") }
        if !(0...1).contains(jitter) { throw invalid("jitter must be between 0 and 1") }
        if replayBufferDuration < .zero { throw invalid("replayBufferDuration must not be negative") }
        if replayBurst < .zero { throw invalid("replayBurst must not be negative") }
        if rolloverLeadTime <= .zero { throw invalid("rolloverLeadTime must be above 0") }
        if let maximumSessionDuration, maximumSessionDuration <= rolloverLeadTime {
            throw invalid("maximumSessionDuration must be longer than rolloverLeadTime")
        }
    }
}
