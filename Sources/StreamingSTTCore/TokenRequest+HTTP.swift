import StreamingSTTWebSocket

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
