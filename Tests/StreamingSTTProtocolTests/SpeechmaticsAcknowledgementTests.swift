import Testing

@testable import StreamingSTTProtocol

/// The `AudioAdded` fast path agrees with the full JSON parser wherever it answers, and declines
/// (leaving the message to the parser) for anything but the plain two-member form.
@Suite("Speechmatics AudioAdded fast path")
struct SpeechmaticsAcknowledgementTests {
    static let accepted: [(String, Int)] = [
        (#"{"message":"AudioAdded","seq_no":1}"#, 1),
        (#"{"message": "AudioAdded", "seq_no": 12345}"#, 12345),
        (#"{"seq_no":7,"message":"AudioAdded"}"#, 7),
        (" {\n\t\"message\" : \"AudioAdded\" ,\r\n \"seq_no\" : 0 } \n", 0),
        (#"{"message":"AudioAdded","seq_no":999999999999999}"#, 999_999_999_999_999),
    ]

    static let declined: [String] = [
        #"{"message":"AudioAdded","seq_no":1,"extra":true}"#,
        #"{"message":"AudioAdded"}"#,
        #"{"seq_no":1}"#,
        #"{"message":"AudioAdded","seq_no":1.0}"#,
        #"{"message":"AudioAdded","seq_no":1e3}"#,
        #"{"message":"AudioAdded","seq_no":-1}"#,
        #"{"message":"AudioAdded","seq_no":01}"#,
        #"{"message":"AudioAdded","seq_no":"1"}"#,
        #"{"message":"AudioAdded","seq_no":1234567890123456}"#,
        #"{"message":"Audio\u0041dded","seq_no":1}"#,
        #"{"message":"AudioAdded","message":"AudioAdded"}"#,
        #"{"message":"AudioAdded","seq_no":1}x"#,
        #"{"message":"AudioAdded","seq_no":1"#,
        #"{"message":"AudioAddedX","seq_no":1}"#,
        #"{"message":"ChannelAudioAdded","channel":"a","seq_no":1}"#,
        #"{"message":"AddTranscript","seq_no":1}"#,
        "",
    ]

    @Test("The plain forms are read, and the full parser agrees")
    func acceptedForms() throws {
        for (text, sequence) in Self.accepted {
            #expect(SpeechmaticsAcknowledgement.sequenceNumber(in: text) == sequence, "\(text)")
            let json = try JSONValue(parsing: text)
            #expect(json["message"]?.stringValue == "AudioAdded")
            #expect(json["seq_no"]?.intValue == sequence)
        }
    }

    @Test("Anything else is left to the full parser")
    func declinedForms() {
        for text in Self.declined {
            #expect(SpeechmaticsAcknowledgement.sequenceNumber(in: text) == nil, "\(text)")
        }
    }

    @Test("The decoder reads every form the fast path takes as the same acknowledgement")
    func decoderOutputs() {
        var fast = SpeechmaticsDecoder()
        var full = SpeechmaticsDecoder()
        full.deliversRawMessages = true  // with raw delivery the filter is off; a raw event comes too
        for (text, sequence) in Self.accepted {
            #expect(fast.decode(text) == [.acknowledged(sequence)])
            #expect(
                full.decode(text).filter { if case .acknowledged = $0 { true } else { false } } == [
                    .acknowledged(sequence)
                ])
        }
        // The escaped form is still an acknowledgement, through the parser.
        #expect(fast.decode(#"{"message":"Audio\u0041dded","seq_no":3}"#) == [.acknowledged(3)])
    }
}

extension SpeechmaticsAcknowledgement {
    /// The scanner on a string's UTF-8.
    static func sequenceNumber(in text: String) -> Int? {
        let bytes = Array(text.utf8)
        return sequenceNumber(in: bytes.span)
    }
}
