import Foundation
import HTTPTypes
import StreamingSTTCore
import Synchronization

/// Who a client is, for limits and logs: the index of its client token, or its address when the
/// server runs without client authentication. Never the token itself.
public struct ClientIdentity: Hashable, Sendable, CustomStringConvertible {
    /// `client-1`, `client-2`… (the order of the configured tokens) or `address:127.0.0.1`.
    public let name: String
    /// Whether the client presented a valid client token.
    public let isAuthenticated: Bool

    /// The name.
    public var description: String { name }
}

/// Checks client tokens and browser origins.
struct ClientAuthenticator: Sendable {
    /// The WebSocket subprotocol prefix a browser uses to carry its token
    /// (`new WebSocket(url, ["stt.v1", "bearer." + token])`).
    static let subprotocolPrefix = "bearer."
    /// The subprotocol the server selects.
    static let subprotocol = "stt.v1"

    let tokens: [Secret]
    let allowedOrigins: [String]

    var requiresToken: Bool { !tokens.isEmpty }

    /// The token a request carries: `Authorization: Bearer …` or a `bearer.…` subprotocol.
    static func presentedToken(in headers: HTTPFields) -> String? {
        if let authorization = headers[.authorization] {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" {
                return parts[1].trimmingCharacters(in: .whitespaces)
            }
        }
        for value in headers[values: .secWebSocketProtocol] {
            for item in value.split(separator: ",") {
                let item = item.trimmingCharacters(in: .whitespaces)
                if item.hasPrefix(subprotocolPrefix) { return String(item.dropFirst(subprotocolPrefix.count)) }
            }
        }
        return nil
    }

    /// The client's identity, or `nil` when a token is required and missing or wrong.
    func identify(_ headers: HTTPFields, remoteAddress: String?) -> ClientIdentity? {
        guard requiresToken else {
            return ClientIdentity(name: "address:" + (remoteAddress ?? "unknown"), isAuthenticated: false)
        }
        guard let presented = Self.presentedToken(in: headers) else { return nil }
        var match: Int?
        for (index, token) in tokens.enumerated() where Self.constantTimeEquals(presented, token.revealedValue) {
            match = index
        }
        return match.map { ClientIdentity(name: "client-\($0 + 1)", isAuthenticated: true) }
    }

    /// Whether a browser page from the request's `Origin` may use the server: the server's own
    /// origin or one of ``RelayConfiguration/allowedOrigins``.
    ///
    /// Only browser origins (`http://…`, `https://…`, `null`) are checked: a browser always sends
    /// one and a page cannot forge it, which is what stops other sites from using a server the
    /// user can reach (cross-site WebSocket hijacking). Other clients send none, or whatever they
    /// like (`ws://host`), so for them the client token is the check.
    func originAllowed(_ headers: HTTPFields, authority: String?) -> Bool {
        for origin in headers[values: .origin] {
            let isBrowser = origin == "null" || origin.hasPrefix("http://") || origin.hasPrefix("https://")
            guard isBrowser, !allowedOrigins.contains(origin) else { continue }
            guard let authority, origin == "http://" + authority || origin == "https://" + authority else {
                return false
            }
        }
        return true
    }

    /// Compares without an early exit, so the time taken does not tell how much of a guess was right.
    static func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
        let a = Array(lhs.utf8)
        let b = Array(rhs.utf8)
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for index in 0..<max(a.count, b.count) {
            let x = index < a.count ? a[index] : 0
            let y = index < b.count ? b[index] : 0
            difference |= x ^ y
        }
        return difference == 0
    }
}

/// Counts sessions per client and in total, session starts per client per minute, and temporary
/// tokens per client per minute. A minted temporary token holds a session slot of its client for
/// its lifetime, since the relay cannot see the session it opens at the vendor.
final class SessionLimiter: Sendable {
    /// Why a session was refused, and when to try again if that is known.
    struct Refusal: Error, Equatable {
        enum Reason: Equatable {
            /// The client has ``SessionLimiter/maxSessionsPerClient`` sessions (or held slots).
            case clientLimit
            /// The server has ``SessionLimiter/maxSessions`` sessions (or held slots).
            case totalLimit
            /// The client started ``SessionLimiter/maxNewSessionsPerMinute`` sessions in the last minute.
            case sessionRate
        }

        var reason: Reason
        /// When a slot frees or the minute's window moves on; `nil` when it depends on a session ending.
        var retryAfter: Duration?
    }

    private struct State {
        var total = 0
        var perClient: [ClientIdentity: Int] = [:]
        /// When each slot held by a minted token frees, per client.
        var held: [ClientIdentity: [Duration]] = [:]
        /// The session starts (WebSocket sessions and minted tokens) of the last minute, oldest first.
        var started: [ClientIdentity: [Duration]] = [:]
        var tokensMinted: [ClientIdentity: [Duration]] = [:]

        /// Forgets the slots that have freed and the starts more than a minute old.
        mutating func expire(_ now: Duration) {
            held = held.compactMapValues { ends in
                let left = ends.filter { $0 > now }
                return left.isEmpty ? nil : left
            }
            started = started.compactMapValues { starts in
                let recent = starts.filter { now - $0 < SessionLimiter.window }
                return recent.isEmpty ? nil : recent
            }
        }
    }

    /// The window of the per-minute limits.
    static let window: Duration = .seconds(60)

    private let state = Mutex(State())
    let maxSessions: Int
    let maxSessionsPerClient: Int
    let maxNewSessionsPerMinute: Int
    let maxTokensPerMinute: Int
    let clock: any RelayClock

    init(
        maxSessions: Int, maxSessionsPerClient: Int, maxNewSessionsPerMinute: Int, maxTokensPerMinute: Int,
        clock: any RelayClock
    ) {
        self.maxSessions = maxSessions
        self.maxSessionsPerClient = maxSessionsPerClient
        self.maxNewSessionsPerMinute = maxNewSessionsPerMinute
        self.maxTokensPerMinute = maxTokensPerMinute
        self.clock = clock
    }

    /// Takes a session slot for `client`; give it back with ``release(_:)``.
    func acquire(_ client: ClientIdentity) throws(Refusal) {
        _ = try take(client, holding: nil)
    }

    /// Gives back a slot taken by ``acquire(_:)``.
    func release(_ client: ClientIdentity) {
        state.withLock { state in
            state.total -= 1
            let left = state.perClient[client, default: 1] - 1
            state.perClient[client] = left > 0 ? left : nil
        }
    }

    /// Takes a slot for a temporary token minted for `client`, freed by itself after `lifetime`;
    /// returns when, for ``cancelHold(_:until:)`` if the vendor then mints nothing.
    func hold(_ client: ClientIdentity, for lifetime: Duration) throws(Refusal) -> Duration {
        try take(client, holding: lifetime)
    }

    /// Frees at once a slot taken by ``hold(_:for:)`` (the start still counts for the minute).
    func cancelHold(_ client: ClientIdentity, until end: Duration) {
        state.withLock { state in
            guard var ends = state.held[client], let index = ends.firstIndex(of: end) else { return }
            ends.remove(at: index)
            state.held[client] = ends.isEmpty ? nil : ends
        }
    }

    private func take(_ client: ClientIdentity, holding lifetime: Duration?) throws(Refusal) -> Duration {
        let now = clock.now
        return try state.withLock { (state: inout State) throws(Refusal) -> Duration in
            state.expire(now)
            let clientHeld = state.held[client] ?? []
            if state.perClient[client, default: 0] + clientHeld.count >= maxSessionsPerClient {
                throw Refusal(reason: .clientLimit, retryAfter: clientHeld.min().map { $0 - now })
            }
            let allHeld = state.held.values.joined()
            if state.total + allHeld.count >= maxSessions {
                throw Refusal(reason: .totalLimit, retryAfter: allHeld.min().map { $0 - now })
            }
            let starts = state.started[client] ?? []
            if starts.count >= maxNewSessionsPerMinute {
                let oldest = starts[starts.count - maxNewSessionsPerMinute]
                throw Refusal(reason: .sessionRate, retryAfter: oldest + Self.window - now)
            }
            state.started[client, default: []].append(now)
            guard let lifetime else {
                state.total += 1
                state.perClient[client, default: 0] += 1
                return now
            }
            state.held[client, default: []].append(now + lifetime)
            return now + lifetime
        }
    }

    /// Sessions running now (WebSocket sessions; not the slots held by minted tokens).
    var activeSessions: Int { state.withLock { $0.total } }

    /// Records a token minted for `client`, or returns `false` when it has minted its share this minute.
    func allowToken(for client: ClientIdentity) -> Bool {
        let now = clock.now
        return state.withLock { state in
            var recent = state.tokensMinted[client, default: []].filter { now - $0 < Self.window }
            defer { state.tokensMinted[client] = recent.isEmpty ? nil : recent }
            guard recent.count < maxTokensPerMinute else { return false }
            recent.append(now)
            return true
        }
    }
}
