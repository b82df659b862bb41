extension Speechmatics {
    /// The labels of the audio's channels with channel diarization, in wire order; empty for
    /// single-channel audio.
    package var audioChannelLabels: [String] {
        diarization?.isPerChannel == true ? channelDiarizationLabels : []
    }

    /// The `transcription_config` object.
    package var transcriptionConfig: JSONValue {
        var members: [(key: String, value: JSONValue)] = [("language", .string(language))]
        func add(_ key: String, _ value: JSONValue?) { if let value { members.append((key, value)) } }
        add("operating_point", operatingPoint.map { .string($0.rawValue) })
        add("model", model.map(JSONValue.string))
        add("domain", domain.map(JSONValue.string))
        add("output_locale", outputLocale.map(JSONValue.string))
        add("enable_partials", enablePartials.map(JSONValue.bool))
        add("max_delay", maxDelay.map(JSONValue.number))
        add("max_delay_mode", maxDelayMode.map { .string($0.rawValue) })
        add("diarization", diarization.map { .string($0.rawValue) })
        if let config = speakerDiarizationConfig {
            var fields: [(key: String, value: JSONValue)] = []
            if let value = config.maxSpeakers { fields.append(("max_speakers", .number(Double(value)))) }
            if let value = config.preferCurrentSpeaker { fields.append(("prefer_current_speaker", .bool(value))) }
            if let value = config.speakerSensitivity { fields.append(("speaker_sensitivity", .number(value))) }
            if let value = config.getSpeakers { fields.append(("get_speakers", .bool(value))) }
            if !config.speakers.isEmpty {
                let speakers = config.speakers.map { speaker -> JSONValue in
                    .object([
                        ("label", .string(speaker.label)),
                        ("speaker_identifiers", .array(speaker.identifiers.map(JSONValue.string))),
                    ])
                }
                fields.append(("speakers", .array(speakers)))
            }
            members.append(("speaker_diarization_config", .object(fields)))
        }
        if !channelDiarizationLabels.isEmpty {
            members.append(("channel_diarization_labels", .array(channelDiarizationLabels.map(JSONValue.string))))
        }
        if !additionalVocab.isEmpty {
            members.append(
                (
                    "additional_vocab",
                    .array(
                        additionalVocab.map { entry in
                            entry.soundsLike.isEmpty
                                ? .string(entry.content)
                                : .object([
                                    ("content", .string(entry.content)),
                                    ("sounds_like", .array(entry.soundsLike.map(JSONValue.string))),
                                ])
                        })
                ))
        }
        if let overrides = punctuationOverrides {
            var fields: [(key: String, value: JSONValue)] = []
            if let marks = overrides.permittedMarks {
                fields.append(("permitted_marks", .array(marks.map(JSONValue.string))))
            }
            if let value = overrides.sensitivity { fields.append(("sensitivity", .number(value))) }
            members.append(("punctuation_overrides", .object(fields)))
        }
        if let config = conversationConfig {
            members.append(
                (
                    "conversation_config",
                    .object([("end_of_utterance_silence_trigger", .number(config.endOfUtteranceSilenceTrigger))])
                )
            )
        }
        if let value = audioFilteringVolumeThreshold {
            members.append(("audio_filtering_config", .object([("volume_threshold", .number(value))])))
        }
        if let config = transcriptFilteringConfig {
            var fields: [(key: String, value: JSONValue)] = []
            if let value = config.removeDisfluencies { fields.append(("remove_disfluencies", .bool(value))) }
            if !config.replacements.isEmpty {
                fields.append(
                    (
                        "replacements",
                        .array(
                            config.replacements.map { .object([("from", .string($0.from)), ("to", .string($0.to))]) })
                    ))
            }
            members.append(("transcript_filtering_config", .object(fields)))
        }
        add("enable_entities", enableEntities.map(JSONValue.bool))
        members += Self.passthroughMembers(additionalTranscriptionConfig)
        return .object(members)
    }

    /// The `StartRecognition` message.
    package var startRecognition: JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("message", .string("StartRecognition")),
            (
                "audio_format",
                .object([
                    ("type", .string("raw")), ("encoding", .string(encoding.rawValue)),
                    ("sample_rate", .number(Double(sampleRate))),
                ])
            ),
            ("transcription_config", transcriptionConfig),
        ]
        if let translation = translationConfig {
            var fields: [(key: String, value: JSONValue)] = [
                ("target_languages", .array(translation.targetLanguages.map(JSONValue.string)))
            ]
            if let value = translation.enablePartials { fields.append(("enable_partials", .bool(value))) }
            members.append(("translation_config", .object(fields)))
        }
        if let types = audioEventTypes {
            members.append(
                (
                    "audio_events_config",
                    types.isEmpty ? .object([]) : .object([("types", .array(types.map(JSONValue.string)))])
                ))
        }
        members += Self.passthroughMembers(additionalStartRecognition)
        return .object(members)
    }
}
