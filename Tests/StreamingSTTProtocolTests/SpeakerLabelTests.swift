import Testing

@testable import StreamingSTTProtocol

/// The vendors' labels for a speaker they could not identify (Speechmatics `UU`, AssemblyAI
/// `UNKNOWN`) are `speaker == nil` in the neutral model; every other label is kept as sent.
@Suite("Speaker labels → Word.speaker and Transcript.speaker")
struct SpeakerLabelTests {
    struct Case: Sendable, CustomTestStringConvertible {
        /// The label of each word on the wire (`nil`: no `speaker` field).
        var wire: [String?]
        /// AssemblyAI only: the turn's `speaker_label` (`nil`: absent).
        var turnLabel: String? = nil
        var words: [String?]
        var transcript: String?
        var testDescription: String { "\(wire.map { $0 ?? "-" }) → \(words.map { $0 ?? "nil" })" }
    }

    static func events(_ outputs: [DecodedMessage]) -> [TranscriptEvent] {
        outputs.compactMap { if case .event(let event) = $0 { event } else { nil } }
    }

    static func transcript(_ event: TranscriptEvent?) -> Transcript? {
        switch event {
        case .final(let transcript), .partial(let transcript): transcript
        default: nil
        }
    }

    @Test(
        "Speechmatics: UU is an unknown speaker (nil), S1 and custom labels are kept, in finals and partials",
        arguments: [
            Case(wire: ["S1", "S1"], words: ["S1", "S1"], transcript: "S1"),
            Case(wire: ["UU", "UU"], words: [nil, nil], transcript: nil),
            Case(wire: ["UU", "S2"], words: [nil, "S2"], transcript: "S2"),
            Case(wire: ["S1", "S2"], words: ["S1", "S2"], transcript: nil),
            Case(wire: ["Alice", "UU"], words: ["Alice", nil], transcript: "Alice"),
            Case(wire: [nil, nil], words: [nil, nil], transcript: nil),
        ],
        ["AddTranscript", "AddPartialTranscript"])
    func speechmatics(_ test: Case, message: String) throws {
        var results: [String] = []
        for (index, label) in test.wire.enumerated() {
            let speaker = label.map { #","speaker":"\#($0)""# } ?? ""
            results.append(
                #"{"alternatives":[{"confidence":0.9,"content":"w\#(index)","language":"en"\#(speaker)}],"#
                    + #""end_time":\#(index + 1).0,"start_time":\#(index).5,"type":"word"}"#)
        }
        // A punctuation mark standing alone (attaches_to none) carries the last word's label too.
        if let last = test.wire.last {
            let speaker = last.map { #","speaker":"\#($0)""# } ?? ""
            results.append(
                #"{"alternatives":[{"confidence":1.0,"content":"—","language":"en"\#(speaker)}],"attaches_to":"none","#
                    + #""end_time":9.0,"start_time":9.0,"type":"punctuation"}"#)
        }
        var decoder = SpeechmaticsDecoder()
        let outputs = decoder.decode(
            #"{"message":"\#(message)","format":"2.9","results":[\#(results.joined(separator: ","))],"#
                + #""metadata":{"end_time":9.0,"start_time":0.5,"transcript":"w"}}"#)
        let transcript = try #require(Self.transcript(Self.events(outputs).first))
        #expect(transcript.words.map(\.speaker) == test.words + [test.words.last ?? nil])
        #expect(transcript.speaker == test.transcript)
    }

    @Test(
        "AssemblyAI: UNKNOWN is an unknown speaker (nil) on the turn and on words; A and B are kept",
        arguments: [
            Case(wire: ["A", "A"], turnLabel: "A", words: ["A", "A"], transcript: "A"),
            Case(wire: ["UNKNOWN", "UNKNOWN"], turnLabel: "UNKNOWN", words: [nil, nil], transcript: nil),
            Case(wire: ["UNKNOWN", "B"], turnLabel: "B", words: [nil, "B"], transcript: "B"),
            Case(wire: [nil, nil], turnLabel: nil, words: [nil, nil], transcript: nil),
        ])
    func assemblyAI(_ test: Case) throws {
        var words: [String] = []
        for (index, label) in test.wire.enumerated() {
            let speaker = label.map { #","speaker":"\#($0)""# } ?? ""
            words.append(
                #"{"start":\#(index * 500),"end":\#(index * 500 + 400),"text":"w\#(index)","confidence":0.9,"#
                    + #""word_is_final":true\#(speaker)}"#)
        }
        let turnLabel = test.turnLabel.map { #","speaker_label":"\#($0)""# } ?? ""
        var decoder = AssemblyAIDecoder(
            configuration: AssemblyAI(credentials: .apiKey("k"), speechModel: .u3RealtimePro))
        let outputs = decoder.decode(
            #"{"type":"Turn","turn_order":0,"turn_is_formatted":true,"end_of_turn":true,"transcript":"w0 w1","#
                + #""end_of_turn_confidence":1\#(turnLabel),"words":[\#(words.joined(separator: ","))]}"#)
        let transcript = try #require(Self.transcript(Self.events(outputs).first))
        #expect(transcript.words.map(\.speaker) == test.words)
        #expect(transcript.speaker == test.transcript)
    }
}
