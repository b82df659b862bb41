extension ConfigurationUpdate {
    /// The AssemblyAI `UpdateConfiguration` message for this change.
    /// - Throws: ``TranscriptionError/Code/invalidConfiguration`` when it sets Speechmatics-only
    ///   fields, changes nothing, or a value is out of the service's range.
    package func assemblyAIMessage() throws(TranscriptionError) -> JSONValue {
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
        if let value = minTurnSilence, value < 0 { throw fail("min_turn_silence must not be negative") }
        if let value = maxTurnSilence, value < 0 { throw fail("max_turn_silence must not be negative") }
        if let value = interruptionDelay, !(0...1000).contains(value) {
            throw fail("interruption_delay must be 0…1000 ms")
        }
        if let value = turnLeftPad, value < 0 { throw fail("turn_left_pad_ms must not be negative") }
        if let text = agentContext, text.unicodeScalars.count > 1500 {
            throw fail("agent_context holds at most about 1500 characters")
        }
        if let codes = languageCodes, codes.contains(where: \.isEmpty) {
            throw fail("language codes must not be empty")
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
        if let value = interruptionDelay { members.append(("interruption_delay", .number(Double(value)))) }
        if let value = turnLeftPad { members.append(("turn_left_pad_ms", .number(Double(value)))) }
        if let value = filterProfanity { members.append(("filter_profanity", .bool(value))) }
        if let value = sessionHeartbeat { members.append(("session_heartbeat", .bool(value))) }
        if let value = acknowledgeSilence { members.append(("acknowledge_silence", .bool(value))) }
        if let value = continuousPartials { members.append(("continuous_partials", .bool(value))) }
        return .object(members)
    }
}
