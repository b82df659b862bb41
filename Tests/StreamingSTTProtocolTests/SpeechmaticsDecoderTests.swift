import Testing

@testable import StreamingSTTProtocol

@Suite("Speechmatics RT v2 messages → events")
struct SpeechmaticsDecoderTests {
    func events(_ outputs: [DecodedMessage]) -> [TranscriptEvent] {
        outputs.compactMap { if case .event(let event) = $0 { event } else { nil } }
    }

    @Test("RecognitionStarted starts the session; AudioAdded acknowledges chunks")
    func startAndAcks() throws {
        var decoder = SpeechmaticsDecoder()
        let outputs = decoder.decode(
            #"{"message":"RecognitionStarted","orchestrator_version":"2025.08.29127","id":"9d8a5d05","language_pack_info":{"adapted":false,"itn":true,"language_description":"English","word_delimiter":" ","writing_direction":"left-to-right"}}"#
        )
        guard case .started(let info) = try #require(outputs.first) else { Issue.record("not started"); return }
        #expect(info.id == "9d8a5d05")
        #expect(
            try JSONValue(parsing: try #require(info.raw).text)["language_pack_info"]?["language_description"]?
                .stringValue
                == "English")
        #expect(decoder.decode(#"{"message":"AudioAdded","seq_no":7}"#) == [.acknowledged(7)])
    }

    @Test("a final attaches punctuation to the previous word and marks the sentence end")
    func finalWithPunctuation() {
        var decoder = SpeechmaticsDecoder()
        let outputs = decoder.decode(
            #"{"message":"AddTranscript","format":"2.9","results":[{"alternatives":[{"confidence":1.0,"content":"software","language":"en","speaker":"S1"}],"end_time":7.0,"start_time":6.36,"type":"word"},{"alternatives":[{"confidence":1.0,"content":".","language":"en","speaker":"S1"}],"attaches_to":"previous","end_time":7.0,"is_eos":true,"start_time":7.0,"type":"punctuation"}],"metadata":{"end_time":7.0,"start_time":6.36,"transcript":"software. "}}"#
        )
        guard case .final(let final) = events(outputs).first else { Issue.record("no final"); return }
        #expect(final.text == "software.")
        #expect(
            final.words == [
                Word(text: "software.", start: 6.36, end: 7.0, confidence: 1.0, speaker: "S1", isFinal: true)
            ])
        #expect(final.isEndOfTurn)
        #expect(final.speaker == "S1")
        #expect(final.language == "en")
        #expect(final.start == 6.36 && final.end == 7.0)
    }

    @Test("words of a partial may still change (isFinal false); a final's do not (true)")
    func wordFinality() {
        var decoder = SpeechmaticsDecoder()
        let outputs = decoder.decode(
            #"{"message":"AddPartialTranscript","format":"2.9","results":[{"alternatives":[{"confidence":0.0,"content":"soft","language":"en"}],"end_time":6.8,"start_time":6.36,"type":"word"}],"metadata":{"end_time":6.8,"start_time":6.36,"transcript":"soft"}}"#
        )
        guard case .partial(let partial) = events(outputs).first else { Issue.record("no partial"); return }
        #expect(partial.words.map(\.isFinal) == [false])
    }

    @Test("empty finals during silence are not delivered; an empty partial clears the previous one")
    func silence() {
        var decoder = SpeechmaticsDecoder()
        #expect(
            decoder.decode(
                #"{"message":"AddTranscript","format":"2.9","results":[],"metadata":{"end_time":0.28,"start_time":0.0,"transcript":""}}"#
            ).isEmpty)
        guard
            case .partial(let partial) = events(
                decoder.decode(
                    #"{"message":"AddPartialTranscript","format":"2.9","results":[],"metadata":{"end_time":0.5,"start_time":0.28,"transcript":""}}"#
                )
            ).first
        else {
            Issue.record("no partial")
            return
        }
        #expect(partial.text.isEmpty)
    }

    @Test("attaches_to next and both, and several sentences in one final")
    func attachments() {
        var decoder = SpeechmaticsDecoder()
        let outputs = decoder.decode(
            #"{"message":"AddTranscript","results":[{"type":"punctuation","attaches_to":"next","start_time":1,"end_time":1,"alternatives":[{"content":"¿","confidence":1}]},{"type":"word","start_time":1,"end_time":1.2,"alternatives":[{"content":"qué","confidence":0.9}]},{"type":"punctuation","attaches_to":"previous","is_eos":true,"start_time":1.2,"end_time":1.2,"alternatives":[{"content":"?","confidence":1}]},{"type":"word","start_time":1.3,"end_time":1.5,"alternatives":[{"content":"well","confidence":0.9}]},{"type":"punctuation","attaches_to":"both","start_time":1.5,"end_time":1.5,"alternatives":[{"content":"-","confidence":1}]},{"type":"word","start_time":1.5,"end_time":1.8,"alternatives":[{"content":"known","confidence":0.9}]}],"metadata":{"start_time":1,"end_time":1.8,"transcript":"¿qué? well-known "}}"#
        )
        guard case .final(let final) = events(outputs).first else { Issue.record("no final"); return }
        #expect(final.words.map(\.text) == ["¿qué?", "well-known"])
        #expect(final.words.last?.end == 1.8)
        #expect(final.text == "¿qué? well-known")
        #expect(!final.isEndOfTurn)
    }

    @Test("EndOfUtterance is an event and starts the next turn")
    func endOfUtterance() {
        var decoder = SpeechmaticsDecoder()
        let eou = events(
            decoder.decode(
                #"{"message":"EndOfUtterance","format":"2.9","metadata":{"end_time":2.44,"start_time":2.44}}"#))
        guard case .endOfUtterance(let mark) = eou.first else { Issue.record("no EOU"); return }
        #expect(mark.time == 2.44)
        #expect(!mark.isForced)
        let next = events(
            decoder.decode(
                #"{"message":"AddTranscript","forced":true,"results":[{"type":"word","start_time":3,"end_time":3.2,"alternatives":[{"content":"next","confidence":0.9}]}],"metadata":{"start_time":3,"end_time":3.2,"transcript":"next "}}"#
            ))
        guard case .final(let final) = next.first else { Issue.record("no final"); return }
        #expect(final.turnOrder == 1)
        #expect(final.isForced && final.isEndOfTurn)
    }

    @Test(
        "Error types map to typed errors with the documented retry advice",
        arguments: [
            ("not_authorised", TranscriptionError.Code.authenticationFailed, false),
            ("quota_exceeded", .vendorError, true), ("job_error", .vendorError, true),
            ("invalid_config", .vendorError, false), ("protocol_error", .vendorError, false),
            ("idle_timeout", .vendorError, true), ("buffer_error", .vendorError, false),
            ("brand_new_error", .vendorError, false),
        ])
    func errors(type: String, kind: TranscriptionError.Code, retryable: Bool) {
        var decoder = SpeechmaticsDecoder()
        let outputs = decoder.decode(#"{"message":"Error","type":"\#(type)","reason":"Because."}"#)
        guard case .failed(let error) = outputs.last else { Issue.record("no failure"); return }
        #expect(error.code == kind)
        #expect(error.vendorCode == type)
        #expect(error.reason == "Because.")
        #expect(error.isRetryable == retryable)
    }

    @Test("close codes map to the API reference's meanings")
    func closeCodes() {
        let decoder = SpeechmaticsDecoder()
        #expect(decoder.closeError(code: 1000, reason: "") == nil)
        #expect(
            decoder.closeError(code: 4001, reason: "not_authorised")?.code == .authenticationFailed
        )
        #expect(decoder.closeError(code: 4005, reason: "quota_exceeded")?.isRetryable == true)
        #expect(decoder.closeError(code: 1011, reason: "")?.vendorCode == "internal_error")
        #expect(decoder.closeError(code: 1003, reason: "")?.isRetryable == false)
        // The WebSocket's own transient closes, which the API reference does not list.
        for code: UInt16 in [1001, 1005, 1012, 1013, 1014] {
            #expect(decoder.closeError(code: code, reason: "")?.isRetryable == true)
        }
        #expect(decoder.closeError(code: 1002, reason: "")?.isRetryable == false)
    }

    @Test("quota_exceeded, job_error and internal_error ask for at least 5 s before a retry (API reference)")
    func retryInterval() {
        var decoder = SpeechmaticsDecoder()
        for type in ["quota_exceeded", "job_error", "internal_error"] {
            guard case .failed(let error) = decoder.decode(#"{"message":"Error","type":"\#(type)","reason":"r"}"#).last
            else {
                Issue.record("no failure for \(type)")
                continue
            }
            #expect(error.minimumRetryDelay == .seconds(5))
        }
        let quota = decoder.closeError(code: 4005, reason: "quota_exceeded")
        #expect(quota?.minimumRetryDelay == .seconds(5))
        #expect(decoder.closeError(code: 1011, reason: "")?.minimumRetryDelay == .seconds(5))
        guard case .failed(let idle) = decoder.decode(#"{"message":"Error","type":"idle_timeout","reason":"r"}"#).last
        else {
            Issue.record("no failure")
            return
        }
        #expect(idle.isRetryable && idle.minimumRetryDelay == nil)
    }

    @Test("a final holding only punctuation (its word finalized earlier) is delivered, with its sentence end")
    func punctuationOnlyFinal() {
        var decoder = SpeechmaticsDecoder()
        let outputs = decoder.decode(
            #"{"message":"AddTranscript","results":[{"type":"punctuation","attaches_to":"previous","is_eos":true,"start_time":1.2,"end_time":1.2,"alternatives":[{"content":".","confidence":1}]}],"metadata":{"start_time":1.2,"end_time":1.2,"transcript":". "}}"#
        )
        guard case .final(let final) = events(outputs).first else {
            Issue.record("no final")
            return
        }
        #expect(final.text == ".")
        #expect(final.words.isEmpty)
        #expect(final.isEndOfTurn)
        // Without metadata the text comes from the results.
        let bare = decoder.decode(
            #"{"message":"AddTranscript","results":[{"type":"punctuation","attaches_to":"previous","is_eos":true,"start_time":2,"end_time":2,"alternatives":[{"content":"?","confidence":1}]}]}"#
        )
        guard case .final(let other) = events(bare).first else {
            Issue.record("no final")
            return
        }
        #expect(other.text == "?" && other.isEndOfTurn)
    }

    @Test("Info, Warning, EndOfTranscript and unknown messages")
    func others() throws {
        var decoder = SpeechmaticsDecoder()
        guard
            case .info(let info) = events(
                decoder.decode(
                    #"{"message":"Info","type":"concurrent_session_usage","reason":"1 concurrent sessions active out of quota 150","usage":1,"quota":150}"#
                )
            ).first
        else {
            Issue.record("no info")
            return
        }
        #expect(info.type == "concurrent_session_usage")
        guard
            case .warning(let warning) = events(
                decoder.decode(#"{"message":"Warning","type":"idle_timeout","reason":"soon"}"#)
            ).first
        else {
            Issue.record("no warning")
            return
        }
        #expect(warning.type == "idle_timeout")
        #expect(
            decoder.decode(#"{"message":"EndOfTranscript"}"#) == [
                .finished(
                    SessionEnd(
                        raw: RawMessage(
                            provider: .speechmatics, type: "EndOfTranscript", text: #"{"message":"EndOfTranscript"}"#)))
            ])
        guard
            case .raw(let raw) = events(
                decoder.decode(#"{"message":"LanguageInfo","language":"ar","word_delimiter":" ","partial":true}"#)
            ).first
        else {
            Issue.record("not raw")
            return
        }
        #expect(raw.type == "LanguageInfo")
    }
}
