/// A request to a vendor's temporary-token endpoint and how to read its answer. Pure: the driver
/// sends it over HTTP and hands the answer to ``token(status:body:)``.
package struct TokenRequest: Sendable {
    /// `GET` or `POST`.
    package var method: String
    /// The endpoint, query included.
    package var url: String
    /// Request headers, their values ``Secret``s (the API key is among them).
    package var headers: [SecretHeader]
    /// The request body, if any.
    package var body: [UInt8]?
    /// The provider, for errors.
    package var provider: ProviderKind
    /// The member of the answer's JSON object that holds the token.
    package var tokenMember: String

    /// Creates a request.
    package init(
        method: String, url: String, headers: [SecretHeader], body: [UInt8]? = nil,
        provider: ProviderKind, tokenMember: String
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.provider = provider
        self.tokenMember = tokenMember
    }

    /// The token in the endpoint's answer.
    /// - Throws: ``TranscriptionError``: `authenticationFailed` for 401/403; `tokenRequestFailed`
    ///   for any other status outside 2xx (retryable for 429 and 5xx, with the service's message
    ///   shortened to 300 characters), an answer that is not JSON, or one without the token.
    package func token(status: Int, body: [UInt8]) throws(TranscriptionError) -> Secret {
        let json = try? JSONValue(parsing: body)
        guard (200..<300).contains(status) else {
            let message =
                json?["error"]?.stringValue ?? json?["detail"]?.stringValue ?? json?["message"]?.stringValue
                ?? "the token endpoint answered HTTP \(status)"
            let auth = status == 401 || status == 403
            throw TranscriptionError(
                auth ? .authenticationFailed : .tokenRequestFailed, provider: provider,
                reason: String(message.prefix(300)), httpStatus: status, isRetryable: status == 429 || status >= 500)
        }
        guard let json else {
            throw TranscriptionError(
                .tokenRequestFailed, provider: provider, reason: "the token endpoint's answer is not JSON",
                httpStatus: status)
        }
        guard let token = json[tokenMember]?.stringValue, !token.isEmpty else {
            throw TranscriptionError(
                .tokenRequestFailed, provider: provider, reason: "the answer holds no \(tokenMember)")
        }
        return Secret(token)
    }
}
