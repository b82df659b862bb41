extension AssemblyAI {
    /// `GET /v3/token?expires_in_seconds=…[&max_session_duration_seconds=…]` with the raw API key
    /// as `Authorization`; the answer's `token` is the temporary token.
    /// - Throws: ``TranscriptionError/Code/invalidConfiguration`` for arguments out of range.
    package static func temporaryTokenRequest(
        apiKey: Secret, expiresIn: Int, maxSessionDuration: Int?, url: String
    ) throws(TranscriptionError) -> TokenRequest {
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
        return TokenRequest(
            method: "GET", url: url + separator + QueryEncoding.encode(query),
            headers: [SecretHeader("Authorization", apiKey)],
            provider: .assemblyAI, tokenMember: "token")
    }
}
