/// Something that happens once (a device released, a thread finished), which tasks can await.
package final class OneShotEvent: Sendable {
    /// An event that has not happened.
    package init() {}

    private let state = LockedState<(fired: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    /// Marks the event as happened and resumes every waiter; later calls do nothing.
    package func fire() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard !state.fired else { return [] }
            state.fired = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Whether ``fire()`` was called.
    package var hasFired: Bool { state.withLock { $0.fired } }

    /// Returns once the event has happened.
    package func wait() async {
        await withCheckedContinuation { continuation in
            let fired = state.withLock { state -> Bool in
                if !state.fired { state.waiters.append(continuation) }
                return state.fired
            }
            if fired { continuation.resume() }
        }
    }
}
