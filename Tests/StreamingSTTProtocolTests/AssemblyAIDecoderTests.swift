import Foundation
import Testing

@testable import StreamingSTTProtocol

@Suite("AssemblyAI v3 messages → events")
struct AssemblyAIDecoderTests {
    func decoder(model: AssemblyAI.SpeechModel = .u3RealtimePro, formatTurns: Bool? = nil) -> AssemblyAIDecoder {
        var options = AssemblyAI(credentials: .apiKey("k"), speechModel: model)
        options.formatTurns = formatTurns
        return AssemblyAIDecoder(configuration: options)
    }

    func events(_ outputs: [DecodedMessage]) -> [TranscriptEvent] {
        outputs.compactMap { if case .event(let event) = $0 { event } else { nil } }
    }

    func finals(_ outputs: [DecodedMessage]) -> [Transcript] {
        events(outputs).compactMap { if case .final(let transcript) = $0 { transcript } else { nil } }
    }

    @Test("Begin starts the session with its id, expiry and echoed configuration")
    func begin() throws {
        var decoder = decoder()
        let outputs = decoder.decode(
            #"{"type":"Begin","id":"3207b601-2054","expires_at":1772570132,"configuration":{"model":"u3-rt-pro","mode":"balanced","api_version":"1.0.0"}}"#
        )
        guard case .started(let info) = try #require(outputs.first) else { Issue.record("not started"); return }
        #expect(info.id == "3207b601-2054")
        #expect(info.expiresAt == Date(timeIntervalSince1970: 1_772_570_132))
        #expect(
            try JSONValue(parsing: try #require(info.raw).text)["configuration"]?["model"]?.stringValue == "u3-rt-pro")
        #expect(events(outputs) == [.begin(info)])
    }

    @Test("u3-rt-pro: the partial, then the final with words in seconds")
    func u3Sequence() {
        var decoder = decoder()
        let partial = decoder.decode(
            #"{"turn_order":0,"turn_is_formatted":false,"end_of_turn":false,"transcript":"My name is—","end_of_turn_confidence":0,"words":[{"start":1216,"end":1627,"text":"My","confidence":0.956314,"word_is_final":false},{"start":1668,"end":2490,"text":"name","confidence":0.999393,"word_is_final":false},{"start":2531,"end":3067,"text":"is—","confidence":0.753325,"word_is_final":false}],"utterance":"","type":"Turn"}"#
        )
        let final = decoder.decode(
            #"{"turn_order":0,"turn_is_formatted":true,"end_of_turn":true,"transcript":"My name is Sonny.","end_of_turn_confidence":1,"words":[{"start":1216,"end":1635,"text":"My","confidence":0.956583,"word_is_final":true},{"start":1676,"end":2515,"text":"name","confidence":0.999199,"word_is_final":true},{"start":2556,"end":2975,"text":"is","confidence":0.999535,"word_is_final":true},{"start":3016,"end":4155,"text":"Sonny.","confidence":0.316031,"word_is_final":true}],"utterance":"My name is Sonny.","type":"Turn"}"#
        )
        guard case .partial(let p) = events(partial).first else { Issue.record("no partial"); return }
        #expect(p.text == "My name is—")
        #expect(!p.isEndOfTurn)
        let f = finals(final)
        #expect(f.count == 1)
        #expect(f.first?.text == "My name is Sonny.")
        #expect(f.first?.isEndOfTurn == true)
        #expect(f.first?.words.map(\.text) == ["My", "name", "is", "Sonny."])
        #expect(f.first?.start == 1.216)
        #expect(f.first?.end == 4.155)
        #expect(f.first?.words.last?.confidence == 0.316031)
        #expect(f.first?.endOfTurnConfidence == 1)
        #expect(p.words.map(\.isFinal) == [false, false, false])
        #expect(f.first?.words.map(\.isFinal) == [true, true, true, true])
        #expect(f.first?.languageConfidence == nil)
    }

    @Test("language detection: language_code and language_confidence reach the transcript")
    func languageDetection() {
        var decoder = decoder(model: .universalStreamingMultilingual)
        let outputs = decoder.decode(
            #"{"type":"Turn","turn_order":0,"turn_is_formatted":true,"end_of_turn":true,"transcript":"Hola.","end_of_turn_confidence":0.9,"words":[{"start":100,"end":400,"text":"Hola.","confidence":0.9,"word_is_final":true}],"utterance":"Hola.","language_code":"es","language_confidence":0.8731}"#
        )
        let final = finals(outputs).first
        #expect(final?.language == "es")
        #expect(final?.languageConfidence == 0.8731)
    }

    @Test("format_turns: the unformatted end of turn is a partial, only the formatted one is final")
    func formatTurnsNoDuplicate() {
        var decoder = decoder(model: .universalStreamingEnglish, formatTurns: true)
        let unformatted = decoder.decode(
            #"{"turn_order":0,"turn_is_formatted":false,"end_of_turn":true,"transcript":"hi my name is sonny","end_of_turn_confidence":0.7,"words":[{"start":2160,"end":2560,"text":"hi","confidence":0.8,"word_is_final":true}],"utterance":"","type":"Turn"}"#
        )
        let formatted = decoder.decode(
            #"{"turn_order":0,"turn_is_formatted":true,"end_of_turn":true,"transcript":"Hi, my name is Sonny.","end_of_turn_confidence":0.7,"words":[{"start":2160,"end":2560,"text":"Hi,","confidence":0.8,"word_is_final":true}],"utterance":"Hi, my name is Sonny.","type":"Turn"}"#
        )
        let repeated = decoder.decode(
            #"{"turn_order":0,"turn_is_formatted":true,"end_of_turn":true,"transcript":"Hi, my name is Sonny.","end_of_turn_confidence":0.7,"words":[],"type":"Turn"}"#
        )
        #expect(finals(unformatted).isEmpty)
        #expect(finals(formatted).map(\.text) == ["Hi, my name is Sonny."])
        #expect(repeated.isEmpty)
        #expect(decoder.flush().isEmpty)
    }

    @Test("format_turns: a missing formatted final does not lose the turn")
    func formatTurnsMissingFormatted() {
        var decoder = decoder(model: .universalStreamingEnglish, formatTurns: true)
        _ = decoder.decode(
            #"{"type":"Turn","turn_order":0,"turn_is_formatted":false,"end_of_turn":true,"transcript":"first turn","end_of_turn_confidence":0.6,"words":[]}"#
        )
        let next = decoder.decode(
            #"{"type":"Turn","turn_order":1,"turn_is_formatted":false,"end_of_turn":false,"transcript":"","end_of_turn_confidence":0,"words":[{"start":5000,"end":5100,"text":"second","confidence":0.9,"word_is_final":false}]}"#
        )
        #expect(finals(next).map(\.text) == ["first turn"])
        _ = decoder.decode(
            #"{"type":"Turn","turn_order":1,"turn_is_formatted":false,"end_of_turn":true,"transcript":"second turn","end_of_turn_confidence":0.6,"words":[]}"#
        )
        let end = decoder.decode(#"{"type":"Termination","audio_duration_seconds":7,"session_duration_seconds":8}"#)
        #expect(finals(end).map(\.text) == ["second turn"])
        #expect(
            end.last
                == .finished(
                    SessionEnd(
                        raw: RawMessage(
                            provider: .assemblyAI, type: "Termination",
                            text: #"{"type":"Termination","audio_duration_seconds":7,"session_duration_seconds":8}"#),
                        audioDuration: 7, sessionDuration: 8)))
    }

    @Test("turns out of order never give a final twice (found by fuzzing)")
    func outOfOrderTurns() {
        var decoder = decoder(model: .universalStreamingEnglish, formatTurns: true)
        var finals: [Int] = []
        for message in [
            #"{"type":"Turn","turn_order":1,"turn_is_formatted":false,"end_of_turn":true,"transcript":"one","words":[]}"#,
            #"{"type":"Turn","turn_order":0,"turn_is_formatted":true,"end_of_turn":true,"transcript":"Zero.","words":[]}"#,
            #"{"type":"Turn","turn_order":1,"turn_is_formatted":false,"end_of_turn":true,"transcript":"one","words":[]}"#,
            #"{"type":"Error","error_code":3005,"error":"Session Cancelled"}"#,
        ] {
            finals += self.finals(decoder.decode(message)).map(\.turnOrder)
        }
        finals += self.finals(decoder.flush()).map(\.turnOrder)
        #expect(finals.sorted() == [0, 1])
    }

    @Test("an end of turn without words is not delivered as an empty final")
    func emptyFinal() {
        var decoder = decoder()
        let outputs = decoder.decode(
            #"{"type":"Turn","turn_order":3,"turn_is_formatted":true,"end_of_turn":true,"transcript":"","end_of_turn_confidence":1,"words":[]}"#
        )
        #expect(finals(outputs).isEmpty)
    }

    @Test("diarization and language fields reach the transcript")
    func speakerAndLanguage() {
        var decoder = decoder()
        let outputs = decoder.decode(
            #"{"type":"Turn","turn_order":0,"turn_is_formatted":true,"end_of_turn":true,"transcript":"Hola.","end_of_turn_confidence":1,"language_code":"es","language_confidence":0.99,"speaker_label":"A","words":[{"start":0,"end":500,"text":"Hola.","confidence":0.9,"word_is_final":true,"speaker":"A"}]}"#
        )
        let final = finals(outputs).first
        #expect(final?.language == "es")
        #expect(final?.speaker == "A")
        #expect(final?.words.first?.speaker == "A")
    }

    @Test(
        "Error messages map to typed errors with the vendor code and retry advice",
        arguments: [
            (
                1008, "Unauthorized Connection: Missing Authorization header",
                TranscriptionError.Code.authenticationFailed, false
            ),
            (1008, "Unauthorized connection: Too many concurrent sessions", .vendorError, true),
            (3005, "Session Cancelled: An error occurred", .vendorError, true),
            (3006, "Invalid JSON: {", .vendorError, false),
            (3007, "Input duration violation: 20 ms. Expected between 50 and 1000 ms", .vendorError, false),
            (3008, "Session Expired: Maximum session duration exceeded", .vendorError, true),
            (3009, "Unauthorized Connection: Too many concurrent sessions", .vendorError, true),
        ])
    func errors(code: Int, text: String, kind: TranscriptionError.Code, retryable: Bool) {
        var decoder = decoder()
        let outputs = decoder.decode(#"{"type":"Error","error_code":\#(code),"error":"\#(text)"}"#)
        guard case .failed(let error) = outputs.last else { Issue.record("no failure"); return }
        #expect(error.code == kind)
        #expect(error.vendorCode == String(code))
        #expect(error.reason == text)
        #expect(error.isRetryable == retryable)
        #expect(error.closeCode == UInt16(code))
    }

    @Test("close codes without an Error message are still typed; 1000 is not an error")
    func closeCodes() {
        let decoder = decoder()
        #expect(decoder.closeError(code: 1000, reason: "") == nil)
        let error = decoder.closeError(code: 3008, reason: "Session Expired")
        #expect(error?.code == .serverClosed)
        #expect(error?.isRetryable == true)
        #expect(decoder.closeError(code: 1008, reason: "")?.code == .authenticationFailed)
        // The WebSocket's own transient closes: a new session may work.
        for code: UInt16 in [1001, 1005, 1011, 1012, 1013, 1014] {
            #expect(decoder.closeError(code: code, reason: "")?.isRetryable == true)
        }
    }

    @Test("utterance: set on the message that marks an utterance boundary, a partial included; nil when empty")
    func utterance() {
        var decoder = decoder(model: .universalStreamingEnglish)
        let early = decoder.decode(
            #"{"turn_order":0,"turn_is_formatted":false,"end_of_turn":false,"transcript":"hi my name is sonny","end_of_turn_confidence":0.3,"words":[{"start":100,"end":400,"text":"hi","confidence":0.8,"word_is_final":true}],"utterance":"Hi, my name is Sonny.","type":"Turn"}"#
        )
        guard case .partial(let partial) = events(early).first else {
            Issue.record("no partial")
            return
        }
        #expect(partial.utterance == "Hi, my name is Sonny.")
        let plain = decoder.decode(
            #"{"turn_order":0,"turn_is_formatted":false,"end_of_turn":false,"transcript":"and","end_of_turn_confidence":0.1,"words":[{"start":500,"end":600,"text":"and","confidence":0.8,"word_is_final":false}],"utterance":"","type":"Turn"}"#
        )
        guard case .partial(let next) = events(plain).first else {
            Issue.record("no partial")
            return
        }
        #expect(next.utterance == nil)
    }

    @Test("format_turns switched on mid-session (UpdateConfiguration): the formatted end of turn is the final")
    func formatTurnsUpdated() {
        var decoder = decoder(model: .universalStreamingEnglish, formatTurns: false)
        var update = ConfigurationUpdate()
        update.formatTurns = true
        decoder.apply(update)
        let unformatted = decoder.decode(
            #"{"turn_order":0,"turn_is_formatted":false,"end_of_turn":true,"transcript":"hi there","end_of_turn_confidence":0.7,"words":[{"start":100,"end":400,"text":"hi","confidence":0.8,"word_is_final":true}],"utterance":"","type":"Turn"}"#
        )
        let formatted = decoder.decode(
            #"{"turn_order":0,"turn_is_formatted":true,"end_of_turn":true,"transcript":"Hi there.","end_of_turn_confidence":0.7,"words":[{"start":100,"end":400,"text":"Hi","confidence":0.8,"word_is_final":true}],"utterance":"Hi there.","type":"Turn"}"#
        )
        #expect(finals(unformatted).isEmpty)
        #expect(finals(formatted).map(\.text) == ["Hi there."])
        // And switched off again: the end of turn is final at once.
        update.formatTurns = false
        decoder.apply(update)
        let plain = decoder.decode(
            #"{"turn_order":1,"turn_is_formatted":false,"end_of_turn":true,"transcript":"bye","end_of_turn_confidence":0.9,"words":[{"start":900,"end":1200,"text":"bye","confidence":0.9,"word_is_final":true}],"type":"Turn"}"#
        )
        #expect(finals(plain).map(\.text) == ["bye"])
    }

    @Test("unknown types are raw events; malformed JSON is a warning; SpeechStarted and Warning are mapped")
    func tolerance() throws {
        var decoder = decoder()
        let unknown = events(decoder.decode(#"{"type":"Heartbeat","total_audio_received_ms":45000}"#))
        guard case .raw(let raw) = unknown.first else { Issue.record("not raw"); return }
        #expect(raw.type == "Heartbeat")
        #expect(try JSONValue(parsing: raw.text)["total_audio_received_ms"]?.intValue == 45000)
        guard case .warning(let warning) = events(decoder.decode("{not json")).first else {
            Issue.record("no warning")
            return
        }
        #expect(warning.type == "malformed_message")
        #expect(
            events(decoder.decode(#"{"type":"SpeechStarted","timestamp":1216,"confidence":0.98}"#)).first
                == .speechStarted(
                    SpeechStarted(
                        time: 1.216, confidence: 0.98,
                        raw: RawMessage(
                            provider: .assemblyAI, type: "SpeechStarted",
                            text: #"{"type":"SpeechStarted","timestamp":1216,"confidence":0.98}"#))))
        guard
            case .warning(let vendorWarning) = events(
                decoder.decode(#"{"type":"Warning","warning_code":1234,"warning":"session ending soon"}"#)
            ).first
        else {
            Issue.record("no vendor warning")
            return
        }
        #expect(vendorWarning.type == "1234")
        #expect(vendorWarning.reason == "session ending soon")
        let extra = decoder.decode(
            #"{"type":"Turn","turn_order":9,"turn_is_formatted":true,"end_of_turn":true,"transcript":"Ok.","end_of_turn_confidence":1,"words":[],"brand_new_field":{"x":1}}"#
        )
        #expect(finals(extra).map(\.text) == ["Ok."])
    }
}

/// `isBlank` is what `trimmingCharacters(in: .whitespaces).isEmpty` said, without Foundation.
@Suite("AssemblyAI blank finals")
struct AssemblyAIBlankTextTests {
    @Test("Blank means only space separators and tabs")
    func blank() {
        for text in ["", " ", "\t", " \t ", "\u{00A0}", "\u{2003}\u{3000}", "\u{200B}"] {
            #expect(AssemblyAIDecoder.isBlank(text), "\(text.unicodeScalars.map(\.value))")
        }
        for text in ["a", " a ", "\n", " \r", "."] {
            #expect(!AssemblyAIDecoder.isBlank(text), "\(text.unicodeScalars.map(\.value))")
        }
        for text in [
            "", " ", "\t", "\u{00A0}", "\u{2003}\u{3000}", "a", "\n", " \r", "\u{200B}", "\u{1680}", "\u{0085}",
        ] {
            #expect(
                AssemblyAIDecoder.isBlank(text) == text.trimmingCharacters(in: .whitespaces).isEmpty,
                "\(text.unicodeScalars.map(\.value))")
        }
    }
}
