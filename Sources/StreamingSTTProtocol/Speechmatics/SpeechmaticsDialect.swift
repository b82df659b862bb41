/// Speechmatics Real-Time v2 messages, for ``SessionStateMachine``.
///
/// A session starts with `StartRecognition` and the service's `RecognitionStarted`; every audio
/// message is acknowledged with `AudioAdded` (its sequence number); `EndOfStream` (with the last
/// sequence number) ends the audio and `EndOfTranscript` is the last message. Control messages:
/// `ForceEndOfUtterance`, `SetRecognitionConfig`, `GetSpeakers`; there is no keep-alive message.
struct SpeechmaticsDialect: SessionDialect {
    private var decoder: SpeechmaticsDecoder
    private let startRecognition: String
    private let language: String
    /// See ``Speechmatics/maxUnacknowledgedChunks``.
    let acknowledgementWindow: Int?

    init(options: Speechmatics, deliversRawMessages: Bool) {
        decoder = SpeechmaticsDecoder(deliversRawMessages: deliversRawMessages)
        startRecognition = options.startRecognition.description
        language = options.language
        acknowledgementWindow = options.maxUnacknowledgedChunks
    }

    var provider: ProviderKind { .speechmatics }

    func startMessages() -> [String] { [startRecognition] }

    mutating func decode(_ text: String) -> [DecodedMessage] { decoder.decode(text) }

    mutating func flush() -> [DecodedMessage] { decoder.flush() }

    func closeError(code: UInt16, reason: String) -> TranscriptionError? {
        decoder.closeError(code: code, reason: reason)
    }

    func endMessage(audioMessagesSent: Int) -> String {
        JSONValue.object([("message", .string("EndOfStream")), ("last_seq_no", .number(Double(audioMessagesSent)))])
            .description
    }

    /// `ForceEndOfUtterance` with the audio time sent so far.
    func forceEndOfTurnMessage(audioSecondsSent: Double) -> String {
        JSONValue.object([("message", .string("ForceEndOfUtterance")), ("timestamp", .number(audioSecondsSent))])
            .description
    }

    /// `GetSpeakers`, with `"final":true` for the speakers at the end of the stream.
    func speakersRequestMessage(final: Bool) -> String {
        JSONValue.object([("message", .string("GetSpeakers"))] + (final ? [("final", .bool(true))] : [])).description
    }

    func keepAliveMessage() -> String? { nil }

    mutating func update(_ update: ConfigurationUpdate) throws(TranscriptionError) -> String {
        try update.speechmaticsMessage(language: language).description
    }

    func acknowledgementTimeout(after timeout: Duration) -> TranscriptionError {
        TranscriptionError(
            .timeout, provider: .speechmatics, reason: "no AudioAdded acknowledgement within \(timeout)",
            isRetryable: true)
    }
}
