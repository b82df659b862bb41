import StreamingSTTSupport

/// The highest audio acknowledgement of one session (Speechmatics `AudioAdded.seq_no`).
///
/// Advanced on the event loop's thread by the connection's inbound filter (the plain
/// acknowledgements, one per audio chunk, never wake the reading task) or after decoding (any other
/// form), and read by the sender, which waits here when the acknowledgement window is full.
final class AcknowledgementCounter: Sendable {
    private struct State {
        var value = 0
        var lastAdvance: ContinuousClock.Instant?
        var waiter: (target: Int, continuation: CheckedContinuation<Void, Never>)?
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

    /// Raises the count to `sequence` (never lowers it), waking a task waiting for it.
    func advance(to sequence: Int) {
        let now = ContinuousClock.now
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if sequence > state.value {
                state.value = sequence
                state.lastAdvance = now
            }
            guard let waiter = state.waiter, state.value >= waiter.target else { return nil }
            state.waiter = nil
            return waiter.continuation
        }
        waiter?.resume()
    }

    /// Returns once the count has reached `target`, or the task is cancelled. One task waits at a
    /// time (the sender, which holds the send lock).
    func reached(_ target: Int) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = state.withLock { state -> Bool in
                    if state.value >= target || Task.isCancelled { return true }
                    state.waiter = (target, continuation)
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter?.continuation
            }
            waiter?.resume()
        }
    }

    /// Counts `bytes` if they are a plain acknowledgement; `false` for any other message.
    func consume(_ bytes: Span<UInt8>) -> Bool {
        guard let sequence = scanner(bytes) else { return false }
        advance(to: sequence)
        return true
    }
}
