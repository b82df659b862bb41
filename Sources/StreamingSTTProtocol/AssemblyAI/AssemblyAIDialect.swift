/// AssemblyAI Universal Streaming v3 messages, for ``SessionStateMachine``.
///
/// The service starts a session on its own after the handshake (`Begin`); audio goes as binary
/// messages without acknowledgements; `Terminate` ends the audio and `Termination` is the last
/// message. Control messages: `ForceEndpoint`, `KeepAlive`, `UpdateConfiguration`.
struct AssemblyAIDialect: SessionDialect {
    private var decoder: AssemblyAIDecoder

    init(options: AssemblyAI, deliversRawMessages: Bool) {
        decoder = AssemblyAIDecoder(configuration: options, deliversRawMessages: deliversRawMessages)
    }

    var provider: ProviderKind { .assemblyAI }

    var acknowledgementWindow: Int? { nil }

    func startMessages() -> [String] { [] }

    mutating func decode(_ text: String) -> [DecodedMessage] { decoder.decode(text) }

    mutating func flush() -> [DecodedMessage] { decoder.flush() }

    func closeError(code: UInt16, reason: String) -> TranscriptionError? {
        decoder.closeError(code: code, reason: reason)
    }

    func endMessage(audioMessagesSent: Int) -> String { #"{"type":"Terminate"}"# }

    func forceEndOfTurnMessage(audioSecondsSent: Double) -> String { #"{"type":"ForceEndpoint"}"# }

    /// AssemblyAI has no such request: speaker labels come on each turn.
    func speakersRequestMessage(final: Bool) throws(TranscriptionError) -> String {
        throw TranscriptionError(
            .invalidConfiguration, provider: .assemblyAI,
            reason:
                "AssemblyAI has no speakers request (GetSpeakers is Speechmatics only); speaker labels come on each turn"
        )
    }

    func keepAliveMessage() -> String? { #"{"type":"KeepAlive"}"# }

    /// `UpdateConfiguration`; a change of `format_turns` also changes which end-of-turn message
    /// is final.
    mutating func update(_ update: ConfigurationUpdate) throws(TranscriptionError) -> String {
        let message = try update.assemblyAIMessage()
        decoder.apply(update)
        return message.description
    }

    func acknowledgementTimeout(after timeout: Duration, channel: String?) -> TranscriptionError {
        TranscriptionError(
            .timeout, provider: .assemblyAI, reason: "no acknowledgement within \(timeout)", isRetryable: true)
    }
}
