extension Speechmatics {
    /// `POST /v1/api_keys?type=rt` with `{"ttl": …}` and `Authorization: Bearer <key>`; the
    /// answer's `key_value` is the temporary key.
    /// - Throws: ``TranscriptionError/Code/invalidConfiguration`` for arguments out of range.
    package static func temporaryKeyRequest(
        apiKey: Secret, ttl: Int, url: String
    ) throws(TranscriptionError)
        -> TokenRequest
    {
        if apiKey.isEmpty {
            throw TranscriptionError(.invalidConfiguration, provider: .speechmatics, reason: "the API key is empty")
        }
        if !(60...86400).contains(ttl) {
            throw TranscriptionError(
                .invalidConfiguration, provider: .speechmatics, reason: "ttl must be 60…86400 seconds")
        }
        return TokenRequest(
            method: "POST", url: realtimeKeyURL(url),
            headers: [
                SecretHeader("Authorization", Secret("Bearer " + apiKey.value)),
                SecretHeader("Content-Type", "application/json"),
            ],
            body: Array(JSONValue.object([("ttl", .number(Double(ttl)))]).description.utf8), provider: .speechmatics,
            tokenMember: "key_value")
    }

    /// `url` with `type=rt` added when its query has no `type` (the endpoint's default is a batch
    /// key, which the real-time service refuses with `not_authorised`).
    package static func realtimeKeyURL(_ url: String) -> String {
        let parts = url.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let query = parts.count > 1 ? parts[1] : ""
        if query.split(separator: "&").contains(where: { $0.hasPrefix("type=") || $0 == "type" }) { return url }
        return url + (parts.count > 1 ? (query.isEmpty ? "" : "&") : "?") + "type=rt"
    }
}
