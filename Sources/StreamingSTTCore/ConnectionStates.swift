import StreamingSTTSupport

/// The connection state of a transcriber, for readers that do not read its events: the current
/// value, and a sequence per subscriber that starts with it. Each subscriber's sequence keeps only
/// the newest state it has not read (a slow reader skips states, never blocks the transcriber or
/// holds more than one), and finishes after ``ConnectionState/ended(_:)``.
final class ConnectionStateBroadcast: Sendable {
    private struct State {
        var current = ConnectionState.idle
        var subscribers: [Int: AsyncStream<ConnectionState>.Continuation] = [:]
        var nextID = 0
        var finished = false
    }

    private let state = LockedState(State())

    /// The current state.
    var current: ConnectionState { state.withLock { $0.current } }

    /// A sequence of the states from now on: the current one first.
    func subscribe() -> AsyncStream<ConnectionState> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: ConnectionState.self, bufferingPolicy: .bufferingNewest(1))
        let finished = state.withLock { state -> Bool in
            continuation.yield(state.current)
            guard !state.finished else { return true }
            let id = state.nextID
            state.nextID += 1
            state.subscribers[id] = continuation
            continuation.onTermination = { [weak self] _ in
                self?.state.withLock { _ = $0.subscribers.removeValue(forKey: id) }
            }
            return false
        }
        // Outside the lock: finishing runs `onTermination`, which takes it.
        if finished { continuation.finish() }
        return stream
    }

    /// Sets the state; subscribers see it unless it is the current one. After
    /// ``ConnectionState/ended(_:)`` nothing changes any more and every sequence finishes.
    func publish(_ new: ConnectionState) {
        let ending = state.withLock { state -> [AsyncStream<ConnectionState>.Continuation] in
            guard !state.finished, new != state.current else { return [] }
            state.current = new
            // Yielding under the lock keeps every subscriber's order (a new subscriber sees the
            // current state once); it never runs `onTermination`.
            for continuation in state.subscribers.values { continuation.yield(new) }
            guard new.isEnded else { return [] }
            state.finished = true
            defer { state.subscribers.removeAll() }
            return Array(state.subscribers.values)
        }
        for continuation in ending { continuation.finish() }
    }

    /// Finishes every sequence without a further state (the transcriber was released unstarted).
    func finish() {
        let ending = state.withLock { state -> [AsyncStream<ConnectionState>.Continuation] in
            state.finished = true
            defer { state.subscribers.removeAll() }
            return Array(state.subscribers.values)
        }
        for continuation in ending { continuation.finish() }
    }
}
