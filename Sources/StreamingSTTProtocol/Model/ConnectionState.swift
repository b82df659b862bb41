/// Where a `StreamingTranscriber`'s connection to the service stands, for a caller that wants to
/// show it or act on it without reading the events (`StreamingTranscriber.connectionState` and
/// `StreamingTranscriber.connectionStates`).
///
/// A session goes `idle` → `connecting` → `open` → `stopping` → `ended`; with a
/// ``ReconnectionPolicy`` it may also go from `open` to `reconnecting` (the session was lost; the
/// audio is kept meanwhile) or `rollingOver` (the next session is being opened before a limit
/// while this one still transcribes) and back to `open`. `ended` is always the last state.
public enum ConnectionState: Sendable, Hashable {
    /// Created; `start()` has not been called.
    case idle
    /// Connecting, authenticating, or waiting for the service to start the first session.
    case connecting
    /// A session of the service receives the audio.
    case open
    /// The session was lost and a new one is being opened; `attempt` counts from 1 since the last
    /// healthy session. Audio sent meanwhile is kept for the new session.
    case reconnecting(attempt: Int)
    /// The session is about to reach its time limit: the next one is being opened, and takes the
    /// audio at a turn boundary. The current session still transcribes.
    case rollingOver
    /// `stop()` was called: the last audio and the end message went out; the last finals are on
    /// their way.
    case stopping
    /// Over: `nil` after a graceful stop, otherwise the error the session failed with (its
    /// ``TranscriptionError/Code/cancelled`` when cancelled). No state follows.
    case ended(TranscriptionError?)

    /// Whether this is the last state.
    public var isEnded: Bool {
        if case .ended = self { return true }
        return false
    }

    /// Where the transcriber's own lifecycle is (its calls and its end), for ``derive(_:)``.
    package enum Lifecycle: Sendable, Hashable {
        /// Not started.
        case idle
        /// `start()` is opening the first session.
        case connecting
        /// Started, not stopping.
        case running
        /// `stop()` is under way.
        case stopping
        /// Ended, with the error it failed with, if any.
        case ended(TranscriptionError?)
    }

    /// What the connection state is derived from.
    package struct Inputs: Sendable, Hashable {
        /// The transcriber's lifecycle.
        package var lifecycle: Lifecycle
        /// Whether the first session has started (`Begin` / `RecognitionStarted`).
        package var firstSessionStarted: Bool
        /// Whether a session receives the audio (none while reconnecting).
        package var hasActiveSession: Bool
        /// The reconnection attempt under way (0 when none).
        package var reconnectionAttempt: Int
        /// Whether the next session of a rollover is being opened or waits for the switch.
        package var rollingOver: Bool

        /// Creates the inputs.
        package init(
            lifecycle: Lifecycle, firstSessionStarted: Bool = false, hasActiveSession: Bool = false,
            reconnectionAttempt: Int = 0, rollingOver: Bool = false
        ) {
            self.lifecycle = lifecycle
            self.firstSessionStarted = firstSessionStarted
            self.hasActiveSession = hasActiveSession
            self.reconnectionAttempt = reconnectionAttempt
            self.rollingOver = rollingOver
        }
    }

    /// The connection state for `inputs`: the one place the driver's state becomes a
    /// ``ConnectionState``. Pure.
    package static func derive(_ inputs: Inputs) -> ConnectionState {
        switch inputs.lifecycle {
        case .idle: return .idle
        case .connecting: return .connecting
        case .stopping: return .stopping
        case .ended(let error): return .ended(error)
        case .running:
            guard inputs.firstSessionStarted else { return .connecting }
            guard inputs.hasActiveSession else { return .reconnecting(attempt: max(1, inputs.reconnectionAttempt)) }
            return inputs.rollingOver ? .rollingOver : .open
        }
    }

    /// The connection state of a transcription made of one session per channel (multichannel
    /// AssemblyAI), from the channels' states, in this order of precedence. Pure.
    ///
    /// - `ended` once every channel has ended: with the first channel's error that is not a
    ///   cancellation (one channel's failure cancels the others), else the first error, else `nil`.
    /// - `idle` while every channel is.
    /// - `stopping` while any channel stops, or has ended while others have not (they are ending).
    /// - `reconnecting` while any channel reconnects (the highest attempt).
    /// - `connecting` until every channel is open.
    /// - `rollingOver` while any channel rolls over; otherwise `open`.
    package static func merging(_ channels: [ConnectionState]) -> ConnectionState {
        guard !channels.isEmpty else { return .idle }
        if channels.allSatisfy(\.isEnded) {
            let errors = channels.compactMap { state -> TranscriptionError? in
                if case .ended(let error) = state { error } else { nil }
            }
            return .ended(errors.first { $0.code != .cancelled } ?? errors.first)
        }
        if channels.allSatisfy({ $0 == .idle }) { return .idle }
        if channels.contains(where: { $0 == .stopping || $0.isEnded }) { return .stopping }
        let attempts = channels.compactMap { state -> Int? in
            if case .reconnecting(let attempt) = state { attempt } else { nil }
        }
        if let attempt = attempts.max() { return .reconnecting(attempt: attempt) }
        if channels.contains(where: { $0 == .idle || $0 == .connecting }) { return .connecting }
        return channels.contains(.rollingOver) ? .rollingOver : .open
    }
}
