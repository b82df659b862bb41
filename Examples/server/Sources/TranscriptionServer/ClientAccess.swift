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

/// Counts sessions per client and in total, and temporary tokens per client per minute.
final class SessionLimiter: Sendable {
    /// Why a session was refused.
    enum Refusal: Error, Equatable {
        case clientLimit, totalLimit
    }

    private struct State {
        var total = 0
        var perClient: [ClientIdentity: Int] = [:]
        var tokensMinted: [ClientIdentity: [ContinuousClock.Instant]] = [:]
    }

    private let state = Mutex(State())
    let maxSessions: Int
    let maxSessionsPerClient: Int
    let maxTokensPerMinute: Int

    init(maxSessions: Int, maxSessionsPerClient: Int, maxTokensPerMinute: Int) {
        self.maxSessions = maxSessions
        self.maxSessionsPerClient = maxSessionsPerClient
        self.maxTokensPerMinute = maxTokensPerMinute
    }

    /// Takes a session slot for `client`; give it back with ``release(_:)``.
    func acquire(_ client: ClientIdentity) throws(Refusal) {
        try state.withLock { (state: inout State) throws(Refusal) in
            if state.perClient[client, default: 0] >= maxSessionsPerClient { throw .clientLimit }
            if state.total >= maxSessions { throw .totalLimit }
            state.total += 1
            state.perClient[client, default: 0] += 1
        }
    }

    /// Gives back a slot taken by ``acquire(_:)``.
    func release(_ client: ClientIdentity) {
        state.withLock { state in
            state.total -= 1
            let left = state.perClient[client, default: 1] - 1
            state.perClient[client] = left > 0 ? left : nil
        }
    }

    /// Sessions running now.
    var activeSessions: Int { state.withLock { $0.total } }

    /// Records a token minted for `client`, or returns `false` when it has minted its share this minute.
    func allowToken(for client: ClientIdentity, now: ContinuousClock.Instant = .now) -> Bool {
        state.withLock { state in
            var recent = state.tokensMinted[client, default: []].filter { now - $0 < .seconds(60) }
            defer { state.tokensMinted[client] = recent.isEmpty ? nil : recent }
            guard recent.count < maxTokensPerMinute else { return false }
            recent.append(now)
            return true
        }
    }
}
