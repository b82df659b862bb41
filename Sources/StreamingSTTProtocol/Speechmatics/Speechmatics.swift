/// Speechmatics Real-Time v2: the `StartRecognition` options of a session.
///
/// Every field of the service's `transcription_config`, `translation_config` and
/// `audio_events_config` is here; `nil` means "not sent" (the service's default applies).
///
/// ```swift
/// var speechmatics = Speechmatics(credentials: .apiKey(Secret(key)), language: "en")
/// speechmatics.enablePartials = true
/// speechmatics.maxDelay = 1.0
/// speechmatics.conversationConfig = .init(endOfUtteranceSilenceTrigger: 0.5)
/// ```
public struct Speechmatics: Sendable, Hashable {
    /// Where the service is.
    public enum Endpoint: Sendable, Hashable {
        /// `wss://eu.rt.speechmatics.com/v2`.
        case eu
        /// `wss://us.rt.speechmatics.com/v2`.
        case us
        /// `wss://global.rt.speechmatics.com/v2`, routed to the nearest region.
        case global
        /// An on-premises container: `ws://host:9000/v2` (no API key).
        case onPremises(host: String, port: Int = 9000)
        /// A full WebSocket URL, such as an emulator's `ws://127.0.0.1:PORT/v2`.
        case custom(String)

        /// The WebSocket URL without a query.
        public var url: String {
            switch self {
            case .eu: "wss://eu.rt.speechmatics.com/v2"
            case .us: "wss://us.rt.speechmatics.com/v2"
            case .global: "wss://global.rt.speechmatics.com/v2"
            case .onPremises(let host, let port): "ws://\(host.contains(":") ? "[\(host)]" : host):\(port)/v2"
            case .custom(let url): url
            }
        }
    }

    /// The audio encoding sent (`audio_format.encoding`).
    public enum Encoding: String, Sendable, Hashable {
        /// 32-bit float little-endian PCM.
        case pcmF32LE = "pcm_f32le"
        /// 16-bit little-endian PCM.
        case pcmS16LE = "pcm_s16le"
        /// G.711 mu-law.
        case mulaw

        /// Bytes per sample.
        public var bytesPerSample: Int {
            switch self {
            case .pcmF32LE: 4
            case .pcmS16LE: 2
            case .mulaw: 1
            }
        }
    }

    /// `operating_point` / `model`.
    public enum OperatingPoint: String, Sendable, Hashable {
        /// `standard`.
        case standard
        /// `enhanced`.
        case enhanced
    }

    /// `max_delay_mode`.
    public enum MaxDelayMode: String, Sendable, Hashable {
        /// `flexible` (default): may exceed `max_delay` to finish an entity.
        case flexible
        /// `fixed`.
        case fixed
    }

    /// `diarization`: `none` or `speaker` for single-channel audio; `channel` or
    /// `channel_and_speaker` for multichannel audio, whose channels are named by
    /// ``Speechmatics/channelDiarizationLabels`` (see `Docs/Channels.md`).
    public enum Diarization: String, Sendable, Hashable {
        /// `none`.
        case none
        /// `speaker`: label speakers `S1`, `S2`, ….
        case speaker
        /// `channel`: each channel of the audio is transcribed on its own, and its transcripts
        /// carry its label (``Transcript/channel``).
        case channel
        /// `channel_and_speaker`: as ``channel``, with the speakers of each channel labelled too.
        case channelAndSpeaker = "channel_and_speaker"

        /// Whether the audio is multichannel (``channel`` or ``channelAndSpeaker``).
        public var isPerChannel: Bool { self == .channel || self == .channelAndSpeaker }
    }

    /// `speaker_diarization_config` (with ``Diarization/speaker``).
    ///
    /// ```swift
    /// speechmatics.diarization = .speaker
    /// speechmatics.speakerDiarizationConfig = .init(
    ///     maxSpeakers: 4, speakers: [.init(label: "Alice", identifiers: [aliceIdentifier])])
    /// ```
    public struct SpeakerDiarizationConfig: Sendable, Hashable {
        /// `max_speakers`, at least 2.
        public var maxSpeakers: Int?
        /// `prefer_current_speaker`: fewer false switches between similar voices (service default
        /// `false`).
        public var preferCurrentSpeaker: Bool?
        /// `speaker_sensitivity`, 0…1: higher finds more speakers (service default 0.5).
        public var speakerSensitivity: Double?
        /// `get_speakers`: `true` asks for the speakers' identifiers once, at the end of the
        /// stream (a ``TranscriptEvent/speakers(_:)`` event before the session ends), like
        /// `GetSpeakers` with `final: true`.
        public var getSpeakers: Bool?
        /// `speakers`: known speakers to recognise (speaker identification); their words carry
        /// these labels instead of `S1`, `S2`, …. At most 50 identifiers in all.
        public var speakers: [KnownSpeaker]

        /// Creates a diarization configuration.
        public init(
            maxSpeakers: Int? = nil, preferCurrentSpeaker: Bool? = nil, speakerSensitivity: Double? = nil,
            getSpeakers: Bool? = nil, speakers: [KnownSpeaker] = []
        ) {
            self.maxSpeakers = maxSpeakers
            self.preferCurrentSpeaker = preferCurrentSpeaker
            self.speakerSensitivity = speakerSensitivity
            self.getSpeakers = getSpeakers
            self.speakers = speakers
        }
    }

    /// A known speaker (an entry of `speaker_diarization_config.speakers`): a label of your own and
    /// the identifiers a previous session's ``SpeakersResult`` gave for that voice.
    public struct KnownSpeaker: Sendable, Hashable {
        /// `label`: the name words of this speaker carry. Not `UU`, not `S` followed by digits,
        /// and without leading or trailing white space.
        public var label: String
        /// `speaker_identifiers`.
        public var identifiers: [String]

        /// Creates a known speaker.
        public init(label: String, identifiers: [String]) {
            self.label = label
            self.identifiers = identifiers
        }

        /// Whether the service refuses `label`: it matches `^(S\d+|UU|\s+.*|\S+.*\s+)$`.
        static func isReserved(_ label: String) -> Bool {
            if label == "UU" { return true }
            if label.first == "S", label.count > 1, label.dropFirst().allSatisfy({ ("0"..."9").contains($0) }) {
                return true
            }
            if let first = label.first, first.isWhitespace { return true }
            if let last = label.last, last.isWhitespace { return true }
            return false
        }
    }

    /// An `additional_vocab` entry.
    public struct VocabularyEntry: Sendable, Hashable {
        /// The word or phrase (at most 6 words).
        public var content: String
        /// How it sounds, if it differs from its spelling.
        public var soundsLike: [String]
        /// Creates an entry.
        public init(_ content: String, soundsLike: [String] = []) {
            self.content = content
            self.soundsLike = soundsLike
        }
    }

    /// `punctuation_overrides`.
    public struct PunctuationOverrides: Sendable, Hashable {
        /// `permitted_marks`: single characters, or `["all"]`.
        public var permittedMarks: [String]?
        /// `sensitivity`, 0…1.
        public var sensitivity: Double?
        /// Creates overrides.
        public init(permittedMarks: [String]? = nil, sensitivity: Double? = nil) {
            self.permittedMarks = permittedMarks
            self.sensitivity = sensitivity
        }
    }

    /// `conversation_config`.
    public struct ConversationConfig: Sendable, Hashable {
        /// `end_of_utterance_silence_trigger` in seconds, 0…2 (0 disables `EndOfUtterance`).
        public var endOfUtteranceSilenceTrigger: Double
        /// Creates a conversation configuration.
        public init(endOfUtteranceSilenceTrigger: Double) {
            self.endOfUtteranceSilenceTrigger = endOfUtteranceSilenceTrigger
        }
    }

    /// `transcript_filtering_config`.
    public struct TranscriptFilteringConfig: Sendable, Hashable {
        /// `remove_disfluencies`.
        public var removeDisfluencies: Bool?
        /// `replacements`: `from` → `to`.
        public var replacements: [Replacement]
        /// A replacement.
        public struct Replacement: Sendable, Hashable {
            /// Text to replace.
            public var from: String
            /// Replacement text.
            public var to: String
            /// Creates a replacement.
            public init(from: String, to: String) {
                self.from = from
                self.to = to
            }
        }
        /// Creates a filtering configuration.
        public init(removeDisfluencies: Bool? = nil, replacements: [Replacement] = []) {
            self.removeDisfluencies = removeDisfluencies
            self.replacements = replacements
        }
    }

    /// `translation_config`.
    public struct TranslationConfig: Sendable, Hashable {
        /// `target_languages`, at most 5.
        public var targetLanguages: [String]
        /// `enable_partials`: partial translations too (service default `false`).
        public var enablePartials: Bool?
        /// Creates a translation configuration.
        public init(targetLanguages: [String], enablePartials: Bool? = nil) {
            self.targetLanguages = targetLanguages
            self.enablePartials = enablePartials
        }
    }

    /// How the session authenticates (`.none` for an on-premises container).
    public var credentials: Credentials
    /// Where the service is.
    public var endpoint: Endpoint
    /// `language` (required), such as `en`.
    public var language: String
    /// `audio_format.encoding`.
    public var encoding: Encoding
    /// `audio_format.sample_rate` in Hz.
    public var sampleRate: Int
    /// `operating_point` (older servers) — set this or ``model``, not both.
    public var operatingPoint: OperatingPoint?
    /// `model`: `standard`, `enhanced` or a newer name.
    public var model: String?
    /// `domain`, such as `finance` or `medical`.
    public var domain: String?
    /// `output_locale`, such as `en-US`.
    public var outputLocale: String?
    /// `enable_partials` (service default `false`).
    public var enablePartials: Bool?
    /// `max_delay` in seconds, 0.7…4 (service default 4).
    public var maxDelay: Double?
    /// `max_delay_mode`.
    public var maxDelayMode: MaxDelayMode?
    /// `diarization`.
    public var diarization: Diarization?
    /// `speaker_diarization_config`.
    public var speakerDiarizationConfig: SpeakerDiarizationConfig?
    /// `channel_diarization_labels`: the names of the audio's channels, in the order their
    /// samples are interleaved (with ``Diarization/channel`` or ``Diarization/channelAndSpeaker``;
    /// the hosted service takes at most 2). Each channel's audio then goes as `AddChannelAudio`,
    /// and the transcriber's wire format has this many channels.
    public var channelDiarizationLabels: [String] = []
    /// `additional_vocab`, at most 1000 entries.
    public var additionalVocab: [VocabularyEntry]
    /// `punctuation_overrides`.
    public var punctuationOverrides: PunctuationOverrides?
    /// `conversation_config`.
    public var conversationConfig: ConversationConfig?
    /// `audio_filtering_config.volume_threshold`, 0…100.
    public var audioFilteringVolumeThreshold: Double?
    /// `transcript_filtering_config`.
    public var transcriptFilteringConfig: TranscriptFilteringConfig?
    /// `enable_entities`.
    public var enableEntities: Bool?
    /// `translation_config`: ``TranscriptEvent/translation(_:)`` events for each target language.
    public var translationConfig: TranslationConfig?
    /// `audio_events_config.types`: any type names the service knows (realtime today: `applause`,
    /// `laughter`, `music`); `[]` sends `{}`, which asks for every type. `nil`: no audio events.
    public var audioEventTypes: [String]?
    /// At most this many audio chunks may wait for their `AudioAdded` acknowledgement; when that
    /// many do, the sender waits until half of them are acknowledged (the service reads audio at
    /// its own pace).
    public var maxUnacknowledgedChunks: Int
    /// Further `transcription_config` members for options newer than this library: name → JSON
    /// text of the value (`"true"`, `"2"`, `"\"text\""`, `"{\"a\":1}"`), added after the typed
    /// members in name order. ``validate()`` refuses invalid JSON, an empty name and the name of a
    /// typed option (set or not).
    public var additionalTranscriptionConfig: [String: String] = [:]
    /// Further top-level `StartRecognition` members, as ``additionalTranscriptionConfig``
    /// (`message`, `audio_format`, `transcription_config`, `translation_config` and
    /// `audio_events_config` are refused).
    public var additionalStartRecognition: [String: String] = [:]

    /// Creates a configuration with the service's defaults for everything not given.
    public init(
        credentials: Credentials,
        language: String = "en",
        sampleRate: Int = 16000,
        encoding: Encoding = .pcmS16LE,
        endpoint: Endpoint = .eu
    ) {
        self.credentials = credentials
        self.endpoint = endpoint
        self.language = language
        self.encoding = encoding
        self.sampleRate = sampleRate
        self.additionalVocab = []
        self.maxUnacknowledgedChunks = 512
    }

    /// Checks every option against the service's documented limits.
    /// - Throws: ``TranscriptionError`` with code ``TranscriptionError/Code/invalidConfiguration``.
    public func validate() throws(TranscriptionError) {
        func fail(_ reason: String) -> TranscriptionError {
            TranscriptionError(.invalidConfiguration, provider: .speechmatics, reason: reason)
        }
        if language.isEmpty { throw fail("language must not be empty") }
        if !(4000...192_000).contains(sampleRate) {
            throw fail("sample_rate must be 4000…192000 Hz, got \(sampleRate)")
        }
        if operatingPoint != nil && model != nil { throw fail("set operating_point or model, not both") }
        if outputLocale?.isEmpty == true { throw fail("output_locale must not be empty (leave it unset)") }
        if domain?.isEmpty == true { throw fail("domain must not be empty (leave it unset)") }
        if let value = maxDelay, !(0.7...4).contains(value) { throw fail("max_delay must be 0.7…4 seconds") }
        if let config = speakerDiarizationConfig {
            if let value = config.maxSpeakers, value < 2 { throw fail("max_speakers must be at least 2") }
            if let value = config.speakerSensitivity, !(0...1).contains(value) {
                throw fail("speaker_sensitivity must be 0…1")
            }
            if let speaker = config.speakers.first(where: { KnownSpeaker.isReserved($0.label) }) {
                throw fail(
                    "speaker label \"\(speaker.label)\" is reserved (UU, S1, S2, …) or has leading or trailing white space"
                )
            }
            if config.speakers.reduce(0, { $0 + $1.identifiers.count }) > 50 {
                throw fail("speakers hold at most 50 speaker_identifiers in all")
            }
        }
        if diarization?.isPerChannel == true {
            if channelDiarizationLabels.isEmpty {
                throw fail("channel diarization needs channel_diarization_labels, one per channel")
            }
            if channelDiarizationLabels.contains(where: \.isEmpty) { throw fail("a channel label is empty") }
            if Set(channelDiarizationLabels).count != channelDiarizationLabels.count {
                throw fail("channel labels must be unique")
            }
        } else if !channelDiarizationLabels.isEmpty {
            throw fail("channel_diarization_labels needs diarization channel or channel_and_speaker")
        }
        if additionalVocab.count > 1000 { throw fail("additional_vocab holds at most 1000 entries") }
        for entry in additionalVocab {
            if entry.content.isEmpty || entry.soundsLike.contains(where: \.isEmpty) {
                throw fail("additional_vocab entries and their sounds_like must not be empty")
            }
        }
        if let overrides = punctuationOverrides {
            if let value = overrides.sensitivity, !(0...1).contains(value) {
                throw fail("punctuation sensitivity must be 0…1")
            }
            if let marks = overrides.permittedMarks, marks.contains(where: { $0 != "all" && $0.count != 1 }) {
                throw fail("permitted_marks are single characters or \"all\"")
            }
        }
        if let config = conversationConfig, !(0...2).contains(config.endOfUtteranceSilenceTrigger) {
            throw fail("end_of_utterance_silence_trigger must be 0…2 seconds")
        }
        if let value = audioFilteringVolumeThreshold, !(0...100).contains(value) {
            throw fail("volume_threshold must be 0…100")
        }
        if let translation = translationConfig {
            if translation.targetLanguages.isEmpty || translation.targetLanguages.count > 5 {
                throw fail("translation target_languages must hold 1…5 languages")
            }
            if translation.targetLanguages.contains(where: \.isEmpty) {
                throw fail("translation target languages must not be empty")
            }
        }
        // An open list: the service names new types without a new protocol version.
        if let types = audioEventTypes, types.contains(where: \.isEmpty) {
            throw fail("audio event types must not be empty")
        }
        if maxUnacknowledgedChunks < 1 { throw fail("maxUnacknowledgedChunks must be at least 1") }
        try validatePassthrough(fail)
        switch credentials {
        case .apiKey(let key) where key.isEmpty, .temporaryToken(let key) where key.isEmpty:
            throw fail("the API key or token is empty")
        default: break
        }
        guard endpoint.url.hasPrefix("ws://") || endpoint.url.hasPrefix("wss://") else {
            throw fail("the endpoint must be a ws:// or wss:// URL")
        }
    }
}
