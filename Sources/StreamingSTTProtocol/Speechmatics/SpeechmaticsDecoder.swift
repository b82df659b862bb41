/// Speechmatics RT v2 server messages → neutral outputs.
///
/// `AddTranscript` is final and never changes; `AddPartialTranscript` replaces the previous
/// partial (an empty partial clears it). Finals without words (silence) are not delivered as
/// events. Punctuation is attached to words following `attaches_to`.
package struct SpeechmaticsDecoder: Sendable {
    package var deliversRawMessages: Bool
    private var wordDelimiter = " "
    private var utterance = 0

    package init(deliversRawMessages: Bool = false) {
        self.deliversRawMessages = deliversRawMessages
    }

    package mutating func decode(_ text: String) -> [DecodedMessage] {
        let json: JSONValue
        switch JSONValue.parseMessage(text, provider: .speechmatics) {
        case .success(let value): json = value
        case .failure(let warning): return [.event(warning)]
        }
        let type = json["message"]?.stringValue
        let raw = RawMessage(provider: .speechmatics, type: type ?? "", text: text)
        var outputs: [DecodedMessage] = []
        if deliversRawMessages {
            outputs.append(.event(.raw(raw)))
        }
        switch type {
        case "RecognitionStarted":
            if let delimiter = json["language_pack_info"]?["word_delimiter"]?.stringValue { wordDelimiter = delimiter }
            let info = SessionInfo(
                provider: .speechmatics, id: json["id"]?.stringValue ?? "", raw: raw)
            outputs += [.started(info), .event(.begin(info))]
        case "AudioAdded":
            if let sequence = json["seq_no"]?.intValue { outputs.append(.acknowledged(sequence)) }
        case "ChannelAudioAdded" where json["seq_no"]?.intValue != nil && json["channel"]?.stringValue != nil:
            outputs.append(
                .channelAcknowledged(
                    channel: json["channel"]?.stringValue ?? "", sequence: json["seq_no"]?.intValue ?? 0))
        case "AddPartialTranscript":
            outputs.append(.event(.partial(transcript(json, isFinal: false, raw: raw))))
        case "AddTranscript":
            // Finals come every few hundred ms, empty during silence: those are not events. One
            // holding only punctuation (a full stop finalized after its word) is: its text and
            // its end of sentence.
            let final = transcript(json, isFinal: true, raw: raw)
            if !final.words.isEmpty || !final.text.isEmpty { outputs.append(.event(.final(final))) }
        case "EndOfUtterance":
            let time = json["metadata"]?["end_time"]?.looseDouble ?? 0
            outputs.append(
                .event(
                    .endOfUtterance(
                        EndOfUtterance(
                            time: time, isForced: json["forced"]?.boolValue ?? false, raw: raw,
                            channel: json["channel"]?.stringValue))
                ))
            utterance += 1
        case "Info":
            outputs.append(.event(.info(notice(json, raw: raw))))
        case "Warning":
            outputs.append(.event(.warning(notice(json, raw: raw))))
        case "Error":
            outputs.append(
                .failed(
                    Self.error(
                        type: json["type"]?.stringValue ?? "", reason: json["reason"]?.stringValue ?? "", closeCode: nil
                    )))
        case "SpeakersResult":
            let speakers = (json["speakers"]?.arrayValue ?? []).compactMap { entry -> SpeakersResult.Speaker? in
                guard let label = entry["label"]?.stringValue else { return nil }
                let identifiers = (entry["speaker_identifiers"]?.arrayValue ?? []).compactMap(\.stringValue)
                return SpeakersResult.Speaker(label: label, identifiers: identifiers)
            }
            outputs.append(.event(.speakers(SpeakersResult(speakers: speakers, raw: raw))))
        case "AddTranslation", "AddPartialTranslation":
            let segments = (json["results"]?.arrayValue ?? []).map { result in
                Translation.Segment(
                    text: result["content"]?.stringValue ?? "", start: result["start_time"]?.looseDouble ?? 0,
                    end: result["end_time"]?.looseDouble ?? result["start_time"]?.looseDouble ?? 0,
                    speaker: Self.speaker(result["speaker"]?.stringValue))
            }
            let isPartial = type == "AddPartialTranslation"
            // Like transcripts: an empty partial clears the previous one, an empty final is nothing.
            if isPartial || !segments.isEmpty {
                let translation = Translation(
                    language: json["language"]?.stringValue ?? "", segments: segments, isPartial: isPartial, raw: raw)
                outputs.append(.event(.translation(translation)))
            }
        case "AudioEventStarted", "AudioEventEnded":
            let event = json["event"]
            let started = type == "AudioEventStarted"
            outputs.append(
                .event(
                    .audioEvent(
                        AudioEvent(
                            kind: started ? .started : .ended, type: event?["type"]?.stringValue ?? "",
                            time: event?[started ? "start_time" : "end_time"]?.looseDouble ?? 0,
                            confidence: started ? event?["confidence"]?.looseDouble : nil,
                            channel: json["channel"]?.stringValue, raw: raw))))
        case "EndOfTranscript":
            outputs.append(.finished(SessionEnd(raw: raw)))
        default:
            if !deliversRawMessages {
                outputs.append(.event(.raw(raw)))
            }
        }
        return outputs
    }

    package mutating func flush() -> [DecodedMessage] { [] }

    private func notice(_ json: JSONValue, raw: RawMessage) -> VendorNotice {
        VendorNotice(type: json["type"]?.stringValue ?? "", reason: json["reason"]?.stringValue ?? "", raw: raw)
    }

    /// A multichannel message's channel: on the message root (since 2022, speechmatics-python
    /// 5.0.0: "Moved channel field to root of AddTranscript message"), or on its first result
    /// (earlier servers; `speechmatics-rt` 1.2.1's README still reads `results[0].channel`).
    static func channel(_ json: JSONValue) -> String? {
        json["channel"]?.stringValue ?? json["results"]?.arrayValue?.first?["channel"]?.stringValue
    }

    /// A word's speaker: its label, or `nil` for none or for `UU`, the label of a word the
    /// service could not attribute to a speaker (never a speaker's name).
    static func speaker(_ label: String?) -> String? { label == "UU" ? nil : label }

    private func transcript(_ json: JSONValue, isFinal: Bool, raw: RawMessage) -> Transcript {
        var words: [Word] = []
        var prefix = ""
        var joinNext = false
        var language: String?
        var endsSentence = false
        for result in json["results"]?.arrayValue ?? [] {
            let alternative = result["alternatives"]?.arrayValue?.first
            let content = alternative?["content"]?.stringValue ?? ""
            let start = result["start_time"]?.looseDouble ?? 0
            let end = result["end_time"]?.looseDouble ?? start
            let confidence = alternative?["confidence"]?.doubleValue ?? 0
            let speaker = Self.speaker(alternative?["speaker"]?.stringValue)
            language = language ?? alternative?["language"]?.stringValue
            if result["type"]?.stringValue == "punctuation" {
                endsSentence = result["is_eos"]?.boolValue ?? false
                switch result["attaches_to"]?.stringValue ?? "previous" {
                case "next":
                    prefix += content
                case "none":
                    words.append(
                        Word(
                            text: content, start: start, end: end, confidence: confidence, speaker: speaker,
                            isFinal: isFinal))
                case "both":
                    if words.isEmpty { prefix += content } else { words[words.count - 1].text += content }
                    joinNext = true
                default:  // "previous"
                    if words.isEmpty { prefix += content } else { words[words.count - 1].text += content }
                }
                continue
            }
            endsSentence = false
            let text = prefix + content
            prefix = ""
            if joinNext, !words.isEmpty {
                words[words.count - 1].text += text
                words[words.count - 1].end = end
            } else {
                words.append(
                    Word(text: text, start: start, end: end, confidence: confidence, speaker: speaker, isFinal: isFinal)
                )
            }
            joinNext = false
        }
        if !prefix.isEmpty, !words.isEmpty { words[words.count - 1].text += prefix }
        let metadata = json["metadata"]
        var text = metadata?["transcript"]?.stringValue ?? ""
        while let last = text.last, last.isWhitespace { text.removeLast() }
        if text.isEmpty { text = words.isEmpty ? prefix : words.map(\.text).joined(separator: wordDelimiter) }
        // The transcript's speaker: the one speaker its attributed words share (unknown ones aside).
        let speakers = Set(words.compactMap(\.speaker))
        let forced = json["forced"]?.boolValue ?? false
        return Transcript(
            text: text, start: metadata?["start_time"]?.looseDouble ?? words.first?.start ?? 0,
            end: metadata?["end_time"]?.looseDouble ?? words.last?.end ?? 0, words: words,
            isEndOfTurn: endsSentence || forced, turnOrder: utterance, language: language,
            speaker: speakers.count == 1 ? speakers.first : nil, isForced: forced, raw: raw,
            channel: Self.channel(json))
    }

    /// The error a close code means without a preceding `Error` message, or `nil` for 1000.
    package func closeError(code: UInt16, reason: String) -> TranscriptionError? {
        if code == 1000 { return nil }
        var error = Self.error(type: reason, reason: reason, closeCode: code)
        if error.code == .vendorError { error.code = .serverClosed }
        // A close the API reference does not list, from the WebSocket's own transient codes
        // (going away, no status, service restart, try again later, bad gateway): a new session
        // may work, as after a dropped connection.
        if error.vendorCode == "unknown_error", [1001, 1005, 1012, 1013, 1014].contains(code) {
            error.isRetryable = true
        }
        return error
    }

    /// Maps a Speechmatics error type (or close code), following the API reference's retry advice
    /// (`quota_exceeded`, `job_error`, `internal_error`), plus idle and session timeouts, after which
    /// a new session works.
    static func error(type: String, reason: String, closeCode: UInt16?) -> TranscriptionError {
        let byClose: String? =
            switch closeCode {
            case 4001: "not_authorised"
            case 4003: "not_allowed"
            case 4004: "invalid_model"
            case 4005: "quota_exceeded"
            case 4006: "timelimit_exceeded"
            case 4013: "job_error"
            case 1011: "internal_error"
            case 1003: "protocol_error"
            case 1008: "policy_violation"
            default: nil
            }
        let known = [
            "not_authorised", "not_allowed", "invalid_model", "quota_exceeded", "timelimit_exceeded", "job_error",
            "internal_error", "protocol_error", "policy_violation", "idle_timeout", "session_timeout",
            "invalid_config", "invalid_message", "invalid_language", "invalid_audio_type", "invalid_output_format",
            "unknown_error", "insufficient_funds", "data_error", "buffer_error",
        ]
        let vendorType = known.contains(type) ? type : (byClose ?? (type.isEmpty ? "unknown_error" : type))
        let retryable = ["quota_exceeded", "job_error", "internal_error", "idle_timeout", "session_timeout"].contains(
            vendorType)
        let kind: TranscriptionError.Code = vendorType == "not_authorised" ? .authenticationFailed : .vendorError
        var error = TranscriptionError(
            kind, provider: .speechmatics, vendorCode: vendorType, reason: reason.isEmpty ? vendorType : reason,
            closeCode: closeCode, isRetryable: retryable)
        // "For the following errors only, we recommend adding a client retry interval of at least
        // 5-10 seconds" (API reference, WebSocket errors).
        if ["quota_exceeded", "job_error", "internal_error"].contains(vendorType) {
            error.minimumRetryDelay = .seconds(5)
        }
        return error
    }
}
