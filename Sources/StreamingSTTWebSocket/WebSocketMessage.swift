/// A complete WebSocket message, reassembled from however many frames it arrived in.
public enum WebSocketMessage: Sendable, Hashable {
    /// A text message (UTF-8).
    case text(String)
    /// A binary message.
    case binary([UInt8])

    /// The payload size in bytes.
    public var byteCount: Int {
        switch self {
        case .text(let string): string.utf8.count
        case .binary(let bytes): bytes.count
        }
    }
}

/// A close frame: a status code and a reason.
public struct WebSocketCloseFrame: Sendable, Hashable, CustomStringConvertible {
    /// The close status code (RFC 6455 §7.4; 4000–4999 are application codes).
    public var code: UInt16
    /// The reason text (at most 123 bytes on the wire).
    public var reason: String

    /// Creates a close frame.
    public init(code: UInt16, reason: String = "") {
        self.code = code
        self.reason = reason
    }

    /// 1000, normal closure.
    public static let normalClosure = WebSocketCloseFrame(code: 1000)

    /// The code and reason, such as `1000 "done"`.
    public var description: String { reason.isEmpty ? "\(code)" : "\(code) \"\(reason)\"" }
}

/// How a connection ended.
public enum WebSocketClosure: Sendable, Hashable {
    /// The peer sent a close frame first.
    case closedByPeer(WebSocketCloseFrame)
    /// We sent a close frame first (the peer may or may not have answered it).
    case closedLocally(WebSocketCloseFrame)
    /// The connection failed; no orderly close happened.
    case failed(WebSocketError)
}
