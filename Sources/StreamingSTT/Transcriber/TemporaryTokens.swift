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
    ///   - eventLoop: the loop that services the request.
    /// - Throws: ``TranscriptionError``: `invalidConfiguration` (bad arguments, nothing sent),
    ///   `authenticationFailed` (401/403), `tokenRequestFailed` (400, 429, 5xx, malformed answer;
    ///   retryable for 429 and 5xx), `connectionFailed`, `timeout`.
    public static func createTemporaryToken(
        apiKey: Secret,
        expiresIn: Int = 60,
        maxSessionDuration: Int? = nil,
        url: String = "https://streaming.assemblyai.com/v3/token",
        tls: TLSConfiguration = .init(),
        timeout: Duration = .seconds(10),
        eventLoop: WebSocketEventLoop = .shared
    ) async throws(TranscriptionError) -> Secret {
        let request = try temporaryTokenRequest(
            apiKey: apiKey, expiresIn: expiresIn, maxSessionDuration: maxSessionDuration, url: url)
        return try await request.send(tls: tls, timeout: timeout, eventLoop: eventLoop)
    }
}

extension Speechmatics {
    /// Mints a temporary key for real-time sessions (`POST /v1/api_keys?type=rt`), for clients
    /// that must not hold the API key. Pass it as `.temporaryToken(key)` credentials (sent as `jwt=`).
    /// - Parameters:
    ///   - apiKey: the API key (sent as `Authorization: Bearer`, over TLS).
    ///   - ttl: the key's lifetime, 60…86400 seconds.
    ///   - url: the endpoint (default the service's; an emulator's for tests). `type=rt` is added
    ///     when the URL has no `type` (the endpoint's default is a batch key, which the real-time
    ///     service refuses with `not_authorised`).
    ///   - tls: TLS settings (verification against the system roots by default).
    ///   - timeout: for the whole request.
    ///   - eventLoop: the loop that services the request.
    /// - Throws: ``TranscriptionError``: `invalidConfiguration`, `authenticationFailed` (401/403),
    ///   `tokenRequestFailed` (400, 422, 429, 5xx, malformed answer), `connectionFailed`, `timeout`.
    public static func createTemporaryKey(
        apiKey: Secret,
        ttl: Int = 60,
        url: String = "https://mp.speechmatics.com/v1/api_keys?type=rt",
        tls: TLSConfiguration = .init(),
        timeout: Duration = .seconds(10),
        eventLoop: WebSocketEventLoop = .shared
    ) async throws(TranscriptionError) -> Secret {
        let request = try temporaryKeyRequest(apiKey: apiKey, ttl: ttl, url: url)
        return try await request.send(tls: tls, timeout: timeout, eventLoop: eventLoop)
    }
}

extension TokenRequest {
    /// Sends the request over HTTP(S) and reads the token from the answer.
    func send(
        tls: TLSConfiguration, timeout: Duration, eventLoop: WebSocketEventLoop
    ) async throws(TranscriptionError)
        -> Secret
    {
        let response: HTTPResponse
        do {
            response = try await HTTPClient.send(
                method, url: url, headers: headers, body: body, tls: tls, timeout: timeout, eventLoop: eventLoop)
        } catch {
            throw TranscriptionError(transport: error, provider: provider)
        }
        return try token(status: response.status, body: response.body)
    }
}
