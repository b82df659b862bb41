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
        /// `universal-3-6`.
        public static let universal36: SpeechModel = "universal-3-6"
        /// `universal-3-6-pro`.
        public static let universal36Pro: SpeechModel = "universal-3-6-pro"
        /// `u3-rt-pro-beta-1`.
        public static let u3RealtimeProBeta1: SpeechModel = "u3-rt-pro-beta-1"

        /// Models of the Universal-3 Pro family (turns decided by punctuation; always formatted).
        package var isU3ProFamily: Bool { rawValue.hasPrefix("u3-") || rawValue.hasPrefix("universal-3") }
    }

    /// A specialised recognition domain (`domain`). New names work as string literals.
    public struct Domain: RawRepresentable, Sendable, Hashable, ExpressibleByStringLiteral {
        /// The name sent on the wire.
        public var rawValue: String
        /// Creates a domain name.
        public init(rawValue: String) { self.rawValue = rawValue }
        /// Creates a domain name.
        public init(stringLiteral value: String) { self.rawValue = value }

        /// `medical-v1`: medical vocabulary.
        public static let medicalV1: Domain = "medical-v1"
    }

    /// Which voices the service concentrates on (`voice_focus`).
    public enum VoiceFocus: String, Sendable, Hashable {
        /// `near-field`: the speaker close to the microphone (headsets, phones).
        case nearField = "near-field"
        /// `far-field`: speakers further away (rooms, speakerphones).
        case farField = "far-field"
    }

    /// What redacted personal information is replaced with (`redact_pii_sub`).
    public enum PIISubstitution: String, Sendable, Hashable {
        /// `hash`: a run of `#` characters.
        case hash
        /// `entity_name`: the entity type, such as `[PERSON_NAME]`.
        case entityName = "entity_name"
    }

    /// A header the service adds to its webhook request.
    public struct WebhookAuthHeader: Sendable, Hashable {
        /// The header's name (`webhook_auth_header_name`).
        public var name: String
        /// The header's value (`webhook_auth_header_value`), kept out of descriptions and logs.
        public var value: Secret
        /// Creates a header.
        public init(name: String, value: Secret) {
            self.name = name
            self.value = value
        }
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
    /// `turn_left_pad_ms`: audio in milliseconds kept before a turn's start (U3 Pro).
    public var turnLeftPad: Int?
    /// `session_heartbeat`: `Heartbeat` messages during the session.
    public var sessionHeartbeat: Bool?
    /// `acknowledge_silence`: `Silence` messages for stretches without speech (U3 Pro family).
    public var acknowledgeSilence: Bool?
    /// `include_partial_turns`.
    public var includePartialTurns: Bool?
    /// `voice_focus`: which voices to concentrate on.
    public var voiceFocus: VoiceFocus?
    /// `voice_focus_threshold`, 0…1.
    public var voiceFocusThreshold: Double?
    /// `domain`, such as ``Domain/medicalV1``.
    public var domain: Domain?
    /// `redact_pii`: redact personal information in transcripts.
    public var redactPII: Bool?
    /// `redact_pii_policies`: the kinds of information to redact, such as `person_name` (needs
    /// ``redactPII``).
    public var redactPIIPolicies: [String]?
    /// `redact_pii_sub`: what redacted information is replaced with (needs ``redactPII``).
    public var redactPIISubstitution: PIISubstitution?
    /// `speaker_labels_revision_interval_ms`: how often speaker revisions may come, in milliseconds
    /// (needs ``speakerLabels``).
    public var speakerLabelsRevisionInterval: Int?
    /// `webhook_url`: an `http(s)` URL the service posts the session's messages to when it ends.
    public var webhookURL: String?
    /// `webhook_auth_header_name` and `webhook_auth_header_value`: a header the service adds to its
    /// webhook request (needs ``webhookURL``). The value is a secret: it is never in a log.
    public var webhookAuthHeader: WebhookAuthHeader?
    /// `llm_gateway`: the LLM Gateway request as JSON object text, such as
    /// `{"model":"…","messages":[{"role":"user","content":"…"}],"max_tokens":100}`.
    public var llmGateway: String?
    /// `customer_support_audio_capture`: lets AssemblyAI record the session's audio for support.
    public var customerSupportAudioCapture: Bool?
    /// `language_code`, such as `es` (deprecated by the service in favour of ``languageCodes``).
    public var languageCode: String?
    /// Further query parameters, sent as given after the ones above, for options newer than this
    /// library. A name of an option above (set or not), `token`, an empty name or a repeated name
    /// is rejected by ``validate()``. Values are not secret: never put a credential here.
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
        add("turn_left_pad_ms", turnLeftPad)
        add("session_heartbeat", sessionHeartbeat)
        add("acknowledge_silence", acknowledgeSilence)
        add("include_partial_turns", includePartialTurns)
        add("voice_focus", voiceFocus?.rawValue)
        add("voice_focus_threshold", voiceFocusThreshold)
        add("domain", domain?.rawValue)
        add("redact_pii", redactPII)
        add("redact_pii_policies", list: redactPIIPolicies)
        add("redact_pii_sub", redactPIISubstitution?.rawValue)
        add("speaker_labels_revision_interval_ms", speakerLabelsRevisionInterval)
        add("webhook_url", webhookURL)
        add("webhook_auth_header_name", webhookAuthHeader?.name)
        add("llm_gateway", llmGateway)
        add("customer_support_audio_capture", customerSupportAudioCapture)
        add("language_code", languageCode)
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
        try validateNewerOptions(fail)
        var known = Self.typedQueryNames
        for item in additionalQueryItems where !known.insert(item.name).inserted || item.name.isEmpty {
            // The service refuses a repeated key (3006).
            throw fail(
                "additional query item \"\(item.name)\" is empty, repeats or names a typed option; set the option itself"
            )
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

extension AssemblyAI {
    /// Every query name with a typed option (and `token`): a passthrough may not use them.
    package static let typedQueryNames: Set<String> = [
        "token", "speech_model", "sample_rate", "encoding", "format_turns", "end_of_turn_confidence_threshold",
        "min_turn_silence", "min_end_of_turn_silence_when_confident", "max_turn_silence", "vad_threshold",
        "keyterms_prompt", "prompt", "agent_context", "language_detection", "language_codes", "speaker_labels",
        "max_speakers", "inactivity_timeout", "mode", "interruption_delay", "continuous_partials",
        "filter_profanity", "turn_left_pad_ms", "session_heartbeat", "acknowledge_silence",
        "include_partial_turns", "voice_focus", "voice_focus_threshold", "domain", "redact_pii",
        "redact_pii_policies", "redact_pii_sub", "speaker_labels_revision_interval_ms", "webhook_url",
        "webhook_auth_header_name", "webhook_auth_header_value",
        "llm_gateway", "customer_support_audio_capture", "language_code",
    ]

    /// The checks of the options added with the SDK 1.8.2 parameters.
    private func validateNewerOptions(_ fail: (String) -> TranscriptionError) throws(TranscriptionError) {
        if let value = turnLeftPad, value < 0 { throw fail("turn_left_pad_ms must not be negative") }
        if let value = voiceFocusThreshold, !(0...1).contains(value) {
            throw fail("voice_focus_threshold must be 0…1")
        }
        if let value = domain, value.rawValue.isEmpty { throw fail("domain must not be empty") }
        if redactPII != true, redactPIIPolicies != nil || redactPIISubstitution != nil {
            throw fail("redact_pii_policies and redact_pii_sub need redact_pii = true")
        }
        if let policies = redactPIIPolicies, policies.contains(where: \.isEmpty) {
            throw fail("redact_pii_policies must not hold an empty name")
        }
        if let value = speakerLabelsRevisionInterval {
            if value < 0 { throw fail("speaker_labels_revision_interval_ms must not be negative") }
            if speakerLabels != true { throw fail("speaker_labels_revision_interval_ms needs speaker_labels = true") }
        }
        if let url = webhookURL, !(url.hasPrefix("https://") || url.hasPrefix("http://")) {
            throw fail("webhook_url must be an http:// or https:// URL")
        }
        if let header = webhookAuthHeader {
            if webhookURL == nil { throw fail("a webhook auth header needs webhook_url") }
            if header.name.isEmpty || header.value.isEmpty {
                throw fail("the webhook auth header's name and value must not be empty")
            }
        }
        if let text = llmGateway {
            guard let json = try? JSONValue(parsing: text), case .object = json else {
                throw fail("llm_gateway must be a JSON object")
            }
        }
        if let code = languageCode, code.isEmpty { throw fail("language_code must not be empty") }
    }
}
