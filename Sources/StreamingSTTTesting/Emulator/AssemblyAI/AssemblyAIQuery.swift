/// The connection parameters of an AssemblyAI v3 session, validated the way the service does.
struct AssemblyAIParameters: Sendable, Equatable {
    enum Family: Sendable { case u3Pro, universal }

    var speechModel = ""
    var family = Family.universal
    var sampleRate: Int?
    var encoding = "pcm_s16le"
    var formatTurns = false
    var endOfTurnConfidenceThreshold = 0.4
    var minTurnSilence = 400
    var maxTurnSilence = 1280
    var vadThreshold = 0.4
    var languageDetection = false
    var speakerLabels = false
    var inactivityTimeout: Int?
    var mode: String?
    var interruptionDelay = 500
    var keytermsPrompt: [String] = []
    var prompt: String?
    var agentContext: String?

    /// Bytes per sample for the PCM encodings; `nil` for compressed ones (no duration checks).
    var bytesPerSample: Int? {
        switch encoding {
        case "pcm_s16le": 2
        case "pcm_mulaw": 1
        default: nil
        }
    }

    static let u3Models: Set<String> = [
        "u3-rt-pro", "universal-3-5-pro", "universal-3-6", "universal-3-6-pro", "u3-rt-pro-beta-1", "u3-pro",
    ]
    static let universalModels: Set<String> = [
        "universal-streaming-english", "universal-streaming-multilingual", "whisper-rt",
    ]
    static let modelOrder = [
        "universal-streaming-english", "universal-streaming-multilingual", "whisper-rt", "u3-rt-pro",
        "universal-3-5-pro", "universal-3-6", "universal-3-6-pro", "u3-rt-pro-beta-1", "u3-pro",
    ]
    static let encodings = ["pcm_s16le", "pcm_mulaw", "opus", "ogg_opus", "aac"]

    static let booleanKeys: Set<String> = [
        "format_turns", "language_detection", "speaker_labels", "continuous_partials", "filter_profanity",
        "session_heartbeat", "acknowledge_silence", "include_partial_turns", "customer_support_audio_capture",
        "redact_pii",
    ]
    /// Integer parameters and their inclusive ranges.
    static let integerRanges: [String: ClosedRange<Int>] = [
        "sample_rate": 1...384_000,
        "min_turn_silence": 0...Int(Int32.max),
        "min_end_of_turn_silence_when_confident": 0...Int(Int32.max),
        "max_turn_silence": 0...Int(Int32.max),
        "inactivity_timeout": 5...3600,
        "max_speakers": 1...10,
        "speaker_labels_revision_interval_ms": 0...Int(Int32.max),
        "interruption_delay": 0...1000,
        "turn_left_pad_ms": 0...Int(Int32.max),
    ]
    /// Float parameters and their inclusive ranges.
    static let floatRanges: [String: ClosedRange<Double>] = [
        "end_of_turn_confidence_threshold": 0...1,
        "vad_threshold": 0...1,
        "voice_focus_threshold": 0...1,
        "noise_suppression_threshold": 0...1,
    ]
    static let enumValues: [String: [String]] = [
        "encoding": encodings,
        "mode": ["min_latency", "balanced", "max_accuracy"],
        "voice_focus": ["near-field", "far-field"],
        "noise_suppression_model": ["near-field", "far-field"],
        "domain": ["medical-v1"],
        "redact_pii_sub": ["hash", "entity_name"],
        "language": ["en", "multi"],
    ]
    static let listKeys: Set<String> = ["keyterms_prompt", "language_codes", "redact_pii_policies"]
    static let objectKeys: Set<String> = ["llm_gateway"]
    static let stringKeys: Set<String> = [
        "prompt", "agent_context", "language_code", "webhook_url", "webhook_auth_header_name",
        "webhook_auth_header_value", "token",
    ]

    static var knownKeys: Set<String> {
        var keys: Set<String> = ["speech_model"]
        keys.formUnion(booleanKeys)
        keys.formUnion(integerRanges.keys)
        keys.formUnion(floatRanges.keys)
        keys.formUnion(enumValues.keys)
        keys.formUnion(listKeys)
        keys.formUnion(objectKeys)
        keys.formUnion(stringKeys)
        return keys
    }

    /// Validates the query. Returns the parameters and the unknown keys (ignored, as the service
    /// does), or the validation errors, each as `Invalid '<param>': <reason>`.
    static func parse(
        _ query: [TestWebSocketServer.Handshake.QueryItem]
    ) -> Result<(AssemblyAIParameters, unknownKeys: [String]), ValidationErrors> {
        var errors: [String] = []
        var values: [String: String] = [:]
        var unknown: [String] = []
        var counts: [String: Int] = [:]
        for item in query { counts[item.name, default: 0] += 1 }
        let known = knownKeys
        for item in query {
            guard known.contains(item.name) else {
                if !unknown.contains(item.name) { unknown.append(item.name) }
                continue
            }
            if counts[item.name, default: 0] > 1 {
                // Seen from the service (keyterms_prompt=a&keyterms_prompt=b): one error per value.
                if listKeys.contains(item.name) || objectKeys.contains(item.name) {
                    errors.append("Invalid '\(item.name)': Value error, Invalid JSON array")
                } else {
                    errors.append("Invalid '\(item.name)': Value error, the parameter is repeated")
                }
                continue
            }
            values[item.name] = item.value
        }

        var parameters = AssemblyAIParameters()
        // speech_model: required (the default has changed over time; we insist on it).
        if let model = values["speech_model"] {
            if u3Models.contains(model) {
                parameters.family = .u3Pro
            } else if universalModels.contains(model) {
                parameters.family = .universal
            } else {
                let listed = modelOrder.map { "'\($0)'" }
                let expected = listed.dropLast().joined(separator: ", ") + " or " + listed.last!
                errors.append("Invalid 'speech_model': Input should be \(expected)")
            }
            parameters.speechModel = model
        } else if counts["speech_model"] == nil {
            errors.append("Invalid 'speech_model': Field required")
        }
        if parameters.family == .u3Pro {
            parameters.minTurnSilence = 100
            parameters.maxTurnSilence = 1000
            parameters.vadThreshold = 0.3
            parameters.mode = "balanced"
        }

        for (key, value) in values.sorted(by: { $0.key < $1.key }) {
            if booleanKeys.contains(key) {
                guard let flag = parseBool(value) else {
                    errors.append("Invalid '\(key)': Input should be a valid boolean")
                    continue
                }
                switch key {
                case "format_turns": parameters.formatTurns = flag
                case "language_detection": parameters.languageDetection = flag
                case "speaker_labels": parameters.speakerLabels = flag
                default: break
                }
            } else if let range = integerRanges[key] {
                guard let number = Int(value) else {
                    errors.append("Invalid '\(key)': Input should be a valid integer")
                    continue
                }
                guard range.contains(number) else {
                    errors.append("Invalid '\(key)': \(rangeText(range))")
                    continue
                }
                switch key {
                case "sample_rate": parameters.sampleRate = number
                case "min_turn_silence", "min_end_of_turn_silence_when_confident":
                    if key == "min_turn_silence" || values["min_turn_silence"] == nil {
                        parameters.minTurnSilence = number
                    }
                case "max_turn_silence": parameters.maxTurnSilence = number
                case "inactivity_timeout": parameters.inactivityTimeout = number
                case "interruption_delay": parameters.interruptionDelay = number
                default: break
                }
            } else if let range = floatRanges[key] {
                guard let number = Double(value), number.isFinite else {
                    errors.append("Invalid '\(key)': Input should be a valid number")
                    continue
                }
                guard range.contains(number) else {
                    errors.append(
                        "Invalid '\(key)': Input should be greater than or equal to \(EmulatorJSON.format(range.lowerBound)) "
                            + "and less than or equal to \(EmulatorJSON.format(range.upperBound))")
                    continue
                }
                switch key {
                case "end_of_turn_confidence_threshold": parameters.endOfTurnConfidenceThreshold = number
                case "vad_threshold": parameters.vadThreshold = number
                default: break
                }
            } else if let allowed = enumValues[key] {
                guard allowed.contains(value) else {
                    let listed = allowed.map { "'\($0)'" }
                    let expected =
                        listed.count == 1
                        ? listed[0] : listed.dropLast().joined(separator: ", ") + " or " + listed.last!
                    errors.append("Invalid '\(key)': Input should be \(expected)")
                    continue
                }
                switch key {
                case "encoding": parameters.encoding = value
                case "mode": if parameters.family == .u3Pro { parameters.mode = value }
                default: break
                }
            } else if listKeys.contains(key) {
                guard case .success(let json) = EmulatorJSON.parse(value), let items = json.arrayValue else {
                    errors.append("Invalid '\(key)': Value error, Invalid JSON array")
                    continue
                }
                let strings = items.compactMap(\.stringValue)
                guard strings.count == items.count else {
                    errors.append("Invalid '\(key)': Value error, Input should be a valid array of strings")
                    continue
                }
                if key == "keyterms_prompt" {
                    if strings.count > 100 {
                        errors.append("Invalid 'keyterms_prompt': Value error, at most 100 key terms are allowed")
                        continue
                    }
                    if let long = strings.first(where: { $0.unicodeScalars.count > 50 }) {
                        errors.append(
                            "Invalid 'keyterms_prompt': Value error, the key term '\(long)' is longer than 50 characters"
                        )
                        continue
                    }
                    parameters.keytermsPrompt = strings
                }
            } else if objectKeys.contains(key) {
                guard case .success(let json) = EmulatorJSON.parse(value), json.isObject else {
                    errors.append("Invalid '\(key)': Value error, Invalid JSON object")
                    continue
                }
            } else if key == "agent_context", value.unicodeScalars.count > 1500 {
                errors.append("Invalid 'agent_context': String should have at most 1500 characters")
            } else if key == "prompt" {
                parameters.prompt = value
            } else if key == "agent_context" {
                parameters.agentContext = value
            }
        }
        if parameters.bytesPerSample != nil, parameters.sampleRate == nil, counts["sample_rate"] == nil {
            errors.append("Invalid 'sample_rate': Field required")
        }
        if !errors.isEmpty { return .failure(ValidationErrors(errors: errors)) }
        return .success((parameters, unknown))
    }

    struct ValidationErrors: Error, Sendable {
        var errors: [String]
        /// The service's text: `User Input Validation Error: Invalid 'x': …; Invalid 'y': …`.
        var message: String { "User Input Validation Error: " + errors.joined(separator: "; ") }
    }

    /// `true`/`false` as the Node SDK sends them, `True`/`False` as the Python SDK does.
    static func parseBool(_ value: String) -> Bool? {
        switch value {
        case "true", "True": true
        case "false", "False": false
        default: nil
        }
    }

    static func rangeText(_ range: ClosedRange<Int>) -> String {
        if range.upperBound == Int(Int32.max) { return "Input should be greater than or equal to \(range.lowerBound)" }
        return
            "Input should be greater than or equal to \(range.lowerBound) and less than or equal to \(range.upperBound)"
    }
}
