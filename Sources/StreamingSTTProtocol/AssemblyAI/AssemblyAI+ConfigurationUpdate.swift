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
}
