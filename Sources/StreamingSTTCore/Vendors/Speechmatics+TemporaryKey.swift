import StreamingSTTWebSocket

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
    ///   - allowsCredentialsOverCleartext: send the key over `http://` to a host that is not
    ///     loopback (refused by default, before anything is sent).
    ///   - eventLoop: the loop that services the request.
    /// - Throws: ``/StreamingSTTProtocol/TranscriptionError``: `invalidConfiguration` (bad
    ///   arguments, or `http://` to a host that is not loopback: nothing sent),
    ///   `authenticationFailed` (401/403), `tokenRequestFailed` (400, 422, 429, 5xx, malformed
    ///   answer), `connectionFailed`, `timeout`.
    public static func createTemporaryKey(
        apiKey: Secret,
        ttl: Int = 60,
        url: String = "https://mp.speechmatics.com/v1/api_keys?type=rt",
        tls: TLSConfiguration = .init(),
        timeout: Duration = .seconds(10),
        allowsCredentialsOverCleartext: Bool = false,
        eventLoop: WebSocketEventLoop = .shared
    ) async throws(TranscriptionError) -> Secret {
        let request = try temporaryKeyRequest(apiKey: apiKey, ttl: ttl, url: url)
        return try await request.send(
            tls: tls, timeout: timeout, allowsCleartext: allowsCredentialsOverCleartext, eventLoop: eventLoop)
    }
}
