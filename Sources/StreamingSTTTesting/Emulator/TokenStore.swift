import Foundation
import StreamingSTTSupport
import StreamingSTTWebSocket

/// Temporary tokens (AssemblyAI) and temporary keys (Speechmatics) issued by the emulator's token
/// endpoints: each expires, and each works for one session.
final class TokenStore: Sendable {
    struct Grant: Sendable {
        var vendor: EmulatorVendor
        /// The token must be used before this.
        var expires: ContinuousClock.Instant
        /// AssemblyAI `max_session_duration_seconds`.
        var maxSessionSeconds: Int?
        /// Speechmatics: `false` for a key minted with a `type` other than `rt`.
        var realtime: Bool
        var singleUse: Bool
        var used = false
    }

    enum Rejection: Error, Sendable, CustomStringConvertible {
        case unknown, expired, alreadyUsed, notRealtime

        var description: String {
            switch self {
            case .unknown: "not a known key or token"
            case .expired: "an expired temporary token"
            case .alreadyUsed: "a temporary token that was already used"
            case .notRealtime: "a temporary key that was not created for real-time (type=rt)"
            }
        }
    }

    private let grants = LockedState<[String: Grant]>([:])
    private static let capacity = 10_000

    /// Issues a token valid for `ttl` seconds.
    func issue(
        vendor: EmulatorVendor, ttl: Int, maxSessionSeconds: Int? = nil, realtime: Bool = true, singleUse: Bool = true
    ) -> String {
        let now = Date().timeIntervalSince1970
        let header = #"{"alg":"HS256","typ":"JWT"}"#
        let payload = #"{"iat":\#(Int(now)),"exp":\#(Int(now) + ttl),"emulator":"\#(vendor.rawValue)"}"#
        var random = SystemRandomNumberGenerator()
        let signature = (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }
        let token = [Array(header.utf8), Array(payload.utf8), signature].map(Self.base64URL).joined(separator: ".")
        let grant = Grant(
            vendor: vendor, expires: .now + .seconds(ttl), maxSessionSeconds: maxSessionSeconds, realtime: realtime,
            singleUse: singleUse)
        grants.withLock { grants in
            if grants.count >= Self.capacity {
                let now = ContinuousClock.now
                grants = grants.filter { $0.value.expires > now && !($0.value.used && $0.value.singleUse) }
            }
            grants[token] = grant
        }
        return token
    }

    /// Whether `token` would be accepted now (without using it).
    func isValid(_ token: String, vendor: EmulatorVendor) -> Bool {
        if case .success = check(token, vendor: vendor, consume: false) { return true }
        return false
    }

    /// Uses `token` for a session.
    func consume(_ token: String, vendor: EmulatorVendor) -> Result<Grant, Rejection> {
        check(token, vendor: vendor, consume: true)
    }

    private func check(_ token: String, vendor: EmulatorVendor, consume: Bool) -> Result<Grant, Rejection> {
        grants.withLock { grants in
            guard var grant = grants[token], grant.vendor == vendor else { return .failure(.unknown) }
            if grant.used && grant.singleUse { return .failure(.alreadyUsed) }
            if ContinuousClock.now >= grant.expires { return .failure(.expired) }
            if !grant.realtime { return .failure(.notRealtime) }
            if consume {
                grant.used = true
                grants[token] = grant
            }
            return .success(grant)
        }
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
