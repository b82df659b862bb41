/// A mid-session configuration change (``StreamingTranscriber/updateConfiguration(_:)``).
///
/// Set only what should change. AssemblyAI sends it as `UpdateConfiguration` (the fields its
/// models accept mid-stream); Speechmatics as `SetRecognitionConfig` (only `max_delay`,
/// `max_delay_mode`, `enable_partials`, `conversation_config` and `audio_filtering_config` may
/// change). A field the provider cannot change mid-session is rejected before anything is sent.
public struct ConfigurationUpdate: Sendable, Hashable {
    /// AssemblyAI `end_of_turn_confidence_threshold`, 0…1.
    public var endOfTurnConfidenceThreshold: Double?
    /// AssemblyAI `min_turn_silence`, ms.
    public var minTurnSilence: Int?
    /// AssemblyAI `max_turn_silence`, ms.
    public var maxTurnSilence: Int?
    /// AssemblyAI `vad_threshold`, 0…1.
    public var vadThreshold: Double?
    /// AssemblyAI `format_turns`.
    public var formatTurns: Bool?
    /// AssemblyAI `keyterms_prompt` (`[]` clears the key terms).
    public var keytermsPrompt: [String]?
    /// AssemblyAI `prompt`.
    public var prompt: String?
    /// AssemblyAI `agent_context`.
    public var agentContext: String?
    /// AssemblyAI `language_codes` (`[]` clears the steering).
    public var languageCodes: [String]?
    /// Speechmatics `max_delay`, 0.7…4 s.
    public var maxDelay: Double?
    /// Speechmatics `max_delay_mode`.
    public var maxDelayMode: Speechmatics.MaxDelayMode?
    /// Speechmatics `enable_partials`.
    public var enablePartials: Bool?
    /// Speechmatics `conversation_config.end_of_utterance_silence_trigger`, 0…2 s.
    public var endOfUtteranceSilenceTrigger: Double?
    /// Speechmatics `audio_filtering_config.volume_threshold`, 0…100.
    public var audioFilteringVolumeThreshold: Double?

    /// Creates an empty update; set the fields to change.
    public init() {}

    private var hasSpeechmaticsFields: Bool {
        maxDelay != nil || maxDelayMode != nil || enablePartials != nil || endOfUtteranceSilenceTrigger != nil
            || audioFilteringVolumeThreshold != nil
    }

    private var hasAssemblyAIFields: Bool {
        endOfTurnConfidenceThreshold != nil || minTurnSilence != nil || maxTurnSilence != nil || vadThreshold != nil
            || formatTurns != nil || keytermsPrompt != nil || prompt != nil || agentContext != nil
            || languageCodes != nil
    }

    func assemblyAIMessage() throws(TranscriptionError) -> JSONValue {
        func fail(_ reason: String) -> TranscriptionError {
            TranscriptionError(.invalidConfiguration, provider: .assemblyAI, reason: reason)
        }
        if hasSpeechmaticsFields { throw fail("this update sets Speechmatics-only fields") }
        if !hasAssemblyAIFields { throw fail("the update changes nothing") }
        if let value = endOfTurnConfidenceThreshold, !(0...1).contains(value) {
            throw fail("end_of_turn_confidence_threshold must be 0…1")
        }
        if let value = vadThreshold, !(0...1).contains(value) { throw fail("vad_threshold must be 0…1") }
        if let terms = keytermsPrompt,
            terms.count > 100 || terms.contains(where: { $0.isEmpty || $0.unicodeScalars.count > 50 })
        {
            throw fail("keyterms_prompt holds at most 100 terms of 1…50 characters")
        }
        var members: [(key: String, value: JSONValue)] = [("type", .string("UpdateConfiguration"))]
        if let value = endOfTurnConfidenceThreshold {
            members.append(("end_of_turn_confidence_threshold", .number(value)))
        }
        if let value = minTurnSilence { members.append(("min_turn_silence", .number(Double(value)))) }
        if let value = maxTurnSilence { members.append(("max_turn_silence", .number(Double(value)))) }
        if let value = vadThreshold { members.append(("vad_threshold", .number(value))) }
        if let value = formatTurns { members.append(("format_turns", .bool(value))) }
        if let value = keytermsPrompt { members.append(("keyterms_prompt", .array(value.map(JSONValue.string)))) }
        if let value = prompt { members.append(("prompt", .string(value))) }
        if let value = agentContext { members.append(("agent_context", .string(value))) }
        if let value = languageCodes { members.append(("language_codes", .array(value.map(JSONValue.string)))) }
        return .object(members)
    }

    func speechmaticsMessage(language: String) throws(TranscriptionError) -> JSONValue {
        func fail(_ reason: String) -> TranscriptionError {
            TranscriptionError(.invalidConfiguration, provider: .speechmatics, reason: reason)
        }
        if hasAssemblyAIFields { throw fail("this update sets AssemblyAI-only fields") }
        if !hasSpeechmaticsFields { throw fail("the update changes nothing") }
        if let value = maxDelay, !(0.7...4).contains(value) { throw fail("max_delay must be 0.7…4 seconds") }
        if let value = endOfUtteranceSilenceTrigger, !(0...2).contains(value) {
            throw fail("end_of_utterance_silence_trigger must be 0…2 seconds")
        }
        if let value = audioFilteringVolumeThreshold, !(0...100).contains(value) {
            throw fail("volume_threshold must be 0…100")
        }
        var config: [(key: String, value: JSONValue)] = [("language", .string(language))]
        if let value = maxDelay { config.append(("max_delay", .number(value))) }
        if let value = maxDelayMode { config.append(("max_delay_mode", .string(value.rawValue))) }
        if let value = enablePartials { config.append(("enable_partials", .bool(value))) }
        if let value = endOfUtteranceSilenceTrigger {
            config.append(("conversation_config", .object([("end_of_utterance_silence_trigger", .number(value))])))
        }
        if let value = audioFilteringVolumeThreshold {
            config.append(("audio_filtering_config", .object([("volume_threshold", .number(value))])))
        }
        return .object([("message", .string("SetRecognitionConfig")), ("transcription_config", .object(config))])
    }
}
