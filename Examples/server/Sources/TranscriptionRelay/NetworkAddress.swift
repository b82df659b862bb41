import Foundation
import NIOCore

/// An IPv4 or IPv6 address, parsed from its numeric text only (never resolved as a name).
struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    /// 4 bytes (IPv4) or 16 (IPv6). An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, what a
    /// dual-stack socket reports for an IPv4 peer) is kept as its IPv4 address.
    let bytes: [UInt8]

    /// Parses `192.0.2.1`, `2001:db8::1` or `[2001:db8::1]`; `nil` for anything else, host names
    /// included (`127.evil.example`), and for the shorthand forms of IPv4 (`127.1`, `0x7f.0.0.1`).
    init?(_ text: some StringProtocol) {
        var text = Substring(text)
        if text.hasPrefix("["), text.hasSuffix("]") { text = text.dropFirst().dropLast() }
        if let v4 = Self.parseIPv4(text) {
            bytes = v4
            return
        }
        guard let v6 = Self.parseIPv6(text) else { return nil }
        let isMapped = v6[0..<10].allSatisfy { $0 == 0 } && v6[10] == 0xff && v6[11] == 0xff
        bytes = isMapped ? Array(v6[12...]) : v6
    }

    /// The address of a socket address (`nil` for a Unix socket).
    init?(_ address: SocketAddress?) {
        guard let text = address?.ipAddress else { return nil }
        self.init(text)
    }

    var isIPv4: Bool { bytes.count == 4 }

    /// `127.0.0.0/8` or `::1`.
    var isLoopback: Bool { isIPv4 ? bytes[0] == 127 : bytes == [UInt8](repeating: 0, count: 15) + [1] }

    /// Dotted decimal, or IPv6 with the longest run of zero groups shortened (RFC 5952).
    var description: String {
        if isIPv4 { return bytes.map(String.init).joined(separator: ".") }
        let groups = (0..<8).map { Int(bytes[2 * $0]) << 8 | Int(bytes[2 * $0 + 1]) }
        var best = (start: -1, count: 0)
        var index = 0
        while index < 8 {
            guard groups[index] == 0 else {
                index += 1
                continue
            }
            var end = index
            while end < 8 && groups[end] == 0 { end += 1 }
            if end - index > best.count && end - index > 1 { best = (index, end - index) }
            index = end
        }
        let hex = groups.map { String($0, radix: 16) }
        guard best.start >= 0 else { return hex.joined(separator: ":") }
        let head = hex[..<best.start].joined(separator: ":")
        let tail = hex[(best.start + best.count)...].joined(separator: ":")
        return head + "::" + tail
    }

    private static func parseIPv4(_ text: Substring) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy({ $0.isASCII && $0.isNumber }),
                part.count == 1 || part.first != "0", let value = UInt8(part)
            else { return nil }
            bytes.append(value)
        }
        return bytes
    }

    private static func parseIPv6(_ text: Substring) -> [UInt8]? {
        guard text.contains(":") else { return nil }
        /// Colon-separated groups; the last may be dotted IPv4 when `allowsIPv4` (it ends the address).
        func groups(_ part: Substring, allowsIPv4: Bool) -> [UInt8]? {
            if part.isEmpty { return [] }
            var bytes: [UInt8] = []
            let items = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, item) in items.enumerated() {
                if allowsIPv4, index == items.count - 1, item.contains(".") {
                    guard let v4 = parseIPv4(item) else { return nil }
                    bytes += v4
                    continue
                }
                guard (1...4).contains(item.count), item.allSatisfy(\.isHexDigit), let value = UInt16(item, radix: 16)
                else { return nil }
                bytes += [UInt8(value >> 8), UInt8(value & 0xff)]
            }
            return bytes
        }
        guard let gap = text.range(of: "::") else {
            guard let all = groups(text, allowsIPv4: true), all.count == 16 else { return nil }
            return all
        }
        let tail = text[gap.upperBound...]
        guard !tail.contains("::"), let head = groups(text[..<gap.lowerBound], allowsIPv4: false),
            let rest = groups(tail, allowsIPv4: true), head.count + rest.count <= 14
        else { return nil }
        return head + [UInt8](repeating: 0, count: 16 - head.count - rest.count) + rest
    }
}

/// A block of IP addresses in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`, or one address),
/// for ``RelayConfiguration/trustedProxies``.
public struct IPNetwork: Hashable, Sendable, CustomStringConvertible {
    let address: IPAddress
    let prefixLength: Int

    /// Parses `ADDRESS/PREFIX` or a single `ADDRESS`; `nil` when either part is not valid. Host
    /// names are not accepted.
    public init?(_ cidr: String) {
        let parts = cidr.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(parts[0]) else { return nil }
        // An IPv4-mapped block (`::ffff:10.0.0.0/104`) is an IPv4 block.
        let mappedOffset = address.isIPv4 && parts[0].contains(":") ? 96 : 0
        let bits = address.bytes.count * 8 + mappedOffset
        var length = bits
        if parts.count == 2 {
            guard (1...3).contains(parts[1].count), parts[1].allSatisfy({ $0.isASCII && $0.isNumber }),
                let value = Int(parts[1]), value <= bits, value >= mappedOffset
            else { return nil }
            length = value
        }
        self.address = address
        self.prefixLength = length - mappedOffset
    }

    /// Whether `candidate` is in the block (an IPv4 address is never in an IPv6 block).
    func contains(_ candidate: IPAddress) -> Bool {
        guard candidate.bytes.count == address.bytes.count else { return false }
        var remaining = prefixLength
        for (a, b) in zip(address.bytes, candidate.bytes) where remaining > 0 {
            let mask: UInt8 = remaining >= 8 ? 0xff : ~(0xff >> UInt8(remaining))
            if a & mask != b & mask { return false }
            remaining -= 8
        }
        return true
    }

    /// `ADDRESS/PREFIX`.
    public var description: String { "\(address)/\(prefixLength)" }
}

/// Where the relay's clients come from and which `Host` they may name.
enum NetworkPolicy {
    /// The client's address: the peer's, or, when the peer is one of `trustedProxies`, the
    /// rightmost `X-Forwarded-For` entry that is not a trusted proxy (entries to the left of it
    /// were written by the client and prove nothing). An entry that is not an address stops the
    /// walk: the nearest trusted proxy then stands for the client.
    static func clientAddress(peer: IPAddress?, forwardedFor: [String], trustedProxies: [IPNetwork]) -> IPAddress? {
        guard var current = peer else { return nil }
        func trusted(_ address: IPAddress) -> Bool { trustedProxies.contains { $0.contains(address) } }
        guard trusted(current) else { return current }
        let entries = forwardedFor.flatMap { $0.split(separator: ",") }
        for entry in entries.reversed() {
            guard let address = forwardedAddress(entry.trimmingCharacters(in: .whitespaces)) else { return current }
            current = address
            if !trusted(address) { return address }
        }
        return current
    }

    /// An `X-Forwarded-For` entry: an address, possibly with a port (`192.0.2.1:4711`, `[2001:db8::1]:4711`).
    static func forwardedAddress(_ entry: String) -> IPAddress? {
        if let address = IPAddress(entry) { return address }
        if entry.hasPrefix("["), let close = entry.firstIndex(of: "]") {
            return IPAddress(entry[entry.index(after: entry.startIndex)..<close])
        }
        let parts = entry.split(separator: ":")
        return parts.count == 2 ? IPAddress(parts[0]) : nil
    }

    /// Splits a `Host` value (`name`, `name:port`, `[v6]`, `[v6]:port`) into its lowercased name
    /// (IPv6 in brackets) and port; `nil` when malformed.
    static func splitAuthority(_ authority: String) -> (name: String, port: Int?)? {
        let value = authority.lowercased()
        var name: Substring
        var portText: Substring?
        if value.hasPrefix("[") {
            guard let close = value.firstIndex(of: "]") else { return nil }
            name = value[...close]
            let rest = value[value.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { return nil }
                portText = rest.dropFirst()
            }
        } else {
            let parts = value.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            name = parts[0]
            portText = parts.count == 2 ? parts[1] : nil
        }
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyz0123456789.-_[]:")
        guard !name.isEmpty, name.unicodeScalars.allSatisfy({ allowed.contains($0) }) else { return nil }
        guard let portText else { return (String(name), nil) }
        guard (1...5).contains(portText.count), portText.allSatisfy({ $0.isASCII && $0.isNumber }),
            let port = Int(portText), port <= 65535
        else { return nil }
        return (String(name), port)
    }
}

/// The `Host` values the relay answers, against DNS rebinding: a page of a domain that the
/// attacker points at the server's address sends that domain as `Host`, so a request naming any
/// other host than the server's own names is refused.
struct HostAllowList: Sendable {
    /// Names accepted with the bound port, or without a port: `localhost`, `127.0.0.1`, `[::1]`,
    /// and the bind address unless it is a wildcard.
    let localNames: Set<String>
    /// ``RelayConfiguration/allowedHosts``: a name with any port, or a name with its port.
    let configured: [(name: String, port: Int?)]

    init(configuration: RelayConfiguration) {
        var local: Set<String> = ["localhost", "127.0.0.1", "[::1]"]
        let host = configuration.host.lowercased()
        if !["", "0.0.0.0", "::", "[::]"].contains(host) {
            local.insert(host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host)
        }
        localNames = local
        configured = configuration.allowedHosts.compactMap { NetworkPolicy.splitAuthority($0) }
    }

    /// Whether a request naming `authority` (its `Host`) may be served on a connection accepted on
    /// `boundPort`; `nil` when the request context does not tell it (the relay mounted in an
    /// application with its own context): the local names are then accepted with any port.
    func allows(_ authority: String?, boundPort: Int?) -> Bool {
        guard let authority, let (name, port) = NetworkPolicy.splitAuthority(authority) else { return false }
        if localNames.contains(name), port == nil || boundPort == nil || port == boundPort { return true }
        return configured.contains { $0.name == name && ($0.port == nil || $0.port == port) }
    }
}
