/// A parsed `ws://` or `wss://` URL.
///
/// Its ``description`` hides the query string, which may carry a temporary token; so does its
/// reflection (`dump`).
public struct WebSocketURL: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// `true` for `wss://`.
    public var isSecure: Bool
    /// The host name or IP address (IPv6 without brackets).
    public var host: String
    /// The TCP port (80 or 443 unless given).
    public var port: Int
    /// The path, starting with `/`, without the query.
    public var path: String
    /// The query string without `?` (percent-encoded), or `nil`.
    public var query: String?

    /// Parses a URL such as `wss://streaming.assemblyai.com/v3/ws?sample_rate=16000`.
    /// - Throws: ``WebSocketError`` with code ``WebSocketError/Code/invalidURL``.
    public init(_ string: String) throws(WebSocketError) {
        let secure: Bool
        var rest: Substring
        if string.hasPrefix("wss://") {
            secure = true
            rest = string.dropFirst(6)
        } else if string.hasPrefix("ws://") {
            secure = false
            rest = string.dropFirst(5)
        } else {
            throw WebSocketError(.invalidURL, detail: "the scheme must be ws or wss")
        }
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var target = rest[authorityEnd...]
        if authority.contains("@") {
            throw WebSocketError(.invalidURL, detail: "user information in the URL is not supported")
        }
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw WebSocketError(.invalidURL, detail: "unterminated IPv6 address")
            }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                portText = after.dropFirst()
            } else if !after.isEmpty {
                throw WebSocketError(.invalidURL, detail: "unexpected text after the IPv6 address")
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else { throw WebSocketError(.invalidURL, detail: "the host is empty") }
        var port = secure ? 443 : 80
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else {
                throw WebSocketError(.invalidURL, detail: "the port is not a number from 1 to 65535")
            }
            port = value
        }
        if target.isEmpty { target = "/" }
        if target.hasPrefix("?") { target = "/" + target }
        var query: String?
        var path = String(target)
        if let mark = target.firstIndex(of: "?") {
            path = String(target[..<mark])
            query = String(target[target.index(after: mark)...])
        }
        if host.contains(where: { $0 == " " || $0 == "\r" || $0 == "\n" })
            || path.contains(where: { $0 == " " || $0 == "\r" || $0 == "\n" })
            || (query?.contains(where: { $0 == " " || $0 == "\r" || $0 == "\n" }) ?? false)
        {
            throw WebSocketError(.invalidURL, detail: "the URL contains whitespace")
        }
        self.isSecure = secure
        self.host = host.lowercased()
        self.port = port
        self.path = path
        self.query = query
    }

    /// The request target sent in the handshake: path plus `?query`.
    public var requestTarget: String {
        guard let query else { return path }
        return path + "?" + query
    }

    /// The URL with the query string replaced by `<redacted>`.
    public var description: String {
        let scheme = isSecure ? "wss" : "ws"
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "\(scheme)://\(hostPart):\(port)\(path)\(query == nil ? "" : "?<redacted>")"
    }

    /// Same as ``description``: the query is never shown.
    public var debugDescription: String { description }

    /// The parts of the URL, the query shown as `<redacted>`.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "isSecure": isSecure, "host": host, "port": port, "path": path,
                "query": query.map { _ in "<redacted>" } as Any,
            ], displayStyle: .struct)
    }
}
