import Testing

@testable import StreamingSTTProtocol

/// ``CaptionBuilder``: words into cues of at most 2 lines × 42 characters and 7 s, broken at
/// sentence ends, pauses, speaker and channel changes, the same whatever the finals.
@Suite("Caption builder")
struct CaptionBuilderTests {
    /// Words of `text` (split on spaces), each `duration` long, `gap` apart, from `start`.
    static func words(
        _ text: String, start: Double = 0, duration: Double = 0.3, gap: Double = 0.1, speaker: String? = nil
    ) -> [Word] {
        var time = start
        return text.split(separator: " ").map { token in
            defer { time += duration + gap }
            return Word(text: String(token), start: time, end: time + duration, confidence: 1, speaker: speaker)
        }
    }

    /// All the cues of `batches` of words, each added as one final.
    static func captions(_ batches: [[Word]], channels: [String?]? = nil) -> [Caption] {
        var builder = CaptionBuilder()
        var captions: [Caption] = []
        for (index, batch) in batches.enumerated() {
            captions += builder.add(batch, channel: channels?[index] ?? nil)
        }
        return captions + builder.finish()
    }

    static let fox =
        "The quick brown fox jumps over the lazy dog while the farmer watches from the old wooden fence nearby."

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var batches: [[Word]]
        var channels: [String?]?
        var cues: [String]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "one short sentence: one line", batches: [words("Hello world.")], cues: ["Hello world."]),
        Case(
            name: "sentence ends (. ? !) start cues",
            batches: [words("One two. Three four? Five! six")], cues: ["One two.", "Three four?", "Five!", "six"]),
        Case(
            name: "a closing quote after the full stop still ends the sentence",
            batches: [words("He said \"stop.\" Then left")], cues: ["He said \"stop.\"", "Then left"]),
        Case(
            name: "a pause of 0.5 s starts a cue, one of 0.49 s does not",
            batches: [words("a b", gap: 0.1) + words("c d", start: 1.2, gap: 0.49) + words("e", start: 2.79)],
            cues: ["a b", "c d", "e"]),
        Case(
            name: "more than 42 characters: two balanced lines",
            batches: [words("This sentence is a little too long for one line")],
            cues: ["This sentence is a little\ntoo long for one line"]),
        Case(
            name: "more than two lines of text: a new cue where the third line would start",
            batches: [words(fox)],
            cues: [
                "The quick brown fox jumps over the lazy\ndog while the farmer watches from the old",
                "wooden fence nearby.",
            ]),
        Case(
            name: "a speaker change starts a cue; labels only with speakers",
            batches: [words("Hi there", speaker: "S1"), words("Hello you", start: 0.8, speaker: "S2")],
            cues: ["S1: Hi there", "S2: Hello you"]),
        Case(
            name: "a word without a speaker joins the cue it falls in",
            batches: [
                words("a", speaker: "S1") + words("b", start: 0.4) + words("c", start: 0.8, speaker: "S1")
                    + words("d", start: 1.2) + words("e", start: 1.6, speaker: "S2")
            ],
            cues: ["S1: a b c d", "S2: e"]),
        Case(
            name: "a channel change starts a cue; labels only with channels",
            batches: [words("left side"), words("right side", start: 0.8), words("right", start: 1.6)],
            channels: ["left", "right", "right"], cues: ["left: left side", "right: right side right"]),
        Case(
            name: "channel and speaker",
            batches: [words("yes", speaker: "S1")], channels: ["agent"], cues: ["agent S1: yes"]),
        Case(
            name: "a channel cue whose speaker is known from its second word",
            batches: [words("well") + words("yes", start: 0.4, speaker: "S1")], channels: ["agent"],
            cues: ["agent S1: well yes"]),
        Case(
            name: "a word longer than a line is alone on its line, never split",
            batches: [words("I said \(String(repeating: "x", count: 50)) ok")],
            cues: ["I said\n\(String(repeating: "x", count: 50))", "ok"]),
        Case(
            name: "the label counts in the first line",
            batches: [words("label counts in the first line of a cue", speaker: "S1")],
            cues: ["S1: label counts in\nthe first line of a cue"]),
    ]

    @Test("cues from words", arguments: cases)
    func cues(_ test: Case) {
        let captions = Self.captions(test.batches, channels: test.channels)
        #expect(captions.map(\.text) == test.cues)
        for caption in captions {
            #expect(caption.lines.count <= 2)
            #expect(caption.lines.allSatisfy { $0.count <= 42 || !$0.contains(" ") })
            #expect(caption.end - caption.start <= 7)
        }
    }

    @Test("a cue lasts at most 7 s, from its first word's start to its last word's end")
    func sevenSeconds() {
        // 25 one-letter words, 0.4 s apart: word k ends at 0.4 k + 0.3.
        let words = Self.words(Array(repeating: "a", count: 25).joined(separator: " "), start: 0)
        let captions = Self.captions([words])
        #expect(captions.map { $0.text.split(whereSeparator: \.isWhitespace).count } == [17, 8])
        #expect(captions.map(\.start) == [words[0].start, words[17].start])
        #expect(captions.map(\.end) == [words[16].end, words[24].end])
        #expect(captions.allSatisfy { $0.end - $0.start <= 7 })
    }

    @Test("the same words as one-word finals (Speechmatics) or one final per turn (AssemblyAI): the same cues")
    func sameCuesWhateverTheFinals() {
        let words =
            Self.words(Self.fox + " And then?", speaker: "S1")
            + Self.words("Nothing at all, it just sat there for a while and it looked at me", start: 9, speaker: "S2")
            + Self.words("Really", start: 16.2, speaker: "S2")
        let perWord = Self.captions(words.map { [$0] })
        let perTurn = Self.captions([Array(words[0..<21]), Array(words[21...])])
        var chunks: [[Word]] = []
        var index = 0
        while index < words.count {
            let size = [1, 3, 2, 5][chunks.count % 4]
            chunks.append(Array(words[index..<min(words.count, index + size)]))
            index += size
        }
        let inChunks = Self.captions(chunks)
        #expect(perWord == perTurn)
        #expect(perWord == inChunks)
        #expect(
            perWord.map(\.text) == [
                "S1: The quick brown fox jumps over the\nlazy dog while the farmer watches from the",
                "S1: old wooden fence nearby.",
                "S1: And then?",
                "S2: Nothing at all, it just sat\nthere for a while and it looked at me",
                "S2: Really",
            ])
    }

    @Test("SubRip and WebVTT text")
    func formats() {
        let captions = [
            Caption(start: 0.3, end: 2.25, lines: ["S1: Hello there,", "how are you?"], speaker: "S1"),
            Caption(start: 3_725.0004, end: 3_727.9996, lines: ["Fine."]),
        ]
        #expect(
            Caption.subRip(captions)
                == "1\n00:00:00,300 --> 00:00:02,250\nS1: Hello there,\nhow are you?\n\n"
                + "2\n01:02:05,000 --> 01:02:08,000\nFine.\n\n")
        #expect(
            Caption.webVTT(captions)
                == "WEBVTT\n\n00:00:00.300 --> 00:00:02.250\nS1: Hello there,\nhow are you?\n\n"
                + "01:02:05.000 --> 01:02:08.000\nFine.\n\n")
        #expect(captions[1].subRip(number: 7).hasPrefix("7\n01:02:05,000 --> "))
    }

    @Test("finish returns the rest once; empty words are skipped")
    func finish() {
        var builder = CaptionBuilder()
        #expect(builder.add([Word(text: " ", start: 0, end: 0.1, confidence: 1)]).isEmpty)
        #expect(builder.finish().isEmpty)
        #expect(builder.add(Self.words("one two")).isEmpty)
        #expect(builder.finish().map(\.text) == ["one two"])
        #expect(builder.finish().isEmpty)
    }
}
