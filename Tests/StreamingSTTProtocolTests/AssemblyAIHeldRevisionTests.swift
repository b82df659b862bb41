import Testing

@testable import StreamingSTTProtocol

/// A `SpeakerRevision` that arrives while the decoder holds a turn's unformatted end of turn
/// (Universal-Streaming with `format_turns`: the final is the formatted message that follows)
/// revises a turn the caller has no final of yet. The decoder applies it to that turn's final when
/// it delivers it (the formatted one, or the held one when the formatted never comes), so the
/// caller's view carries the revised speakers; the revision event is still delivered as it came.
@Suite("AssemblyAI: speaker revisions of a held final")
struct AssemblyAIHeldRevisionTests {
    /// Messages in, and the speakers of the finals out.
    struct Case: Sendable, CustomStringConvertible {
        let name: String
        let messages: [String]
        /// Each final: its turn order, its speaker, its words' speakers.
        let finals: [Final]
        var description: String { name }
    }

    struct Final: Sendable, Equatable {
        let turn: Int
        let speaker: String?
        let words: [String?]
    }

    static func turn(
        _ order: Int, formatted: Bool, end: Bool = true, speaker: String = "A", words: [(String, Int, String)]
    ) -> String {
        let wordJSON = words.map { text, start, label in
            #"{"start":\#(start),"end":\#(start + 200),"text":"\#(text)","confidence":0.9,"word_is_final":true,"speaker":"\#(label)"}"#
        }.joined(separator: ",")
        let text = words.map(\.0).joined(separator: " ")
        return
            #"{"type":"Turn","turn_order":\#(order),"turn_is_formatted":\#(formatted),"end_of_turn":\#(end),"transcript":"\#(text)","end_of_turn_confidence":0.8,"speaker_label":"\#(speaker)","words":[\#(wordJSON)]}"#
    }

    static func revision(_ order: Int, speaker: String, words: [(String, Int, String)]) -> String {
        let wordJSON = words.map { text, start, label in
            #"{"start":\#(start),"end":\#(start + 200),"text":"\#(text)","confidence":0.9,"word_is_final":true,"speaker":"\#(label)"}"#
        }.joined(separator: ",")
        return
            #"{"type":"SpeakerRevision","revisions":[{"turn_order":\#(order),"speaker_label":"\#(speaker)","words":[\#(wordJSON)]}]}"#
    }

    static let unformatted0 = turn(0, formatted: false, words: [("hi", 1000, "A"), ("there", 1300, "A")])
    static let formatted0 = turn(0, formatted: true, words: [("Hi", 1000, "A"), ("there.", 1300, "A")])
    static let termination = #"{"type":"Termination","audio_duration_seconds":3,"session_duration_seconds":3}"#

    static let cases: [Case] = [
        Case(
            name: "revised while held, then the formatted final: the final carries the revision",
            messages: [
                unformatted0, revision(0, speaker: "B", words: [("hi", 1000, "B"), ("there", 1300, "B")]), formatted0,
            ],
            finals: [Final(turn: 0, speaker: "B", words: ["B", "B"])]),
        Case(
            name: "word speakers matched by time; a word the revision does not list takes the turn's speaker",
            messages: [
                unformatted0, revision(0, speaker: "B", words: [("hi", 1000, "C")]), formatted0,
            ],
            finals: [Final(turn: 0, speaker: "B", words: ["C", "B"])]),
        Case(
            name: "revised while held, the formatted final never comes (next turn): the held final carries it",
            messages: [
                unformatted0, revision(0, speaker: "B", words: [("hi", 1000, "B"), ("there", 1300, "B")]),
                turn(1, formatted: false, end: false, words: [("next", 4000, "A")]),
            ],
            finals: [Final(turn: 0, speaker: "B", words: ["B", "B"])]),
        Case(
            name: "revised while held, then the session ends: the flushed final carries it",
            messages: [
                unformatted0, revision(0, speaker: "B", words: [("hi", 1000, "B"), ("there", 1300, "B")]), termination,
            ],
            finals: [Final(turn: 0, speaker: "B", words: ["B", "B"])]),
        Case(
            name: "revised to UNKNOWN: no speaker",
            messages: [
                unformatted0,
                revision(0, speaker: "UNKNOWN", words: [("hi", 1000, "UNKNOWN"), ("there", 1300, "UNKNOWN")]),
                formatted0,
            ],
            finals: [Final(turn: 0, speaker: nil, words: [nil, nil])]),
        Case(
            name: "two revisions while held: the later wins",
            messages: [
                unformatted0, revision(0, speaker: "B", words: [("hi", 1000, "B"), ("there", 1300, "B")]),
                revision(0, speaker: "C", words: [("hi", 1000, "C"), ("there", 1300, "C")]), formatted0,
            ],
            finals: [Final(turn: 0, speaker: "C", words: ["C", "C"])]),
        Case(
            name: "a revision of another turn leaves the held final as it is",
            messages: [
                unformatted0, revision(7, speaker: "B", words: [("hi", 1000, "B")]), formatted0,
            ],
            finals: [Final(turn: 0, speaker: "A", words: ["A", "A"])]),
        Case(
            name: "a revision after the final is the caller's to apply: the next turn's final is untouched",
            messages: [
                unformatted0, formatted0, revision(0, speaker: "B", words: [("hi", 1000, "B"), ("there", 1300, "B")]),
                turn(1, formatted: false, words: [("next", 4000, "A")]),
                turn(1, formatted: true, words: [("Next.", 4000, "A")]),
            ],
            finals: [Final(turn: 0, speaker: "A", words: ["A", "A"]), Final(turn: 1, speaker: "A", words: ["A"])]),
    ]

    @Test("the held final is delivered with the revised speakers", arguments: cases)
    func heldFinal(_ entry: Case) {
        var options = AssemblyAI(credentials: .apiKey("k"), speechModel: .universalStreamingEnglish)
        options.formatTurns = true
        options.speakerLabels = true
        var decoder = AssemblyAIDecoder(configuration: options)
        var finals: [Final] = []
        var revisions = 0
        for message in entry.messages {
            for output in decoder.decode(message) {
                guard case .event(let event) = output else { continue }
                switch event {
                case .final(let transcript):
                    finals.append(
                        Final(
                            turn: transcript.turnOrder, speaker: transcript.speaker,
                            words: transcript.words.map(\.speaker)))
                case .speakerRevision:
                    revisions += 1
                default:
                    break
                }
            }
        }
        #expect(finals == entry.finals)
        // The revision events themselves are delivered as they came.
        #expect(revisions == entry.messages.filter { $0.contains("SpeakerRevision") }.count)
    }
}
