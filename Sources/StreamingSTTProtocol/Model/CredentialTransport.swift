/// Where a credential may travel: encrypted (`wss://`, `https://`) to any host, unencrypted
/// (`ws://`, `http://`) only to this machine, unless the caller allows it explicitly.
///
/// The host is judged as written in the URL, the way the transport parses it, and never by a
/// prefix of its text: a loopback host is exactly `localhost` (in any case), an IPv4 address in
/// `127.0.0.0/8` written as four decimal numbers without leading zeros, or the IPv6 address `::1`
/// (in any of its spellings). Anything else, `127.evil.example` and `0127.0.0.1` included (a C
/// resolver reads the latter as octal, 87.0.0.1), is another machine. Pure: no resolution.
package enum CredentialTransport {
    /// Checks that a request carrying a credential may go to `url`.
    ///
    /// A URL whose scheme is none of `ws`, `wss`, `http`, `https` passes: the transport refuses it
    /// before sending anything.
    /// - Parameters:
    ///   - url: the request's URL.
    ///   - provider: for the error.
    ///   - allowsCleartext: the caller's explicit permission to send credentials unencrypted.
    /// - Throws: ``TranscriptionError/Code/invalidConfiguration`` (not retryable) when the scheme
    ///   is `ws` or `http`, the host is not loopback and `allowsCleartext` is `false`.
    package static func check(
        url: String, provider: ProviderKind?, allowsCleartext: Bool
    ) throws(TranscriptionError) {
        guard !allowsCleartext, let (scheme, rest) = cleartextScheme(of: url) else { return }
        let host = self.host(ofAuthorityIn: rest)
        if let host, isLoopback(host: host) { return }
        throw TranscriptionError(
            .invalidConfiguration, provider: provider,
            reason:
                "refusing to send a credential in cleartext (\(scheme)://) to \(host.map { "\"\($0)\"" } ?? "the host"), "
                + "which is not loopback: use \(scheme == "ws" ? "wss" : "https")://, or set "
                + "allowsCredentialsOverCleartext if the network is trusted")
    }

    /// Whether `host` (a URL's host, IPv6 without brackets) is this machine: exactly `localhost`,
    /// a dotted-decimal IPv4 address in `127.0.0.0/8`, or `::1`.
    package static func isLoopback(host: String) -> Bool {
        let host = host.lowercased()
        if host == "localhost" { return true }
        if let ipv4 = ipv4Address(host) { return ipv4[0] == 127 }
        if let ipv6 = ipv6Address(host) { return ipv6 == [0, 0, 0, 0, 0, 0, 0, 1] }
        return false
    }

    /// `ws` or `http` and the rest of the URL after `://`, when the URL is unencrypted.
    private static func cleartextScheme(of url: String) -> (String, Substring)? {
        for scheme in ["ws", "http"] where url.hasPrefix(scheme + "://") {
            return (scheme, url.dropFirst(scheme.count + 3))
        }
        return nil
    }

    /// The host of the authority that starts `rest`, as the transport reads it (see
    /// `WebSocketURL`): up to the first `/`, `?` or `#`; `[…]` for IPv6; without the port.
    /// `nil` when there is none or it holds user information.
    private static func host(ofAuthorityIn rest: Substring) -> String? {
        let end = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<end]
        if authority.contains("@") { return nil }
        let host: Substring
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
        } else {
            host = authority
        }
        return host.isEmpty ? nil : String(host)
    }

    /// The four bytes of a strict dotted-decimal IPv4 address (no leading zeros, no shorthand).
    private static func ipv4Address(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy({ $0.isASCII && $0.isNumber }),
                part == "0" || !part.hasPrefix("0"), let value = UInt8(part)
            else { return nil }
            bytes.append(value)
        }
        return bytes
    }

    /// The eight groups of an IPv6 address in hexadecimal groups (at most one `::`, no zone, no
    /// embedded IPv4).
    private static func ipv6Address(_ text: String) -> [UInt16]? {
        guard text.contains(":"), !text.contains("%") else { return nil }
        func groups(_ part: Substring) -> [UInt16]? {
            if part.isEmpty { return [] }
            var result: [UInt16] = []
            for group in part.split(separator: ":", omittingEmptySubsequences: false) {
                guard (1...4).contains(group.count), group.allSatisfy(\.isHexDigit),
                    let value = UInt16(group, radix: 16)
                else { return nil }
                result.append(value)
            }
            return result
        }
        let halves = text.split(separator: "::", omittingEmptySubsequences: false)
        switch halves.count {
        case 1:
            guard let all = groups(Substring(text)), all.count == 8 else { return nil }
            return all
        case 2:
            guard let head = groups(halves[0]), let tail = groups(halves[1]),
                head.count + tail.count <= 7
            else { return nil }
            return head + [UInt16](repeating: 0, count: 8 - head.count - tail.count) + tail
        default:
            return nil
        }
    }
}
