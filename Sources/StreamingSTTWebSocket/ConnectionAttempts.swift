import StreamingSTTSupport

/// Connection attempts to each address of a host in turn, in the spirit of RFC 8305
/// ("Happy Eyeballs"): the next address is tried when the previous attempt has failed or, when
/// attempts may overlap, after ``attemptDelay`` without reaching its peer.
///
/// Once an attempt has reached its peer (TCP is up, and TLS or the request has begun; the attempt
/// says so with ``ConnectionAttempt/reachedPeer()``), no further attempt starts, the others are
/// abandoned, and that attempt's outcome is the race's: the request and its credentials go to one
/// address only, however slow its handshake. Before that, the first attempt to succeed wins and
/// any other that succeeds is discarded.
///
/// An attempt that fails in a way that says nothing about the other addresses (the server
/// rejected the handshake, TLS failed, the loop is shut down) ends the race with its error. When
/// every address has failed, the error of the last attempt to end is reported.
package enum ConnectionAttempts {
    /// RFC 8305's recommended connection attempt delay.
    package static let attemptDelay: Duration = .milliseconds(250)

    /// Races `attempt` over `addresses` (tried in their order).
    ///
    /// - Parameters:
    ///   - overlapping: start the next attempt after `attemptDelay` when the previous one has
    ///     neither ended nor reached its peer; `false` starts it only once the previous one has
    ///     failed.
    ///   - attempt: connects to one address; it ends by the caller's deadline, when its task is
    ///     cancelled and when its ``ConnectionAttempt`` is abandoned.
    ///   - discard: releases a value whose attempt succeeded after another had won.
    package static func race<Value: Sendable>(
        addresses: [String],
        overlapping: Bool,
        attemptDelay: Duration = attemptDelay,
        attempt:
            @escaping @Sendable (_ address: String, _ control: ConnectionAttempt) async -> Result<
                Value, WebSocketError
            >,
        discard: @escaping @Sendable (Value) async -> Void
    ) async -> Result<Value, WebSocketError> {
        guard !addresses.isEmpty else { return .failure(WebSocketError(.dnsFailure, detail: "no address")) }
        return await withTaskGroup(of: AttemptEvent<Value>.self) { group in
            var controls: [ConnectionAttempt] = []
            var running = 0
            var committed: Int?
            var outcome: Result<Value, WebSocketError>?
            var winner: Int?
            var ended: Set<Int> = []
            var startsNext = true
            while outcome == nil {
                if startsNext, committed == nil, controls.count < addresses.count {
                    let index = controls.count
                    let address = addresses[index]
                    let control = ConnectionAttempt()
                    controls.append(control)
                    running += 1
                    group.addTask {
                        let result = await attempt(address, control)
                        control.end()
                        return .ended(index, result)
                    }
                    group.addTask { .reached(index, await control.waitUntilReachedOrEnded()) }
                    if overlapping, index + 1 < addresses.count {
                        group.addTask {
                            do { try await Task.sleep(for: attemptDelay) } catch { return .delayCancelled }
                            return .delayElapsed(afterAttempt: index)
                        }
                    }
                }
                startsNext = false
                guard let event = await group.next() else { break }
                switch event {
                case .ended(let index, .success(let value)):
                    outcome = .success(value)
                    winner = index
                case .ended(let index, .failure(let error)):
                    running -= 1
                    ended.insert(index)
                    if let committed, committed != index { break }  // abandoned
                    // An attempt that reached its peer is final even if the race has not heard it
                    // yet: its `reached` event can come after its end (its task is scheduled later
                    // on a loaded machine). Trying the next address then, and committing to this
                    // ended attempt when `reached` came, ended the race without an outcome.
                    if committed == index || controls[index].hasReachedPeer || !error.triesNextAddress {
                        outcome = .failure(error)
                    } else if controls.count < addresses.count {
                        startsNext = true
                    } else if running == 0 {
                        outcome = .failure(error)
                    }
                case .reached(let index, true) where committed == nil && !ended.contains(index):
                    committed = index
                    for (other, control) in controls.enumerated() where other != index { control.abandon() }
                case .reached:
                    break
                case .delayElapsed(let index):
                    // Only the delay of the latest attempt counts; older ones were overtaken by a failure.
                    // One that reached its peer (its `reached` event not yet heard) starts no other.
                    startsNext = index == controls.count - 1 && !controls[index].hasReachedPeer
                case .delayCancelled:
                    break
                }
            }
            group.cancelAll()
            for (index, control) in controls.enumerated() where index != winner { control.abandon() }
            while let event = await group.next() {
                if case .ended(_, .success(let value)) = event { await discard(value) }
            }
            return outcome ?? .failure(WebSocketError(.cancelled))
        }
    }
}

/// One attempt of ``ConnectionAttempts/race(addresses:overlapping:attemptDelay:attempt:discard:)``,
/// as the attempt sees it: it reports reaching its peer, and learns that it was abandoned.
package final class ConnectionAttempt: Sendable {
    private struct State {
        var reachedPeer = false
        var abandoned = false
        var onAbandon: (@Sendable () -> Void)?
    }

    private let state = LockedState(State())
    /// Finished when the attempt reaches its peer or ends.
    private let progress = HandOffQueue<Never, Never>()

    package init() {}

    /// Says that the connection has reached its peer: no further attempt is started, and the
    /// others are abandoned.
    package func reachedPeer() {
        state.withLock { $0.reachedPeer = true }
        progress.finish()
    }

    /// Runs `body` when the attempt is abandoned (at once if it was already).
    package func onAbandon(_ body: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state -> Bool in
            if state.abandoned { return true }
            state.onAbandon = body
            return false
        }
        if runNow { body() }
    }

    /// Whether the attempt was abandoned.
    package var isAbandoned: Bool { state.withLock { $0.abandoned } }

    /// Whether the attempt has reached its peer, as it said with ``reachedPeer()``.
    var hasReachedPeer: Bool { state.withLock { $0.reachedPeer } }

    func abandon() {
        let body = state.withLock { state -> (@Sendable () -> Void)? in
            guard !state.abandoned else { return nil }
            state.abandoned = true
            defer { state.onAbandon = nil }
            return state.onAbandon
        }
        body?()
    }

    func end() { progress.finish() }

    /// Whether the attempt reached its peer (`false`: it ended first).
    func waitUntilReachedOrEnded() async -> Bool {
        _ = await progress.waitUntilFinished()
        return state.withLock { $0.reachedPeer }
    }
}

extension ConnectionAttempt {
    /// Ties the attempt to `channel`: abandoning the attempt aborts the connection, and the
    /// connection reaching its peer is reported. Returns when it has reached its peer or ended.
    func follow(_ channel: WebSocketChannel) async {
        onAbandon { channel.abort() }
        if await channel.waitUntilPeerReached() { reachedPeer() }
    }
}

/// What a task of ``ConnectionAttempts/race(addresses:overlapping:attemptDelay:attempt:discard:)`` reports.
private enum AttemptEvent<Value: Sendable>: Sendable {
    case ended(Int, Result<Value, WebSocketError>)
    case reached(Int, Bool)
    case delayElapsed(afterAttempt: Int)
    case delayCancelled
}

extension WebSocketError {
    /// Whether a connection attempt that failed with this error leaves hope for another address
    /// of the same host: the TCP connect failed (refused, unreachable) or the attempt ran out of time.
    var triesNextAddress: Bool {
        switch code {
        case .connectionRefused, .connectTimeout: true
        default: false
        }
    }
}
