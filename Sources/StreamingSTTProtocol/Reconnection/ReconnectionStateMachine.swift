/// The decisions of a ``ReconnectionPolicy``, as a pure state machine: whether a lost session is
/// replaced and after how long, when to give up, when to start the next session of a rollover and
/// when the audio must move to it, and how fast audio may be replayed. The driver passes the time
/// in and executes the decisions.
package struct ReconnectionStateMachine: Sendable {
    /// What to do after a failure.
    package enum Decision: Sendable, Equatable {
        /// Open a new session after `delay`; this is attempt `attempt` since the last healthy one.
        case reconnect(attempt: Int, delay: Duration)
        /// Stop trying: the transcriber fails with this error.
        case giveUp(TranscriptionError)
    }

    /// When a rollover happens.
    package struct RolloverSchedule: Sendable, Equatable {
        /// When to start opening the next session.
        package var start: ContinuousClock.Instant
        /// The session's limit: the audio must have moved before it.
        package var limit: ContinuousClock.Instant
    }

    /// The policy.
    package let policy: ReconnectionPolicy
    /// Failed sessions and attempts since the last healthy session.
    package private(set) var failuresInARow = 0

    /// Creates the machine of a transcriber with this policy.
    package init(policy: ReconnectionPolicy) {
        self.policy = policy
    }

    // MARK: - Reconnection

    /// The session receiving the audio failed with `error`. A session that produced a transcript,
    /// or had been started for ``ReconnectionPolicy/stableSessionDuration``, was healthy: the count
    /// of failures starts again. `random` (0…1) draws the jitter.
    package mutating func sessionLost(
        _ error: TranscriptionError, producedTranscript: Bool, startedAt: ContinuousClock.Instant?,
        now: ContinuousClock.Instant, random: Double
    ) -> Decision {
        guard error.isRetryable else { return .giveUp(error) }
        let healthy = producedTranscript || (startedAt.map { now - $0 >= policy.stableSessionDuration } ?? false)
        if healthy { failuresInARow = 0 }
        failuresInARow += 1
        return nextAttempt(after: error, random: random)
    }

    /// An attempt to open a replacement session failed with `error`.
    package mutating func attemptFailed(_ error: TranscriptionError, random: Double) -> Decision {
        guard error.isRetryable else { return .giveUp(error) }
        failuresInARow += 1
        return nextAttempt(after: error, random: random)
    }

    /// The next attempt, waiting at least what the vendor asks for after `error`.
    private func nextAttempt(after error: TranscriptionError, random: Double) -> Decision {
        guard failuresInARow <= policy.maxAttempts else {
            var error = error
            error.reason = "gave up after \(policy.maxAttempts) attempts to reconnect: " + error.reason
            return .giveUp(error)
        }
        let delay = max(
            policy.delay(beforeAttempt: failuresInARow, random: random), error.minimumRetryDelay ?? .zero)
        return .reconnect(attempt: failuresInARow, delay: delay)
    }

    // MARK: - Rollover

    /// When to roll over a session connected at `connectedAt`: before the vendor's limit, the
    /// policy's ``ReconnectionPolicy/maximumSessionDuration``, or the time the service said the
    /// session expires (`expiresIn` from `now`), whichever comes first, by
    /// ``ReconnectionPolicy/rolloverLeadTime``.
    package func rolloverSchedule(
        connectedAt: ContinuousClock.Instant, vendorLimit: Duration, expiresIn: Duration?,
        now: ContinuousClock.Instant
    ) -> RolloverSchedule {
        var limit = connectedAt + min(vendorLimit, policy.maximumSessionDuration ?? vendorLimit)
        if let expiresIn { limit = min(limit, now + max(.zero, expiresIn)) }
        return RolloverSchedule(start: limit - policy.rolloverLeadTime, limit: limit)
    }

    /// The wait before rollover attempt `attempt` (from 1): none before the first.
    package func rolloverDelay(beforeAttempt attempt: Int, random: Double) -> Duration {
        attempt <= 1 ? .zero : policy.delay(beforeAttempt: attempt - 1, random: random)
    }

    /// Whether to try again after rollover attempt `attempt` failed with `error`.
    package func retriesRollover(after error: TranscriptionError, attempt: Int) -> Bool {
        error.isRetryable && attempt < policy.maxAttempts
    }

    /// The latest moment the audio moves to the next session (at a turn boundary before that):
    /// half the lead time before the limit, or now if that has passed.
    package func switchDeadline(
        limit: ContinuousClock.Instant, now: ContinuousClock.Instant
    )
        -> ContinuousClock.Instant
    {
        max(now, limit - policy.rolloverLeadTime / 2)
    }

    // MARK: - Replay pace

    /// How long to wait before `seconds` of audio in all may have gone to a session connected
    /// `elapsed` ago, when the vendor refuses audio faster than real time: replayed audio runs at
    /// most ``ReconnectionPolicy/replayBurst`` ahead of real time. Zero when it may go now.
    package func replayDelay(audioSeconds seconds: Double, elapsed: Duration) -> Duration {
        let ahead = seconds - elapsed.inSeconds - policy.replayBurst.inSeconds
        return ahead > 0 ? .seconds(exactly: ahead) : .zero
    }
}
