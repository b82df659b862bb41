extension ProviderKind {
    /// AssemblyAI Universal Streaming v3.
    public static let assemblyAI = ProviderKind(rawValue: "assemblyai")
}

extension TranscriptionProvider {
    /// AssemblyAI Universal Streaming v3, with these options.
    public static func assemblyAI(_ options: AssemblyAI) -> TranscriptionProvider {
        TranscriptionProvider(options)
    }
}

/// AssemblyAI as the transcriber sees it: a session is opened by the handshake alone (`Begin`
/// follows), audio messages must hold 50–1000 ms and may not run ahead of real time, sessions
/// last at most 3 hours.
extension AssemblyAI: TranscriptionVendor {
    package var kind: ProviderKind { .assemblyAI }

    package var wireAudio: WireAudio {
        WireAudio(encoding: encoding == .pcmMulaw ? .mulaw : .int16, sampleRate: sampleRate)
    }

    /// A tail shorter than a chunk is merged into the last full one; a whole stream under 50 ms
    /// is padded with silence to 50 ms (the service closes the session with 3007 otherwise).
    package var chunking: AudioChunking { AudioChunking(holdsBackLastChunk: true, minimumDuration: 0.05) }

    package var maximumSessionDuration: Duration { .seconds(10_800) }

    package var limitsAudioToRealTime: Bool { true }

    /// With `inactivity_timeout`, a session that gets no audio is sent `KeepAlive` (which resets
    /// that timer) every half timeout, at most every 5 s.
    package var standbyKeepAliveInterval: Duration? {
        inactivityTimeout.map { min(Duration.seconds(5), .milliseconds($0 * 500)) }
    }

    package var acknowledgementScanner: AcknowledgementScanner? { nil }

    package func validate(audioChunkDuration: Duration) throws(TranscriptionError) {
        try validate()
        let milliseconds = audioChunkDuration.inSeconds * 1000
        if !(50...500).contains(milliseconds) {
            throw TranscriptionError(
                .invalidConfiguration, provider: .assemblyAI,
                reason: "audioChunkDuration must be 50…500 ms for AssemblyAI (messages must hold 50–1000 ms)")
        }
    }

    package func configurationWarnings(reconnects: Bool, suppliesCredentials: Bool) -> [String] {
        guard case .temporaryToken = credentials, reconnects, !suppliesCredentials else { return [] }
        return [
            """
            reconnection with one AssemblyAI temporary token: a token opens one session, so every new \
            session will be refused; set Configuration.credentials to mint a token per session
            """
        ]
    }

    package func validate(_ update: ConfigurationUpdate) throws(TranscriptionError) {
        _ = try update.assemblyAIMessage()
    }

    /// `nil`: AssemblyAI has no multichannel protocol; its documented approach is one session per
    /// channel.
    package func carryingChannels(_ labels: [String]) -> AssemblyAI? { nil }

    package func replacingCredentials(_ credentials: Credentials) -> AssemblyAI {
        var options = self
        options.credentials = credentials
        return options
    }

    /// The session URL (a temporary token travels as `token=`) and, for an API key, the raw key as
    /// `Authorization` (no `Bearer`).
    package func connectRequest() -> ConnectRequest {
        let separator = endpoint.url.contains("?") ? "&" : "?"
        let url = endpoint.url + separator + QueryEncoding.encode(queryItems)
        let secrets =
            webhookAuthHeader.map {
                [ConnectRequest.QueryCredential(name: "webhook_auth_header_value", value: $0.value)]
            } ?? []
        switch credentials {
        case .temporaryToken(let token):
            return ConnectRequest(
                url: url, credentialQueryItem: .init(name: "token", value: token), secretQueryItems: secrets)
        case .apiKey(let key):
            return ConnectRequest(url: url, headers: [SecretHeader("Authorization", key)], secretQueryItems: secrets)
        case .none:
            return ConnectRequest(url: url, secretQueryItems: secrets)
        }
    }

    package func makeSession(
        deliversRawMessages: Bool, configurationUpdates: [ConfigurationUpdate]
    )
        -> SessionStateMachine
    {
        var dialect = AssemblyAIDialect(options: self, deliversRawMessages: deliversRawMessages)
        for update in configurationUpdates { _ = try? dialect.update(update) }
        return SessionStateMachine(dialect: dialect, wire: wireAudio)
    }
}
