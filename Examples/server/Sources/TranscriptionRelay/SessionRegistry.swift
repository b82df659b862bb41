import ServiceLifecycle
import Synchronization

/// The relay sessions running now, so that a shutdown can drain them.
final class SessionRegistry: Sendable {
    private struct State {
        var sessions: [ObjectIdentifier: RelaySession] = [:]
        var draining = false
        var gaveUp = false
        var emptyWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// Whether a graceful shutdown began: no session starts any more.
    var isDraining: Bool { state.withLock { $0.draining } }

    /// Adds a session; `false` (and nothing added) once draining.
    func register(_ session: RelaySession) -> Bool {
        state.withLock { state in
            if state.draining { return false }
            state.sessions[ObjectIdentifier(session)] = session
            return true
        }
    }

    func unregister(_ session: RelaySession) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.sessions[ObjectIdentifier(session)] = nil
            guard state.sessions.isEmpty else { return [] }
            defer { state.emptyWaiters.removeAll() }
            return state.emptyWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Refuses new sessions, asks every running one to end as on `stop`, and waits until all have
    /// closed or `timeout` has passed.
    func drain(timeout: Duration) async {
        let sessions = state.withLock { state in
            state.draining = true
            return Array(state.sessions.values)
        }
        for session in sessions { session.shutDown() }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitUntilEmpty() }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
            // Timed out (or done): the sleeper ends on cancellation; a waiter still waiting is
            // released here, and the server's own shutdown that follows closes what is left.
            let waiters = self.state.withLock { state in
                state.gaveUp = true
                defer { state.emptyWaiters.removeAll() }
                return state.emptyWaiters
            }
            for waiter in waiters { waiter.resume() }
        }
    }

    private func waitUntilEmpty() async {
        await withCheckedContinuation { continuation in
            let empty = state.withLock { state -> Bool in
                if state.sessions.isEmpty || state.gaveUp { return true }
                state.emptyWaiters.append(continuation)
                return false
            }
            if empty { continuation.resume() }
        }
    }
}

/// A service that, on graceful shutdown, drains the relay's sessions before the HTTP server
/// stops: listed after the application in a `ServiceGroup` (which shuts services down in reverse
/// order), it ends every vendor session as `stop` does, so the clients get their last finals and
/// `terminated` and a close with 1001, and only then lets the server close the WebSockets.
public struct RelaySessionDrainer: Service {
    let registry: SessionRegistry
    let timeout: Duration

    /// Waits for graceful shutdown, then drains the sessions (at most `timeout`).
    public func run() async throws {
        do {
            try await gracefulShutdown()
        } catch {
            return  // cancelled: the group is not shutting down gracefully
        }
        await registry.drain(timeout: timeout)
    }
}
