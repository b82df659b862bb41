/// Speechmatics Real-Time v2 messages, for ``SessionStateMachine``.
///
/// A session starts with `StartRecognition` and the service's `RecognitionStarted`; every audio
/// message is acknowledged with `AudioAdded` (its sequence number); `EndOfStream` (with the last
/// sequence number) ends the audio and `EndOfTranscript` is the last message. Control messages:
/// `ForceEndOfUtterance`, `SetRecognitionConfig`, `GetSpeakers`; there is no keep-alive message.
///
/// Multichannel (channel diarization): each wire chunk holds every channel's samples
/// interleaved; it goes as one `AddChannelAudio` per channel (`{"message","channel","data"}`, the
/// channel's bytes in base64), each acknowledged by a `ChannelAudioAdded` counted per channel from
/// 1; the audio ends with one `EndOfChannel` per channel (with that channel's count), after which
/// the service sends `EndOfTranscript` (protocol note §3.3–3.5, §4.2; `speechmatics-rt` 1.2.1
/// `AsyncMultiChannelClient` ends the same way and sends no `EndOfStream`).
struct SpeechmaticsDialect: SessionDialect {
    private var decoder: SpeechmaticsDecoder
    private let startRecognition: String
    private let language: String
    /// See ``Speechmatics/maxUnacknowledgedChunks``.
    let acknowledgementWindow: Int?
    /// The channels of a multichannel session, in wire order (empty for a single channel).
    let channelLabels: [String]
    /// Bytes of one channel's sample.
    private let bytesPerSample: Int

    init(options: Speechmatics, deliversRawMessages: Bool) {
        decoder = SpeechmaticsDecoder(deliversRawMessages: deliversRawMessages)
        startRecognition = options.startRecognition.description
        language = options.language
        acknowledgementWindow = options.maxUnacknowledgedChunks
        channelLabels = options.audioChannelLabels
        bytesPerSample = options.encoding.bytesPerSample
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

    /// One `EndOfChannel` per channel of a multichannel session (every channel was sent the same
    /// number of messages); `EndOfStream` otherwise.
    func endMessages(audioMessagesSent: Int) -> [String] {
        guard !channelLabels.isEmpty else { return [endMessage(audioMessagesSent: audioMessagesSent)] }
        return channelLabels.map { label in
            JSONValue.object([
                ("message", .string("EndOfChannel")), ("channel", .string(label)),
                ("last_seq_no", .number(Double(audioMessagesSent))),
            ]).description
        }
    }

    /// One `AddChannelAudio` per channel, in label order: the chunk de-interleaved, each channel's
    /// bytes in base64.
    func channelAudioMessages(_ chunk: [UInt8]) -> [String]? {
        guard !channelLabels.isEmpty else { return nil }
        let channels = channelLabels.count
        let frame = bytesPerSample * channels
        let frames = chunk.count / frame
        return channelLabels.indices.map { channel in
            var bytes = [UInt8]()
            bytes.reserveCapacity(frames * bytesPerSample)
            for index in 0..<frames {
                let start = index * frame + channel * bytesPerSample
                bytes.append(contentsOf: chunk[start..<(start + bytesPerSample)])
            }
            return JSONValue.object([
                ("message", .string("AddChannelAudio")), ("channel", .string(channelLabels[channel])),
                ("data", .string(Base64.encode(bytes))),
            ]).description
        }
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

    func acknowledgementTimeout(after timeout: Duration, channel: String?) -> TranscriptionError {
        // A multichannel session is acknowledged per channel, by ChannelAudioAdded.
        let missing =
            channel.map { "ChannelAudioAdded acknowledgement on channel \($0)" } ?? "AudioAdded acknowledgement"
        return TranscriptionError(
            .timeout, provider: .speechmatics, reason: "no \(missing) within \(timeout)", isRetryable: true)
    }
}

/// Standard base64 (RFC 4648 §4, with padding), for `AddChannelAudio`.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// `bytes` in base64.
    static func encode(_ bytes: [UInt8]) -> String {
        var output = [UInt8]()
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index + 3 <= bytes.count {
            let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            for shift in [18, 12, 6, 0] { output.append(alphabet[Int(value >> UInt32(shift) & 63)]) }
            index += 3
        }
        let rest = bytes.count - index
        if rest > 0 {
            let value = UInt32(bytes[index]) << 16 | (rest == 2 ? UInt32(bytes[index + 1]) << 8 : 0)
            output.append(alphabet[Int(value >> 18 & 63)])
            output.append(alphabet[Int(value >> 12 & 63)])
            output.append(rest == 2 ? alphabet[Int(value >> 6 & 63)] : UInt8(ascii: "="))
            output.append(UInt8(ascii: "="))
        }
        return String(decoding: output, as: UTF8.self)
    }
}
