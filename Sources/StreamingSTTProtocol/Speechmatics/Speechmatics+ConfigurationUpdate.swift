extension ConfigurationUpdate {
    /// The Speechmatics `SetRecognitionConfig` message for this change (`language` is required in
    /// every `transcription_config`).
    /// - Throws: ``TranscriptionError/Code/invalidConfiguration`` when it sets AssemblyAI-only
    ///   fields, changes nothing, or a value is out of the service's range.
    package func speechmaticsMessage(language: String) throws(TranscriptionError) -> JSONValue {
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
