extension ProviderKind {
    /// Speechmatics Real-Time v2.
    public static let speechmatics = ProviderKind(rawValue: "speechmatics")
}

extension TranscriptionProvider {
    /// Speechmatics Real-Time v2, with these options.
    public static func speechmatics(_ options: Speechmatics) -> TranscriptionProvider {
        TranscriptionProvider(options)
    }
}

/// Speechmatics as the transcriber sees it: a session starts with `StartRecognition`, every audio
/// message is acknowledged (`AudioAdded`), any message length goes, sessions last at most 48 hours.
extension Speechmatics: TranscriptionVendor {
    package var kind: ProviderKind { .speechmatics }

    package var wireAudio: WireAudio {
        let wire: WireAudio.Encoding =
            switch encoding {
            case .pcmF32LE: .float32
            case .pcmS16LE: .int16
            case .mulaw: .mulaw
            }
        return WireAudio(encoding: wire, sampleRate: sampleRate, channelCount: max(1, audioChannelLabels.count))
    }

    package var chunking: AudioChunking { AudioChunking(holdsBackLastChunk: false) }

    package var maximumSessionDuration: Duration { .seconds(48 * 3600) }

    package var limitsAudioToRealTime: Bool { false }

    package var standbyKeepAliveInterval: Duration? { nil }

    package var acknowledgementScanner: AcknowledgementScanner? {
        { bytes in SpeechmaticsAcknowledgement.sequenceNumber(in: bytes) }
    }

    package func validate(audioChunkDuration: Duration) throws(TranscriptionError) {
        try validate()
        if audioChunkDuration <= .zero || audioChunkDuration > .seconds(5) {
            throw TranscriptionError(
                .invalidConfiguration, provider: .speechmatics,
                reason: "audioChunkDuration must be above 0 and at most 5 s")
        }
    }

    package func configurationWarnings(reconnects: Bool, suppliesCredentials: Bool) -> [String] { [] }

    package func validate(_ update: ConfigurationUpdate) throws(TranscriptionError) {
        _ = try update.speechmaticsMessage(language: language)
    }

    /// Channel diarization with `labels` (`channel_and_speaker` when the options ask for speakers).
    package func carryingChannels(_ labels: [String]) -> Speechmatics? {
        var options = self
        let speakers = diarization == .speaker || diarization == .channelAndSpeaker
        options.diarization = speakers ? .channelAndSpeaker : .channel
        options.channelDiarizationLabels = labels
        return options
    }

    package func replacingCredentials(_ credentials: Credentials) -> Speechmatics {
        var options = self
        options.credentials = credentials
        return options
    }

    /// The session URL (a temporary key travels as `jwt=`) and, for an API key,
    /// `Authorization: Bearer <key>`.
    package func connectRequest() -> ConnectRequest {
        switch credentials {
        case .temporaryToken(let token):
            return ConnectRequest(url: endpoint.url, credentialQueryItem: .init(name: "jwt", value: token))
        case .apiKey(let key):
            return ConnectRequest(
                url: endpoint.url, headers: [SecretHeader("Authorization", Secret("Bearer " + key.value))])
        case .none:
            return ConnectRequest(url: endpoint.url)
        }
    }

    package func makeSession(
        deliversRawMessages: Bool, configurationUpdates: [ConfigurationUpdate]
    )
        -> SessionStateMachine
    {
        // Mid-session changes do not change how Speechmatics messages are read.
        SessionStateMachine(
            dialect: SpeechmaticsDialect(options: self, deliversRawMessages: deliversRawMessages), wire: wireAudio)
    }
}
