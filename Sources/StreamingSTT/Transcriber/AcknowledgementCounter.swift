/// The highest audio acknowledgement of one session (Speechmatics `AudioAdded.seq_no`).
///
/// Advanced on the event loop's thread by the connection's inbound filter (the plain
/// acknowledgements, one per audio chunk, never wake the reading task) or after decoding (any other
/// form), and read by the sender, which waits here when the acknowledgement window is full.
final class AcknowledgementCounter: Sendable {
    private struct State {
        var value = 0
        var lastAdvance: ContinuousClock.Instant?
        var waiter: (threshold: Int, wake: @Sendable () -> Void)?
    }

    private let state = LockedState(State())
    private let scanner: AcknowledgementScanner

    /// Creates a counter that reads acknowledgements with the vendor's `scanner`.
    init(scanner: @escaping AcknowledgementScanner) {
        self.scanner = scanner
    }

    /// The highest sequence number acknowledged so far (0 before the first).
    var value: Int { state.withLock { $0.value } }

    /// When the count last went up.
    var lastAdvance: ContinuousClock.Instant? { state.withLock { $0.lastAdvance } }

    /// Raises the count to `sequence` (never lowers it), waking a sender waiting past it.
    func advance(to sequence: Int) {
        let now = ContinuousClock.now
        let wake = state.withLock { state -> (@Sendable () -> Void)? in
            if sequence > state.value {
                state.value = sequence
                state.lastAdvance = now
            }
            guard let waiter = state.waiter, state.value > waiter.threshold else { return nil }
            state.waiter = nil
            return waiter.wake
        }
        wake?()
    }

    /// Calls `wake` once, when the count goes past `threshold` (at once if it already has).
    /// Replaces a wake set before.
    func wake(past threshold: Int, _ wake: @escaping @Sendable () -> Void) {
        let now = state.withLock { state -> Bool in
            if state.value > threshold { return true }
            state.waiter = (threshold, wake)
            return false
        }
        if now { wake() }
    }

    /// Drops the wake set by ``wake(past:_:)``, if it has not been called.
    func cancelWake() {
        state.withLock { $0.waiter = nil }
    }

    /// Counts `bytes` if they are a plain acknowledgement; `false` for any other message.
    func consume(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let sequence = scanner(bytes) else { return false }
        advance(to: sequence)
        return true
    }
}
