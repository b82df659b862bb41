import StreamingSTTWebSocket

extension TokenRequest {
    /// Sends the request over HTTP(S) and reads the token from the answer.
    ///
    /// - Throws: ``/StreamingSTTProtocol/TranscriptionError/Code/invalidConfiguration``, before
    ///   anything is sent, for `http://` to a host that is not loopback without `allowsCleartext`
    ///   (the request carries the API key); the errors of ``token(status:body:)`` and the transport.
    func send(
        tls: TLSConfiguration, timeout: Duration, allowsCleartext: Bool, eventLoop: WebSocketEventLoop
    ) async throws(TranscriptionError)
        -> Secret
    {
        try CredentialTransport.check(url: url, provider: provider, allowsCleartext: allowsCleartext)
        let response: HTTPResponse
        do {
            response = try await HTTPClient.send(
                method, url: url, headers: headers.revealed, body: body, tls: tls, timeout: timeout,
                eventLoop: eventLoop)
        } catch {
            throw TranscriptionError(transport: error, provider: provider)
        }
        return try token(status: response.status, body: response.body)
    }
}
