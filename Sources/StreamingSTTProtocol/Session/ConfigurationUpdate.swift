/// A mid-session configuration change (`StreamingTranscriber.updateConfiguration(_:)`).
///
/// Set only what should change. AssemblyAI sends it as `UpdateConfiguration` (every field the
/// service accepts mid-stream; which ones a model honours depends on the model); Speechmatics as `SetRecognitionConfig` (only `max_delay`,
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
    /// AssemblyAI `interruption_delay`, 0…1000 ms (U3 Pro).
    public var interruptionDelay: Int?
    /// AssemblyAI `turn_left_pad_ms`, ms (U3 Pro).
    public var turnLeftPad: Int?
    /// AssemblyAI `filter_profanity`.
    public var filterProfanity: Bool?
    /// AssemblyAI `session_heartbeat`.
    public var sessionHeartbeat: Bool?
    /// AssemblyAI `acknowledge_silence` (U3 Pro family).
    public var acknowledgeSilence: Bool?
    /// AssemblyAI `continuous_partials` (U3 Pro).
    public var continuousPartials: Bool?
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

    package var hasSpeechmaticsFields: Bool {
        maxDelay != nil || maxDelayMode != nil || enablePartials != nil || endOfUtteranceSilenceTrigger != nil
            || audioFilteringVolumeThreshold != nil
    }

    package var hasAssemblyAIFields: Bool {
        endOfTurnConfidenceThreshold != nil || minTurnSilence != nil || maxTurnSilence != nil || vadThreshold != nil
            || formatTurns != nil || keytermsPrompt != nil || prompt != nil || agentContext != nil
            || languageCodes != nil || interruptionDelay != nil || turnLeftPad != nil || filterProfanity != nil
            || sessionHeartbeat != nil || acknowledgeSilence != nil || continuousPartials != nil
    }
}
