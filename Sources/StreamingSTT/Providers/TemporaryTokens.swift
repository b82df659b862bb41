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
        func invalid(_ reason: String) -> TranscriptionError {
            TranscriptionError(.invalidConfiguration, provider: .assemblyAI, reason: reason)
        }
        if apiKey.isEmpty { throw invalid("the API key is empty") }
        if !(1...600).contains(expiresIn) { throw invalid("expires_in_seconds must be 1…600") }
        if let value = maxSessionDuration, !(60...10800).contains(value) {
            throw invalid("max_session_duration_seconds must be 60…10800")
        }
        var query: [(name: String, value: String)] = [("expires_in_seconds", String(expiresIn))]
        if let value = maxSessionDuration { query.append(("max_session_duration_seconds", String(value))) }
        let separator = url.contains("?") ? "&" : "?"
        let body = try await TokenRequest.send(
            "GET", url: url + separator + QueryEncoding.encode(query), headers: [("Authorization", apiKey.value)],
            body: nil, provider: .assemblyAI, expectedStatus: 200, tls: tls, timeout: timeout, eventLoop: eventLoop)
        guard let token = body["token"]?.stringValue, !token.isEmpty else {
            throw TranscriptionError(.tokenRequestFailed, provider: .assemblyAI, reason: "the answer holds no token")
        }
        return Secret(token)
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
        if apiKey.isEmpty {
            throw TranscriptionError(.invalidConfiguration, provider: .speechmatics, reason: "the API key is empty")
        }
        if !(60...86400).contains(ttl) {
            throw TranscriptionError(
                .invalidConfiguration, provider: .speechmatics, reason: "ttl must be 60…86400 seconds")
        }
        let body = try await TokenRequest.send(
            "POST", url: realtimeKeyURL(url),
            headers: [("Authorization", "Bearer " + apiKey.value), ("Content-Type", "application/json")],
            body: Array(JSONValue.object([("ttl", .number(Double(ttl)))]).description.utf8), provider: .speechmatics,
            expectedStatus: 201, tls: tls, timeout: timeout, eventLoop: eventLoop)
        guard let key = body["key_value"]?.stringValue, !key.isEmpty else {
            throw TranscriptionError(
                .tokenRequestFailed, provider: .speechmatics, reason: "the answer holds no key_value")
        }
        return Secret(key)
    }

    /// `url` with `type=rt` added when its query has no `type`.
    static func realtimeKeyURL(_ url: String) -> String {
        let parts = url.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let query = parts.count > 1 ? parts[1] : ""
        if query.split(separator: "&").contains(where: { $0.hasPrefix("type=") || $0 == "type" }) { return url }
        return url + (parts.count > 1 ? (query.isEmpty ? "" : "&") : "?") + "type=rt"
    }
}

/// The HTTP exchange both token endpoints share.
enum TokenRequest {
    static func send(
        _ method: String,
        url: String,
        headers: [(name: String, value: String)],
        body: [UInt8]?,
        provider: ProviderKind,
        expectedStatus: Int,
        tls: TLSConfiguration,
        timeout: Duration,
        eventLoop: WebSocketEventLoop
    ) async throws(TranscriptionError) -> JSONValue {
        let response: HTTPResponse
        do {
            response = try await HTTPClient.send(
                method, url: url, headers: headers, body: body, tls: tls, timeout: timeout, eventLoop: eventLoop)
        } catch {
            throw TranscriptionError(transport: error, provider: provider)
        }
        let json = try? JSONValue(parsing: response.body)
        guard response.status == expectedStatus || (200..<300).contains(response.status) else {
            let message =
                json?["error"]?.stringValue ?? json?["detail"]?.stringValue ?? json?["message"]?.stringValue
                ?? "the token endpoint answered HTTP \(response.status)"
            let auth = response.status == 401 || response.status == 403
            throw TranscriptionError(
                auth ? .authenticationFailed : .tokenRequestFailed, provider: provider,
                reason: String(message.prefix(300)),
                httpStatus: response.status, isRetryable: response.status == 429 || response.status >= 500)
        }
        guard let json else {
            throw TranscriptionError(
                .tokenRequestFailed, provider: provider, reason: "the token endpoint's answer is not JSON",
                httpStatus: response.status)
        }
        return json
    }
}
