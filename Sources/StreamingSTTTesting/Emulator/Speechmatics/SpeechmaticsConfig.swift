/// A Speechmatics `Error`: its type, reason and the close code that follows it.
struct SpeechmaticsError: Error, Sendable, Equatable {
    var type: String
    var reason: String

    /// The close code for each error type. Documented: protocol_error 1003, not_authorised 4001,
    /// not_allowed 4003, invalid_model 4004, quota_exceeded 4005, timelimit_exceeded 4006,
    /// job_error 4013, idle/session timeouts 1008, internal 1011. The others (invalid_message,
    /// invalid_config, invalid_audio_type, invalid_output_format) have no documented code: the
    /// emulator uses 1003, as for protocol_error (an assumption; see Docs/Emulator.md).
    var closeCode: Int {
        switch type {
        case "not_authorised": 4001
        case "not_allowed": 4003
        case "invalid_model", "invalid_language": 4004
        case "quota_exceeded": 4005
        case "timelimit_exceeded": 4006
        case "job_error": 4013
        case "idle_timeout", "session_timeout": 1008
        case "unknown_error", "internal_error": 1011
        default: 1003
        }
    }

    static func config(_ reason: String) -> SpeechmaticsError { .init(type: "invalid_config", reason: reason) }
    static func protocolError(_ reason: String) -> SpeechmaticsError { .init(type: "protocol_error", reason: reason) }
}

/// A validated `StartRecognition`.
struct SpeechmaticsConfig: Sendable, Equatable {
    var language = "en"
    var encoding: String?
    var sampleRate: Int?
    var enablePartials = false
    var maxDelay = 4.0
    var maxDelayMode = "flexible"
    var diarization = "none"
    var endOfUtteranceSilenceTrigger = 0.0
    var permittedMarks: Set<String>?
    var getSpeakersAtEnd = false
    /// `translation_config.target_languages` (empty: no translations).
    var translationTargets: [String] = []
    /// `translation_config.enable_partials`.
    var translationPartials = false
    /// `translation_config` came with an empty target list (answered with a Warning).
    var emptyTranslationTargets = false
    /// `audio_events_config.types`: `nil` without audio events, `[]` for every type.
    var audioEventTypes: [String]?
    /// `channel_diarization_labels` of a multichannel session (channel diarization), in order.
    var channelLabels: [String] = []
    /// The transcription_config as received, to compare `SetRecognitionConfig` with.
    var transcriptionConfig: [EmulatorJSON.Member] = []

    var bytesPerSample: Int? {
        switch encoding {
        case "pcm_f32le": 4
        case "pcm_s16le": 2
        case "mulaw": 1
        default: nil
        }
    }

    var speakers: Bool { diarization == "speaker" || diarization == "channel_and_speaker" }

    /// Whether the session is multichannel (`channel` or `channel_and_speaker`).
    var perChannel: Bool { diarization == "channel" || diarization == "channel_and_speaker" }

    /// The most channels the hosted service takes (protocol note §5.3: "at most 2 on SaaS").
    static let maxChannels = 2

    /// Languages the emulator knows, with their description, word delimiter and direction.
    static let languages: [String: (description: String, delimiter: String, rtl: Bool)] = [
        "ar": ("Arabic", " ", true), "ba": ("Bashkir", " ", false), "eu": ("Basque", " ", false),
        "be": ("Belarusian", " ", false), "bn": ("Bengali", " ", false), "bg": ("Bulgarian", " ", false),
        "yue": ("Cantonese", "", false), "ca": ("Catalan", " ", false), "hr": ("Croatian", " ", false),
        "cs": ("Czech", " ", false), "da": ("Danish", " ", false), "nl": ("Dutch", " ", false),
        "en": ("English", " ", false), "eo": ("Esperanto", " ", false), "et": ("Estonian", " ", false),
        "fi": ("Finnish", " ", false), "fr": ("French", " ", false), "gl": ("Galician", " ", false),
        "de": ("German", " ", false), "el": ("Greek", " ", false), "he": ("Hebrew", " ", true),
        "hi": ("Hindi", " ", false), "hu": ("Hungarian", " ", false), "id": ("Indonesian", " ", false),
        "ia": ("Interlingua", " ", false), "ga": ("Irish", " ", false), "it": ("Italian", " ", false),
        "ja": ("Japanese", "", false), "ko": ("Korean", " ", false), "lv": ("Latvian", " ", false),
        "lt": ("Lithuanian", " ", false), "ms": ("Malay", " ", false), "mt": ("Maltese", " ", false),
        "cmn": ("Mandarin", "", false), "mr": ("Marathi", " ", false), "mn": ("Mongolian", " ", false),
        "no": ("Norwegian", " ", false), "fa": ("Persian", " ", true), "pl": ("Polish", " ", false),
        "pt": ("Portuguese", " ", false), "ro": ("Romanian", " ", false), "ru": ("Russian", " ", false),
        "sk": ("Slovakian", " ", false), "sl": ("Slovenian", " ", false), "es": ("Spanish", " ", false),
        "sw": ("Swahili", " ", false), "sv": ("Swedish", " ", false), "tl": ("Tagalog", " ", false),
        "ta": ("Tamil", " ", false), "th": ("Thai", "", false), "tr": ("Turkish", " ", false),
        "uk": ("Ukrainian", " ", false), "ur": ("Urdu", " ", true), "ug": ("Uyghur", " ", true),
        "vi": ("Vietnamese", " ", false), "cy": ("Welsh", " ", false), "cmn_en": ("Mandarin & English", " ", false),
        "en_ms": ("English & Malay", " ", false), "en_ta": ("English & Tamil", " ", false),
        "multi": ("Multilingual", " ", false),
    ]

    /// Validates a `StartRecognition` message (see the field table in the protocol notes).
    static func parse(
        _ message: EmulatorJSON, pathLanguage: String?
    ) -> Result<
        (SpeechmaticsConfig, notes: [String]), SpeechmaticsError
    > {
        var notes: [String] = []
        var config = SpeechmaticsConfig()
        for key in message.keys
        where !["message", "audio_format", "transcription_config", "translation_config", "audio_events_config"]
            .contains(key)
        {
            notes.append("StartRecognition: ignored unknown field '\(key)'")
        }
        // audio_format
        guard let format = message["audio_format"] else {
            return .failure(.config("StartRecognition requires audio_format"))
        }
        guard format.isObject else {
            return .failure(.init(type: "invalid_audio_type", reason: "audio_format must be an object"))
        }
        switch format["type"]?.stringValue {
        case "raw":
            guard let encoding = format["encoding"]?.stringValue,
                ["pcm_f32le", "pcm_s16le", "mulaw"].contains(encoding)
            else {
                return .failure(
                    .init(
                        type: "invalid_audio_type",
                        reason: "audio_format.encoding must be one of pcm_f32le, pcm_s16le, mulaw"))
            }
            guard let rate = format["sample_rate"]?.intValue, rate > 0, rate <= 384_000 else {
                return .failure(
                    .init(type: "invalid_audio_type", reason: "audio_format.sample_rate must be a positive integer"))
            }
            config.encoding = encoding
            config.sampleRate = rate
        case "file":
            break
        default:
            return .failure(.init(type: "invalid_audio_type", reason: "audio_format.type must be raw or file"))
        }
        // transcription_config
        guard let transcription = message["transcription_config"] else {
            return .failure(.config("StartRecognition requires transcription_config"))
        }
        guard let members = transcription.members else {
            return .failure(.config("transcription_config must be an object"))
        }
        config.transcriptionConfig = members
        if let error = validateTranscription(transcription, into: &config, notes: &notes, midSession: false) {
            return .failure(error)
        }
        if let pathLanguage, pathLanguage != config.language {
            return .failure(
                .config(
                    "transcription_config.language '\(config.language)' does not match the language in the URL '\(pathLanguage)'"
                ))
        }
        // translation_config
        if let translation = message["translation_config"] {
            guard translation.isObject else { return .failure(.config("translation_config must be an object")) }
            guard let targets = translation["target_languages"]?.arrayValue,
                targets.allSatisfy({ !($0.stringValue ?? "").isEmpty })
            else {
                return .failure(
                    .config("translation_config.target_languages must be an array of language codes"))
            }
            if targets.count > 5 { return .failure(.config("translation_config allows at most 5 target languages")) }
            if let partials = translation["enable_partials"], partials.boolValue == nil {
                return .failure(.config("translation_config.enable_partials must be a boolean"))
            }
            config.translationTargets = targets.compactMap(\.stringValue)
            config.translationPartials = translation["enable_partials"]?.boolValue ?? false
            config.emptyTranslationTargets = targets.isEmpty
            for key in translation.keys where !["target_languages", "enable_partials"].contains(key) {
                notes.append("translation_config: ignored unknown field '\(key)'")
            }
        }
        // audio_events_config: an open list of type names; without `types`, every type.
        if let events = message["audio_events_config"] {
            guard events.isObject else { return .failure(.config("audio_events_config must be an object")) }
            if let types = events["types"] {
                guard let list = types.arrayValue, list.allSatisfy({ !($0.stringValue ?? "").isEmpty }) else {
                    return .failure(.config("audio_events_config.types must be an array of type names"))
                }
                config.audioEventTypes = list.compactMap(\.stringValue)
                for type in config.audioEventTypes ?? [] where !["applause", "laughter", "music"].contains(type) {
                    notes.append("audio_events_config: type '\(type)' is not one of applause, laughter, music")
                }
            } else {
                config.audioEventTypes = []
            }
            for key in events.keys where key != "types" {
                notes.append("audio_events_config: ignored unknown field '\(key)'")
            }
        }
        return .success((config, notes))
    }

    /// Validates transcription_config fields into `config`; `nil` when valid.
    static func validateTranscription(
        _ transcription: EmulatorJSON, into config: inout SpeechmaticsConfig, notes: inout [String], midSession: Bool
    ) -> SpeechmaticsError? {
        func number(_ key: String, _ range: ClosedRange<Double>) -> Result<Double?, SpeechmaticsError> {
            guard let value = transcription[key] else { return .success(nil) }
            guard let number = value.numberValue, range.contains(number) else {
                return .failure(
                    .config(
                        "transcription_config.\(key) must be a number from \(EmulatorJSON.format(range.lowerBound)) "
                            + "to \(EmulatorJSON.format(range.upperBound))"))
            }
            return .success(number)
        }
        func bool(_ object: EmulatorJSON, _ key: String, _ path: String) -> Result<Bool?, SpeechmaticsError> {
            guard let value = object[key] else { return .success(nil) }
            guard let flag = value.boolValue else { return .failure(.config("\(path).\(key) must be a boolean")) }
            return .success(flag)
        }
        func oneOf(_ key: String, _ allowed: [String]) -> Result<String?, SpeechmaticsError> {
            guard let value = transcription[key] else { return .success(nil) }
            guard let text = value.stringValue, allowed.contains(text) else {
                return .failure(
                    .config("transcription_config.\(key) must be one of \(allowed.joined(separator: ", "))"))
            }
            return .success(text)
        }

        // language
        guard let languageValue = transcription["language"] else {
            return .config("transcription_config.language is required")
        }
        guard let language = languageValue.stringValue, !language.isEmpty else {
            return .init(type: "invalid_language", reason: "transcription_config.language must be a language code")
        }
        if midSession {
            if language != config.language {
                return .config("transcription_config.language cannot be changed during a session")
            }
        } else {
            guard languages[language] != nil else {
                return .init(type: "invalid_model", reason: "lang pack [\(language)] is not supported")
            }
            config.language = language
        }
        do {
            if let value = try number("max_delay", 0.7...4).get() { config.maxDelay = value }
            if let value = try oneOf("max_delay_mode", ["flexible", "fixed"]).get() { config.maxDelayMode = value }
            if let value = try bool(transcription, "enable_partials", "transcription_config").get() {
                config.enablePartials = value
            }
            if let filtering = transcription["audio_filtering_config"] {
                guard filtering.isObject else {
                    throw SpeechmaticsError.config("audio_filtering_config must be an object")
                }
                if let threshold = filtering["volume_threshold"],
                    !(threshold.numberValue.map { (0...100).contains($0) } ?? false)
                {
                    throw SpeechmaticsError.config("audio_filtering_config.volume_threshold must be from 0 to 100")
                }
            }
            if let conversation = transcription["conversation_config"] {
                guard conversation.isObject else {
                    throw SpeechmaticsError.config("conversation_config must be an object")
                }
                if let trigger = conversation["end_of_utterance_silence_trigger"] {
                    guard let seconds = trigger.numberValue, (0...2).contains(seconds) else {
                        throw SpeechmaticsError.config(
                            "conversation_config.end_of_utterance_silence_trigger must be a number from 0 to 2")
                    }
                    config.endOfUtteranceSilenceTrigger = seconds
                }
            }
        } catch let error as SpeechmaticsError {
            return error
        } catch {
            return .config("\(error)")
        }
        if midSession { return nil }

        do {
            if let value = try oneOf("diarization", ["none", "speaker", "channel", "channel_and_speaker"]).get() {
                config.diarization = value
            }
            _ = try oneOf("model", ["standard", "enhanced", "melia-1"]).get()
            _ = try oneOf("operating_point", ["standard", "enhanced", "melia-1"]).get()
            if transcription["model"] != nil && transcription["operating_point"] != nil {
                throw SpeechmaticsError.config("set either model or operating_point, not both")
            }
            for key in ["domain", "output_locale"] {
                if let value = transcription[key] {
                    guard let text = value.stringValue, !text.isEmpty else {
                        throw SpeechmaticsError.config("transcription_config.\(key) must be a non-empty string")
                    }
                }
            }
            _ = try bool(transcription, "enable_entities", "transcription_config").get()
            _ = try bool(transcription, "streaming_mode", "transcription_config").get()
            _ = try bool(transcription, "language_hints_strict", "transcription_config").get()
            if let vocabulary = transcription["additional_vocab"] {
                guard let entries = vocabulary.arrayValue, entries.count <= 1000 else {
                    throw SpeechmaticsError.config("additional_vocab must be an array of at most 1000 entries")
                }
                for entry in entries {
                    if let text = entry.stringValue, !text.isEmpty { continue }
                    guard entry.isObject, let content = entry["content"]?.stringValue, !content.isEmpty else {
                        throw SpeechmaticsError.config(
                            "additional_vocab entries must be non-empty strings or {content, sounds_like}")
                    }
                    if let sounds = entry["sounds_like"] {
                        guard let list = sounds.arrayValue, !list.isEmpty,
                            list.allSatisfy({ !($0.stringValue ?? "").isEmpty })
                        else {
                            throw SpeechmaticsError.config("additional_vocab sounds_like must list at least one string")
                        }
                    }
                }
            }
            if let speakers = transcription["speaker_diarization_config"] {
                guard speakers.isObject else {
                    throw SpeechmaticsError.config("speaker_diarization_config must be an object")
                }
                if let maximum = speakers["max_speakers"], !(maximum.intValue.map { $0 >= 2 } ?? false) {
                    throw SpeechmaticsError.config(
                        "speaker_diarization_config.max_speakers must be an integer of at least 2")
                }
                _ = try bool(speakers, "prefer_current_speaker", "speaker_diarization_config").get()
                if let value = try bool(speakers, "get_speakers", "speaker_diarization_config").get() {
                    config.getSpeakersAtEnd = value
                }
                if let sensitivity = speakers["speaker_sensitivity"],
                    !(sensitivity.numberValue.map { (0...1).contains($0) } ?? false)
                {
                    throw SpeechmaticsError.config("speaker_diarization_config.speaker_sensitivity must be from 0 to 1")
                }
                if let list = speakers["speakers"] {
                    guard let entries = list.arrayValue else {
                        throw SpeechmaticsError.config("speaker_diarization_config.speakers must be an array")
                    }
                    var identifiers = 0
                    for entry in entries {
                        guard let label = entry["label"]?.stringValue,
                            let ids = entry["speaker_identifiers"]?.arrayValue,
                            ids.allSatisfy({ $0.stringValue != nil })
                        else {
                            throw SpeechmaticsError.config("each speaker needs a label and speaker_identifiers")
                        }
                        if Self.isReservedSpeakerLabel(label) {
                            throw SpeechmaticsError.config("speaker label '\(label)' is reserved or malformed")
                        }
                        identifiers += ids.count
                    }
                    if identifiers > 50 { throw SpeechmaticsError.config("at most 50 speaker identifiers are allowed") }
                }
            }
            if let filtering = transcription["transcript_filtering_config"] {
                guard filtering.isObject else {
                    throw SpeechmaticsError.config("transcript_filtering_config must be an object")
                }
                _ = try bool(filtering, "remove_disfluencies", "transcript_filtering_config").get()
                if let replacements = filtering["replacements"] {
                    guard let list = replacements.arrayValue,
                        list.allSatisfy({ $0["from"]?.stringValue != nil && $0["to"]?.stringValue != nil })
                    else {
                        throw SpeechmaticsError.config("transcript_filtering_config.replacements must be [{from, to}]")
                    }
                }
            }
            if let punctuation = transcription["punctuation_overrides"] {
                guard punctuation.isObject else {
                    throw SpeechmaticsError.config("punctuation_overrides must be an object")
                }
                if let marks = punctuation["permitted_marks"] {
                    guard let list = marks.arrayValue,
                        list.allSatisfy({ mark in
                            guard let text = mark.stringValue else { return false }
                            return text == "all" || text.count == 1
                        })
                    else {
                        throw SpeechmaticsError.config(
                            "punctuation_overrides.permitted_marks must list single characters or \"all\"")
                    }
                    let set = Set(list.compactMap(\.stringValue))
                    config.permittedMarks = set.contains("all") ? nil : set
                }
                if let sensitivity = punctuation["sensitivity"],
                    !(sensitivity.numberValue.map { (0...1).contains($0) } ?? false)
                {
                    throw SpeechmaticsError.config("punctuation_overrides.sensitivity must be from 0 to 1")
                }
            }
            for key in ["channel_diarization_labels", "language_hints"] {
                if let value = transcription[key] {
                    guard let list = value.arrayValue, list.allSatisfy({ $0.stringValue != nil }) else {
                        throw SpeechmaticsError.config("transcription_config.\(key) must be an array of strings")
                    }
                }
            }
            let labels = transcription["channel_diarization_labels"]?.arrayValue?.compactMap(\.stringValue) ?? []
            if config.perChannel {
                // Channel diarization names its channels; each label once, at most 2 on SaaS.
                guard !labels.isEmpty else {
                    throw SpeechmaticsError.config(
                        "diarization \(config.diarization) requires channel_diarization_labels")
                }
                if labels.contains(where: \.isEmpty) || Set(labels).count != labels.count {
                    throw SpeechmaticsError.config("channel_diarization_labels must be unique non-empty strings")
                }
                if labels.count > Self.maxChannels {
                    throw SpeechmaticsError.config("at most \(Self.maxChannels) channels are supported")
                }
                config.channelLabels = labels
            } else if !labels.isEmpty {
                throw SpeechmaticsError.config(
                    "channel_diarization_labels requires diarization channel or channel_and_speaker")
            }
            if let ctrl = transcription["ctrl"], !ctrl.isObject {
                throw SpeechmaticsError.config("transcription_config.ctrl must be an object")
            }
        } catch let error as SpeechmaticsError {
            return error
        } catch {
            return .config("\(error)")
        }
        let known: Set<String> = [
            "language", "domain", "output_locale", "additional_vocab", "diarization", "max_delay", "max_delay_mode",
            "speaker_diarization_config", "audio_filtering_config", "transcript_filtering_config", "enable_partials",
            "enable_entities", "model", "operating_point", "punctuation_overrides", "conversation_config",
            "channel_diarization_labels", "streaming_mode", "ctrl", "language_hints", "language_hints_strict",
        ]
        for key in transcription.keys where !known.contains(key) {
            notes.append("transcription_config: ignored unknown field '\(key)'")
        }
        return nil
    }

    /// Labels matching `^(S\d+|UU|\s+.*|\S+.*\s+)$` are reserved or malformed.
    static func isReservedSpeakerLabel(_ label: String) -> Bool {
        if label == "UU" { return true }
        if label.first == "S", label.count > 1, label.dropFirst().allSatisfy(\.isNumber) { return true }
        if let first = label.first, first.isWhitespace { return true }
        if let last = label.last, last.isWhitespace { return true }
        return false
    }

    /// Fields `SetRecognitionConfig` may change.
    static let midSessionFields: Set<String> = [
        "language", "max_delay", "max_delay_mode", "audio_filtering_config", "enable_partials", "conversation_config",
    ]
}
