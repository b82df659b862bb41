import StreamingSTTWebSocket

extension AssemblyAI {
    /// Mints a temporary token (`GET /v3/token`), for clients that must not hold the API key.
    ///
    /// The token is good for one session; pass it as `.temporaryToken(token)` credentials.
    /// - Parameters:
    ///   - apiKey: the API key (sent as the raw `Authorization` header, over TLS).
    ///   - expiresIn: how long the token may wait before its session starts, 1…600 seconds.
    ///   - maxSessionDuration: the longest session it may open, 60…10800 seconds (service default 10800).
    ///   - url: the token endpoint (default the service's; an emulator's for tests).
    ///   - tls: TLS settings (verification against the system roots by default).
    ///   - timeout: for the whole request.
    ///   - allowsCredentialsOverCleartext: send the key over `http://` to a host that is not
    ///     loopback (refused by default, before anything is sent).
    ///   - eventLoop: the loop that services the request.
    /// - Throws: ``/StreamingSTTProtocol/TranscriptionError``: `invalidConfiguration` (bad
    ///   arguments, or `http://` to a host that is not loopback: nothing sent),
    ///   `authenticationFailed` (401/403), `tokenRequestFailed` (400, 429, 5xx, malformed answer;
    ///   retryable for 429 and 5xx), `connectionFailed`, `timeout`.
    public static func createTemporaryToken(
        apiKey: Secret,
        expiresIn: Int = 60,
        maxSessionDuration: Int? = nil,
        url: String = "https://streaming.assemblyai.com/v3/token",
        tls: TLSConfiguration = .init(),
        timeout: Duration = .seconds(10),
        allowsCredentialsOverCleartext: Bool = false,
        eventLoop: WebSocketEventLoop = .shared
    ) async throws(TranscriptionError) -> Secret {
        let request = try temporaryTokenRequest(
            apiKey: apiKey, expiresIn: expiresIn, maxSessionDuration: maxSessionDuration, url: url)
        return try await request.send(
            tls: tls, timeout: timeout, allowsCleartext: allowsCredentialsOverCleartext, eventLoop: eventLoop)
    }
}
