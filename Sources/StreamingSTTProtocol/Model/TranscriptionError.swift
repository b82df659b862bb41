/// Why a transcription session failed, for every provider.
///
/// Carries the vendor's own code and text where there is one, and says whether trying again may
/// help, following the vendors' guidance (Speechmatics: retry only `quota_exceeded`, `job_error`
/// and `internal_error`; AssemblyAI: server errors and concurrency limits). The ``description``
/// never contains an API key, a token or a URL with its query.
public struct TranscriptionError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure. New codes may be added; switch with a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidConfiguration, authenticationFailed, handshakeRejected, vendorError, serverClosed
            case protocolViolation, connectionFailed, connectionLost, timeout, cancelled, notStarted
            case alreadyStarted, sessionEnded, tokenRequestFailed, audioFailed
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A provider option is not valid; nothing was sent.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// The key or token was refused (HTTP 401/403, AssemblyAI 1008 unauthorised, Speechmatics
        /// `not_authorised` / 4001).
        public static let authenticationFailed = Code(.authenticationFailed)
        /// The service refused the WebSocket handshake with another HTTP status (see ``httpStatus``).
        public static let handshakeRejected = Code(.handshakeRejected)
        /// The service reported an error (an `Error` message; see ``vendorCode`` and ``reason``).
        public static let vendorError = Code(.vendorError)
        /// The service closed the connection with an error close code and no `Error` message.
        public static let serverClosed = Code(.serverClosed)
        /// The service sent something this client cannot accept (malformed JSON, an oversized
        /// message, messages out of order).
        public static let protocolViolation = Code(.protocolViolation)
        /// The connection could not be made (DNS, refused, TLS).
        public static let connectionFailed = Code(.connectionFailed)
        /// The connection broke (TCP loss, ping timeout).
        public static let connectionLost = Code(.connectionLost)
        /// A bounded wait ran out (connect, session start, graceful stop, acknowledgements).
        public static let timeout = Code(.timeout)
        /// The session was cancelled.
        public static let cancelled = Code(.cancelled)
        /// Audio or a control message was sent before `start()`.
        public static let notStarted = Code(.notStarted)
        /// `start()` was called twice.
        public static let alreadyStarted = Code(.alreadyStarted)
        /// The session has already ended.
        public static let sessionEnded = Code(.sessionEnded)
        /// A temporary token could not be obtained (see ``httpStatus`` and ``reason``).
        public static let tokenRequestFailed = Code(.tokenRequestFailed)
        /// The audio could not be read or converted (see ``underlyingError``, an `AudioError`).
        public static let audioFailed = Code(.audioFailed)

        /// The code's name.
        public var description: String { base.rawValue }
    }

    /// What kind of failure.
    public var code: Code
    /// The provider, when the failure happened in a session.
    public var provider: ProviderKind?
    /// The vendor's code: AssemblyAI `error_code` or close code (`"3006"`), Speechmatics `type`
    /// (`"invalid_config"`).
    public var vendorCode: String?
    /// The vendor's or transport's text (never containing a credential).
    public var reason: String
    /// The WebSocket close code, when the connection was closed with one.
    public var closeCode: UInt16?
    /// The HTTP status of a refused handshake or token request.
    public var httpStatus: Int?
    /// Whether trying again (after a pause) may succeed.
    public var isRetryable: Bool
    /// The shortest pause before trying again that the vendor asks for, when it asks for one
    /// (Speechmatics: 5 s after `quota_exceeded`, `job_error` and `internal_error`). Reconnection
    /// waits at least this long.
    public var minimumRetryDelay: Duration?
    /// The error behind this one, if any: a `WebSocketError` from the transport or an
    /// `AudioError` from an audio source. It takes no part in equality and hashing.
    public var underlyingError: (any Error & Sendable)?

    /// Creates an error.
    public init(
        _ code: Code,
        provider: ProviderKind? = nil,
        vendorCode: String? = nil,
        reason: String = "",
        closeCode: UInt16? = nil,
        httpStatus: Int? = nil,
        isRetryable: Bool = false,
        underlyingError: (any Error & Sendable)? = nil
    ) {
        self.code = code
        self.provider = provider
        self.vendorCode = vendorCode
        self.reason = reason
        self.closeCode = closeCode
        self.httpStatus = httpStatus
        self.isRetryable = isRetryable
        self.underlyingError = underlyingError
    }

    /// One line, such as `TranscriptionError.vendorError (assemblyai 3006, close 3006): Invalid JSON`.
    public var description: String {
        var head = "TranscriptionError.\(code)"
        var facts: [String] = []
        if let provider { facts.append(vendorCode.map { "\(provider) \($0)" } ?? "\(provider)") }
        if let closeCode { facts.append("close \(closeCode)") }
        if let httpStatus { facts.append("HTTP \(httpStatus)") }
        if isRetryable { facts.append("retryable") }
        if !facts.isEmpty { head += " (" + facts.joined(separator: ", ") + ")" }
        return reason.isEmpty ? head : head + ": " + reason
    }
}

extension TranscriptionError {
    /// Equal when every field but ``underlyingError`` is.
    public static func == (lhs: TranscriptionError, rhs: TranscriptionError) -> Bool {
        lhs.code == rhs.code && lhs.provider == rhs.provider && lhs.vendorCode == rhs.vendorCode
            && lhs.reason == rhs.reason && lhs.closeCode == rhs.closeCode && lhs.httpStatus == rhs.httpStatus
            && lhs.isRetryable == rhs.isRetryable && lhs.minimumRetryDelay == rhs.minimumRetryDelay
    }

    /// Hashes every field but ``underlyingError``.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(provider)
        hasher.combine(vendorCode)
        hasher.combine(reason)
        hasher.combine(closeCode)
        hasher.combine(httpStatus)
        hasher.combine(isRetryable)
        hasher.combine(minimumRetryDelay)
    }
}
