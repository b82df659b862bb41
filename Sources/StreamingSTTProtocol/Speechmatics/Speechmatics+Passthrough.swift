extension Speechmatics {
    /// The `transcription_config` members with a typed option: a passthrough may not use them.
    package static let typedTranscriptionConfigNames: Set<String> = [
        "language", "operating_point", "model", "domain", "output_locale", "enable_partials", "max_delay",
        "max_delay_mode", "diarization", "speaker_diarization_config", "additional_vocab", "punctuation_overrides",
        "conversation_config", "audio_filtering_config", "transcript_filtering_config", "enable_entities",
        "channel_diarization_labels",
    ]

    /// The top-level `StartRecognition` members the library writes: a passthrough may not use them.
    package static let typedStartRecognitionNames: Set<String> = [
        "message", "audio_format", "transcription_config", "translation_config", "audio_events_config",
    ]

    /// Passthrough members in name order; a value that is not JSON is left out (``validate()``
    /// refuses it before a session starts).
    static func passthroughMembers(_ members: [String: String]) -> [(key: String, value: JSONValue)] {
        members.sorted { $0.key < $1.key }.compactMap { name, text in
            (try? JSONValue(parsing: text)).map { (name, $0) }
        }
    }

    /// Checks ``additionalTranscriptionConfig`` and ``additionalStartRecognition``.
    func validatePassthrough(_ fail: (String) -> TranscriptionError) throws(TranscriptionError) {
        for (members, typed, place) in [
            (additionalTranscriptionConfig, Self.typedTranscriptionConfigNames, "transcription_config"),
            (additionalStartRecognition, Self.typedStartRecognitionNames, "StartRecognition"),
        ] {
            for (name, text) in members.sorted(by: { $0.key < $1.key }) {
                if name.isEmpty { throw fail("an additional \(place) member has an empty name") }
                if typed.contains(name) {
                    throw fail("additional \(place) member \"\(name)\" names a typed option; set the option itself")
                }
                if (try? JSONValue(parsing: text)) == nil {
                    throw fail("additional \(place) member \"\(name)\" is not JSON text")
                }
            }
        }
    }
}
