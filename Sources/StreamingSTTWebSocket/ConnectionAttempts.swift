/// Connection attempts to each address of a host in turn, in the spirit of RFC 8305
/// ("Happy Eyeballs"): the next address is tried when the previous attempt has failed or, when
/// attempts may overlap, after ``attemptDelay`` without an answer. The first attempt that
/// succeeds wins; the others are cancelled, and any that succeeded meanwhile is discarded.
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
    ///   - overlapping: start the next attempt after `attemptDelay` even when the previous one has
    ///     not ended; `false` starts it only once the previous one has failed (for requests that
    ///     must not be sent twice).
    ///   - attempt: connects to one address; it ends by the caller's deadline and when cancelled.
    ///   - discard: releases a value whose attempt succeeded after another had won.
    package static func race<Value: Sendable>(
        addresses: [String],
        overlapping: Bool,
        attemptDelay: Duration = attemptDelay,
        attempt: @escaping @Sendable (_ address: String) async -> Result<Value, WebSocketError>,
        discard: @escaping @Sendable (Value) async -> Void
    ) async -> Result<Value, WebSocketError> {
        guard !addresses.isEmpty else { return .failure(WebSocketError(.dnsFailure, detail: "no address")) }
        return await withTaskGroup(of: AttemptEvent<Value>.self) { group in
            var started = 0
            var running = 0
            var outcome: Result<Value, WebSocketError>?
            var startsNext = true
            while outcome == nil {
                if startsNext, started < addresses.count {
                    let address = addresses[started]
                    let index = started
                    started += 1
                    running += 1
                    group.addTask { .ended(await attempt(address)) }
                    if overlapping, started < addresses.count {
                        group.addTask {
                            do { try await Task.sleep(for: attemptDelay) } catch { return .delayCancelled }
                            return .delayElapsed(afterAttempt: index)
                        }
                    }
                }
                startsNext = false
                guard let event = await group.next() else { break }
                switch event {
                case .ended(.success(let value)):
                    outcome = .success(value)
                case .ended(.failure(let error)):
                    running -= 1
                    if !error.triesNextAddress || (started == addresses.count && running == 0) {
                        outcome = .failure(error)
                    } else {
                        startsNext = true
                    }
                case .delayElapsed(let index):
                    // Only the delay of the latest attempt counts; older ones were overtaken by a failure.
                    startsNext = index == started - 1
                case .delayCancelled:
                    break
                }
            }
            group.cancelAll()
            while let event = await group.next() {
                if case .ended(.success(let value)) = event { await discard(value) }
            }
            return outcome ?? .failure(WebSocketError(.cancelled))
        }
    }
}

/// What a task of ``ConnectionAttempts/race(addresses:overlapping:attemptDelay:attempt:discard:)`` reports.
private enum AttemptEvent<Value: Sendable>: Sendable {
    case ended(Result<Value, WebSocketError>)
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
