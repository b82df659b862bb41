import StreamingSTTWebSocket

extension TranscriptionError {
    /// Maps a transport failure (kept as ``underlyingError``).
    init(transport error: WebSocketError, provider: ProviderKind?) {
        switch error.code {
        case .handshakeRejected:
            let status = error.httpStatus ?? 0
            let auth = status == 401 || status == 403
            self.init(
                auth ? .authenticationFailed : .handshakeRejected, provider: provider,
                reason: "the service answered the WebSocket handshake with HTTP \(status)", httpStatus: status,
                isRetryable: status == 429 || status >= 500, underlyingError: error)
        case .dnsFailure, .connectionRefused, .tlsFailure, .handshakeFailed, .invalidURL, .eventLoopShutDown:
            self.init(
                .connectionFailed, provider: provider, reason: error.description,
                isRetryable: error.code != .tlsFailure && error.code != .invalidURL, underlyingError: error)
        case .connectTimeout:
            self.init(
                .timeout, provider: provider, reason: "connecting took longer than the connect timeout",
                isRetryable: true, underlyingError: error)
        case .connectionLost, .pingTimeout:
            self.init(
                .connectionLost, provider: provider, reason: error.description, isRetryable: true,
                underlyingError: error)
        case .messageTooLarge:
            self.init(
                .protocolViolation, provider: provider, reason: "the service sent a message over the size limit",
                closeCode: 1009, underlyingError: error)
        case .cancelled:
            self.init(.cancelled, provider: provider, reason: "the session was cancelled", underlyingError: error)
        case .invalidConfiguration:
            self.init(.invalidConfiguration, provider: provider, reason: error.detail, underlyingError: error)
        default:
            self.init(.connectionLost, provider: provider, reason: error.description, underlyingError: error)
        }
    }
}
