/// AssemblyAI Universal Streaming v3: the connection options of a session.
///
/// Every option of the service's query string is here; `nil` means "not sent" (the service's
/// default applies). Lists are sent as one JSON-encoded value, never as repeated keys.
///
/// ```swift
/// var assemblyAI = AssemblyAI(credentials: .apiKey(Secret(key)), speechModel: .universalStreamingEnglish)
/// assemblyAI.formatTurns = true
/// assemblyAI.keytermsPrompt = ["Speechmatics", "libwebsockets"]
/// let transcriber = StreamingTranscriber(provider: .assemblyAI(assemblyAI))
/// ```
public struct AssemblyAI: Sendable, Hashable {
    /// Where the service is.
    public enum Endpoint: Sendable, Hashable {
        /// `wss://streaming.assemblyai.com/v3/ws`, routed to the nearest region.
        case global
        /// `wss://streaming.us.assemblyai.com/v3/ws`, data kept in the US.
        case us
        /// `wss://streaming.eu.assemblyai.com/v3/ws`, data kept in the EU.
        case eu
        /// A full WebSocket URL, such as an emulator's `ws://127.0.0.1:PORT/v3/ws`.
        case custom(String)

        /// The WebSocket URL without a query.
        public var url: String {
            switch self {
            case .global: "wss://streaming.assemblyai.com/v3/ws"
            case .us: "wss://streaming.us.assemblyai.com/v3/ws"
            case .eu: "wss://streaming.eu.assemblyai.com/v3/ws"
            case .custom(let url): url
            }
        }
    }

    /// A speech model name (`speech_model`). New names work as string literals.
    public struct SpeechModel: RawRepresentable, Sendable, Hashable, ExpressibleByStringLiteral {
        /// The name sent on the wire.
        public var rawValue: String
        /// Creates a model name.
        public init(rawValue: String) { self.rawValue = rawValue }
        /// Creates a model name.
        public init(stringLiteral value: String) { self.rawValue = value }

        /// `u3-rt-pro`: punctuation-based turns, formatted finals.
        public static let u3RealtimePro: SpeechModel = "u3-rt-pro"
        /// `universal-3-5-pro`.
        public static let universal35Pro: SpeechModel = "universal-3-5-pro"
        /// `universal-streaming-english`.
        public static let universalStreamingEnglish: SpeechModel = "universal-streaming-english"
        /// `universal-streaming-multilingual`.
        public static let universalStreamingMultilingual: SpeechModel = "universal-streaming-multilingual"
        /// `whisper-rt`.
        public static let whisperRealtime: SpeechModel = "whisper-rt"

        /// Models of the Universal-3 Pro family (turns decided by punctuation; always formatted).
        package var isU3ProFamily: Bool { rawValue.hasPrefix("u3-") || rawValue.hasPrefix("universal-3") }
    }

    /// The audio encoding sent (`encoding`).
    public enum Encoding: String, Sendable, Hashable {
        /// 16-bit little-endian PCM, mono.
        case pcmS16LE = "pcm_s16le"
        /// G.711 mu-law, mono.
        case pcmMulaw = "pcm_mulaw"

        /// Bytes per sample.
        public var bytesPerSample: Int { self == .pcmS16LE ? 2 : 1 }
    }

    /// How the session authenticates.
    public var credentials: Credentials
    /// Where the service is.
    public var endpoint: Endpoint
    /// `speech_model` (required by the service).
    public var speechModel: SpeechModel
    /// `sample_rate` in Hz; the audio must have this rate.
    public var sampleRate: Int
    /// `encoding`.
    public var encoding: Encoding
    /// `format_turns`: finals with punctuation and casing (Universal-Streaming; always on for U3 Pro).
    public var formatTurns: Bool?
    /// `end_of_turn_confidence_threshold`, 0…1 (Universal-Streaming; default 0.4).
    public var endOfTurnConfidenceThreshold: Double?
    /// `min_turn_silence` in milliseconds (default 400, U3 Pro 100).
    public var minTurnSilence: Int?
    /// `max_turn_silence` in milliseconds (default 1280, U3 Pro 1000).
    public var maxTurnSilence: Int?
    /// `vad_threshold`, 0…1 (default 0.4, U3 Pro 0.3).
    public var vadThreshold: Double?
    /// `keyterms_prompt`: at most 100 terms of at most 50 characters (sent when not empty).
    public var keytermsPrompt: [String]
    /// `prompt` (U3 Pro family).
    public var prompt: String?
    /// `agent_context`: the voice agent's last reply (U3 Pro family; about 1500 characters at most).
    public var agentContext: String?
    /// `language_detection`.
    public var languageDetection: Bool?
    /// `language_codes`, such as `["en", "es"]`.
    public var languageCodes: [String]?
    /// `speaker_labels`: diarization.
    public var speakerLabels: Bool?
    /// `max_speakers`, 1…10 (with speaker labels).
    public var maxSpeakers: Int?
    /// `inactivity_timeout` in seconds, 5…3600.
    public var inactivityTimeout: Int?
    /// `mode`: `min_latency`, `balanced` or `max_accuracy` (U3 Pro family).
    public var mode: String?
    /// `interruption_delay` in milliseconds, 0…1000 (U3 Pro).
    public var interruptionDelay: Int?
    /// `continuous_partials` (U3 Pro).
    public var continuousPartials: Bool?
    /// `filter_profanity`.
    public var filterProfanity: Bool?
    /// Further query parameters, sent as given after the ones above (for options newer than this
    /// library). A name used above is rejected.
    public var additionalQueryItems: [QueryItem]

    /// A query parameter.
    public struct QueryItem: Sendable, Hashable {
        /// The name.
        public var name: String
        /// The value (sent percent-encoded).
        public var value: String
        /// Creates a parameter.
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// Creates a configuration with the service's defaults for everything not given.
    public init(
        credentials: Credentials,
        speechModel: SpeechModel,
        sampleRate: Int = 16000,
        encoding: Encoding = .pcmS16LE,
        endpoint: Endpoint = .global
    ) {
        self.credentials = credentials
        self.endpoint = endpoint
        self.speechModel = speechModel
        self.sampleRate = sampleRate
        self.encoding = encoding
        self.keytermsPrompt = []
        self.additionalQueryItems = []
    }

    /// The query parameters, in a fixed order (credentials excluded).
    package var queryItems: [(name: String, value: String)] {
        var items: [(name: String, value: String)] = [
            ("speech_model", speechModel.rawValue), ("sample_rate", String(sampleRate)),
            ("encoding", encoding.rawValue),
        ]
        func add(_ name: String, _ value: Bool?) { if let value { items.append((name, value ? "true" : "false")) } }
        func add(_ name: String, _ value: Int?) { if let value { items.append((name, String(value))) } }
        func add(_ name: String, _ value: Double?) { if let value { items.append((name, JSONValue.format(value))) } }
        func add(_ name: String, _ value: String?) { if let value { items.append((name, value)) } }
        func add(_ name: String, list: [String]?) {
            if let list { items.append((name, JSONValue.array(list.map(JSONValue.string)).description)) }
        }
        add("format_turns", formatTurns)
        add("end_of_turn_confidence_threshold", endOfTurnConfidenceThreshold)
        add("min_turn_silence", minTurnSilence)
        add("max_turn_silence", maxTurnSilence)
        add("vad_threshold", vadThreshold)
        if !keytermsPrompt.isEmpty { add("keyterms_prompt", list: keytermsPrompt) }
        add("prompt", prompt)
        add("agent_context", agentContext)
        add("language_detection", languageDetection)
        add("language_codes", list: languageCodes)
        add("speaker_labels", speakerLabels)
        add("max_speakers", maxSpeakers)
        add("inactivity_timeout", inactivityTimeout)
        add("mode", mode)
        add("interruption_delay", interruptionDelay)
        add("continuous_partials", continuousPartials)
        add("filter_profanity", filterProfanity)
        items += additionalQueryItems.map { ($0.name, $0.value) }
        return items
    }

    /// Checks every option against the service's documented limits.
    /// - Throws: ``TranscriptionError`` with code ``TranscriptionError/Code/invalidConfiguration``.
    public func validate() throws(TranscriptionError) {
        func fail(_ reason: String) -> TranscriptionError {
            TranscriptionError(.invalidConfiguration, provider: .assemblyAI, reason: reason)
        }
        if speechModel.rawValue.isEmpty { throw fail("speech_model must not be empty") }
        if !(4000...192_000).contains(sampleRate) {
            throw fail("sample_rate must be 4000…192000 Hz, got \(sampleRate)")
        }
        if let value = endOfTurnConfidenceThreshold, !(0...1).contains(value) {
            throw fail("end_of_turn_confidence_threshold must be 0…1")
        }
        if let value = vadThreshold, !(0...1).contains(value) { throw fail("vad_threshold must be 0…1") }
        if let value = minTurnSilence, value < 0 { throw fail("min_turn_silence must not be negative") }
        if let value = maxTurnSilence, value < 0 { throw fail("max_turn_silence must not be negative") }
        if let low = minTurnSilence, let high = maxTurnSilence, low > high {
            throw fail("min_turn_silence must not exceed max_turn_silence")
        }
        if keytermsPrompt.count > 100 { throw fail("keyterms_prompt holds at most 100 terms") }
        // Lengths in Unicode code points, as the service counts them (a letter with a combining
        // accent is two).
        if let long = keytermsPrompt.first(where: { $0.unicodeScalars.count > 50 || $0.isEmpty }) {
            throw fail("each key term must have 1…50 characters (\"\(long.prefix(60))\" does not)")
        }
        if let text = agentContext, text.unicodeScalars.count > 1500 {
            throw fail("agent_context holds at most about 1500 characters")
        }
        if let value = maxSpeakers, !(1...10).contains(value) { throw fail("max_speakers must be 1…10") }
        if maxSpeakers != nil && speakerLabels != true { throw fail("max_speakers needs speaker_labels = true") }
        if let value = inactivityTimeout, !(5...3600).contains(value) {
            throw fail("inactivity_timeout must be 5…3600 seconds")
        }
        if let value = mode, !["min_latency", "balanced", "max_accuracy"].contains(value) {
            throw fail("mode must be min_latency, balanced or max_accuracy")
        }
        if let value = interruptionDelay, !(0...1000).contains(value) {
            throw fail("interruption_delay must be 0…1000 ms")
        }
        if let codes = languageCodes, codes.contains(where: \.isEmpty) {
            throw fail("language codes must not be empty")
        }
        var known = Set(["token"] + queryItems.dropLast(additionalQueryItems.count).map(\.name))
        for item in additionalQueryItems where !known.insert(item.name).inserted || item.name.isEmpty {
            // The service refuses a repeated key (3006).
            throw fail("additional query item \"\(item.name)\" repeats or is empty; set the option itself")
        }
        switch credentials {
        case .apiKey(let key) where key.isEmpty, .temporaryToken(let key) where key.isEmpty:
            throw fail("the API key or token is empty")
        case .none:
            throw fail("AssemblyAI needs an API key or a temporary token")
        default: break
        }
        guard endpoint.url.hasPrefix("ws://") || endpoint.url.hasPrefix("wss://") else {
            throw fail("the endpoint must be a ws:// or wss:// URL")
        }
    }

}
