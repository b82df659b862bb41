/// An error from the WebSocket transport.
///
/// Each failure has a ``code`` that says what went wrong, plus the facts that belong to it: the
/// HTTP status of a rejected handshake, the close code of a peer that closed, the X.509
/// verification result of a failed TLS handshake. The ``description`` never contains a URL, a
/// header value, an API key or a token.
///
/// ```swift
/// do {
///     let connection = try await WebSocketConnection.connect(to: url)
/// } catch let error as WebSocketError where error.code == .handshakeRejected {
///     print("server answered HTTP \(error.httpStatus ?? 0)")
/// }
/// ```
public struct WebSocketError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong. New codes may be added; switch with a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidURL, invalidConfiguration, dnsFailure, connectionRefused, tlsFailure, connectTimeout
            case handshakeRejected, handshakeFailed, messageTooLarge, connectionLost
            case pingTimeout, closed, cancelled, eventLoopShutDown, concurrentIteration
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The URL is not a valid `ws://` or `wss://` URL.
        public static let invalidURL = Code(.invalidURL)
        /// A configuration value is not valid (a header with a line break, a negative limit, …).
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// The host name could not be resolved.
        public static let dnsFailure = Code(.dnsFailure)
        /// Nothing accepted the TCP connection (refused or unreachable).
        public static let connectionRefused = Code(.connectionRefused)
        /// The TLS handshake failed: untrusted certificate, wrong host name, or not TLS at all.
        public static let tlsFailure = Code(.tlsFailure)
        /// The connection and WebSocket handshake did not complete within the connect timeout.
        public static let connectTimeout = Code(.connectTimeout)
        /// The server answered the upgrade request with an HTTP status other than 101.
        public static let handshakeRejected = Code(.handshakeRejected)
        /// The handshake failed for another reason (malformed response, connection dropped).
        public static let handshakeFailed = Code(.handshakeFailed)
        /// An inbound message exceeded the configured maximum size; the connection was closed with 1009.
        public static let messageTooLarge = Code(.messageTooLarge)
        /// The connection ended without a close frame (TCP reset or EOF).
        public static let connectionLost = Code(.connectionLost)
        /// The peer did not answer a ping within the pong timeout.
        public static let pingTimeout = Code(.pingTimeout)
        /// The connection is closed or closing; nothing more can be sent.
        public static let closed = Code(.closed)
        /// The task was cancelled; the connection was dropped.
        public static let cancelled = Code(.cancelled)
        /// The event loop was shut down.
        public static let eventLoopShutDown = Code(.eventLoopShutDown)
        /// Two tasks tried to read the same connection's messages at once.
        public static let concurrentIteration = Code(.concurrentIteration)

        /// The code's name, such as `handshakeRejected`.
        public var description: String { base.rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// The HTTP status of a rejected handshake (``Code/handshakeRejected``).
    public var httpStatus: Int?
    /// The close code, where the failure involved a close frame.
    public var closeCode: UInt16?
    /// The OpenSSL `X509_V_ERR_*` verification result of a ``Code/tlsFailure``, when one was seen.
    public var tlsVerifyResult: Int?
    /// A short technical detail from the transport (for example libwebsockets' or OpenSSL's text).
    /// It never contains the URL, a header value or a credential.
    public var detail: String

    /// Creates an error.
    public init(
        _ code: Code,
        detail: String = "",
        httpStatus: Int? = nil,
        closeCode: UInt16? = nil,
        tlsVerifyResult: Int? = nil
    ) {
        self.code = code
        self.detail = detail
        self.httpStatus = httpStatus
        self.closeCode = closeCode
        self.tlsVerifyResult = tlsVerifyResult
    }

    /// A one-line description without secrets.
    public var description: String {
        var parts = ["WebSocketError.\(code)"]
        if let httpStatus { parts.append("HTTP \(httpStatus)") }
        if let closeCode { parts.append("close code \(closeCode)") }
        if let tlsVerifyResult { parts.append("X509 verify result \(tlsVerifyResult)") }
        if !detail.isEmpty { parts.append(detail) }
        return parts.joined(separator: ": ")
    }
}
