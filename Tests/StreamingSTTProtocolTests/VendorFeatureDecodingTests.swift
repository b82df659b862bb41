import Testing

@testable import StreamingSTTProtocol

/// Translations, audio events and speaker revisions without sockets: the options sent exactly,
/// the vendors' messages decoded into the neutral events, and their times placed on the stream.
@Suite("Translations, audio events and speaker revisions")
struct VendorFeatureDecodingTests {
    static func events(_ outputs: [DecodedMessage]) -> [TranscriptEvent] {
        outputs.compactMap { if case .event(let event) = $0 { event } else { nil } }
    }

    // MARK: Speechmatics options

    struct StartCase: Sendable, CustomStringConvertible {
        var translation: Speechmatics.TranslationConfig?
        var audioEvents: [String]?
        var json: String
        var description: String { json }
    }

    static let starts: [StartCase] = [
        StartCase(
            translation: .init(targetLanguages: ["de"]), json: #","translation_config":{"target_languages":["de"]}"#),
        StartCase(
            translation: .init(targetLanguages: ["es", "de", "fr", "it", "ja"], enablePartials: true),
            json: #","translation_config":{"target_languages":["es","de","fr","it","ja"],"enable_partials":true}"#),
        StartCase(audioEvents: [], json: #","audio_events_config":{}"#),
        StartCase(audioEvents: ["music"], json: #","audio_events_config":{"types":["music"]}"#),
        StartCase(
            audioEvents: ["applause", "music", "siren"],
            json: #","audio_events_config":{"types":["applause","music","siren"]}"#),
        StartCase(
            translation: .init(targetLanguages: ["es", "de"], enablePartials: false), audioEvents: ["laughter"],
            json:
                #","translation_config":{"target_languages":["es","de"],"enable_partials":false},"audio_events_config":{"types":["laughter"]}"#
        ),
    ]

    @Test("translation_config and audio_events_config are sent exactly, after transcription_config", arguments: starts)
    func startRecognition(_ entry: StartCase) throws {
        var options = Speechmatics(credentials: .apiKey("key"), language: "en")
        options.translationConfig = entry.translation
        options.audioEventTypes = entry.audioEvents
        try options.validate()
        #expect(
            options.startRecognition.description
                == #"{"message":"StartRecognition","audio_format":{"type":"raw","encoding":"pcm_s16le","sample_rate":16000},"#
                + #""transcription_config":{"language":"en"}"# + entry.json + "}")
    }

    @Test(
        "translation targets: 1 to 5 non-empty codes; audio event types: any non-empty names",
        arguments: [
            (Speechmatics.TranslationConfig(targetLanguages: []), nil, false),
            (.init(targetLanguages: ["a", "b", "c", "d", "e", "f"]), nil, false),
            (.init(targetLanguages: ["de", ""]), nil, false),
            (nil, [""], false),
            (nil, ["music", "dog_bark"], true),
            (.init(targetLanguages: ["a", "b", "c", "d", "e"]), [], true),
        ] as [(Speechmatics.TranslationConfig?, [String]?, Bool)])
    func validation(translation: Speechmatics.TranslationConfig?, types: [String]?, valid: Bool) {
        var options = Speechmatics(credentials: .apiKey("key"))
        options.translationConfig = translation
        options.audioEventTypes = types
        if valid {
            #expect(throws: Never.self) { try options.validate() }
        } else {
            #expect(throws: TranscriptionError.self) { try options.validate() }
        }
    }

    // MARK: Speechmatics translations

    struct TranslationCase: Sendable, CustomStringConvertible {
        var message: String
        var expected: Translation?
        var description: String { message }
    }

    static let translations: [TranslationCase] = [
        // The documented example.
        TranslationCase(
            message:
                #"{"format":"2.9","message":"AddTranslation","language":"es","results":[{"start_time":5.45999987795949,"end_time":6.189999870583415,"content":"Bienvenidos a Speechmatics.","speaker":"S1"}]}"#,
            expected: Translation(
                language: "es",
                segments: [
                    .init(
                        text: "Bienvenidos a Speechmatics.", start: 5.45999987795949, end: 6.189999870583415,
                        speaker: "S1")
                ], isPartial: false)),
        // Two sentences of two speakers: text joined, span over both, no single speaker.
        TranslationCase(
            message:
                #"{"message":"AddTranslation","language":"de","results":[{"start_time":0.5,"end_time":1.2,"content":"Hallo.","speaker":"S1"},{"start_time":1.5,"end_time":2.0,"content":"Wie geht's?","speaker":"S2"}]}"#,
            expected: Translation(
                language: "de",
                segments: [
                    .init(text: "Hallo.", start: 0.5, end: 1.2, speaker: "S1"),
                    .init(text: "Wie geht's?", start: 1.5, end: 2.0, speaker: "S2"),
                ], isPartial: false)),
        // UU is no speaker; no speaker without diarization; unknown fields ignored.
        TranslationCase(
            message:
                #"{"message":"AddPartialTranslation","language":"fr","format":"2.9","new":1,"results":[{"start_time":1,"end_time":2,"content":"Bonjour","speaker":"UU"}]}"#,
            expected: Translation(
                language: "fr", segments: [.init(text: "Bonjour", start: 1, end: 2)], isPartial: true)),
        TranslationCase(
            message:
                #"{"message":"AddPartialTranslation","language":"fr","results":[{"start_time":3,"end_time":3.5,"content":"oui"}]}"#,
            expected: Translation(language: "fr", segments: [.init(text: "oui", start: 3, end: 3.5)], isPartial: true)
        ),
        // An empty partial clears the previous one; an empty final is not an event.
        TranslationCase(
            message: #"{"message":"AddPartialTranslation","language":"fr","results":[]}"#,
            expected: Translation(language: "fr", segments: [], isPartial: true)),
        TranslationCase(message: #"{"message":"AddTranslation","language":"fr","results":[]}"#, expected: nil),
    ]

    @Test("AddTranslation / AddPartialTranslation become translation events", arguments: translations)
    func translation(_ entry: TranslationCase) throws {
        var decoder = SpeechmaticsDecoder()
        let events = Self.events(decoder.decode(entry.message))
        guard var expected = entry.expected else {
            #expect(events.isEmpty)
            return
        }
        #expect(events.count == 1)
        guard case .translation(let translation) = try #require(events.first) else {
            Issue.record("not a translation: \(events)")
            return
        }
        expected.raw = translation.raw
        #expect(translation == expected)
        #expect(translation.raw?.type == (expected.isPartial ? "AddPartialTranslation" : "AddTranslation"))
    }

    @Test("a translation's text, span and speaker come from its segments")
    func translationSummary() {
        let translation = Translation(
            language: "de",
            segments: [
                .init(text: "Eins.", start: 0.3, end: 1.4, speaker: "S1"),
                .init(text: "Zwei.", start: 2.0, end: 2.9, speaker: "S1"),
            ], isPartial: false)
        #expect(translation.text == "Eins. Zwei.")
        #expect(translation.start == 0.3 && translation.end == 2.9)
        #expect(translation.speaker == "S1")
        #expect(Translation(language: "de", segments: [], isPartial: true).text.isEmpty)
    }

    // MARK: Speechmatics audio events

    static let audioEvents: [(String, AudioEvent)] = [
        (
            #"{"message":"AudioEventStarted","event":{"type":"music","start_time":4.2,"confidence":0.8},"channel":"London"}"#,
            AudioEvent(kind: .started, type: "music", time: 4.2, confidence: 0.8, channel: "London")
        ),
        (
            #"{"message":"AudioEventEnded","event":{"type":"music","end_time":10.2},"channel":"London"}"#,
            AudioEvent(kind: .ended, type: "music", time: 10.2, channel: "London")
        ),
        (
            #"{"message":"AudioEventStarted","event":{"type":"dog_bark","start_time":1,"confidence":1}}"#,
            AudioEvent(kind: .started, type: "dog_bark", time: 1, confidence: 1)
        ),
        (
            #"{"message":"AudioEventEnded","format":"2.9","event":{"type":"laughter","end_time":3.25,"extra":true}}"#,
            AudioEvent(kind: .ended, type: "laughter", time: 3.25)
        ),
    ]

    @Test("AudioEventStarted / AudioEventEnded become audio events: any type name", arguments: audioEvents)
    func audioEvent(_ message: String, _ expected: AudioEvent) throws {
        var decoder = SpeechmaticsDecoder()
        let events = Self.events(decoder.decode(message))
        guard case .audioEvent(let event) = try #require(events.first), events.count == 1 else {
            Issue.record("not one audio event: \(events)")
            return
        }
        var wanted = expected
        wanted.raw = event.raw
        #expect(event == wanted)
        #expect(event.raw?.text == message)
    }

    // MARK: AssemblyAI speaker revisions

    static let revisions: [(String, [SpeakerRevision.Turn])] = [
        // The SDK's test message.
        (
            #"{"type":"SpeakerRevision","revisions":[{"turn_order":3,"speaker_label":"B","words":[{"start":1000,"end":1200,"confidence":0.9,"text":"hello","word_is_final":true,"speaker":"B"}]},{"turn_order":7,"speaker_label":"A","words":[]}]}"#,
            [
                .init(
                    turnOrder: 3, speaker: "B",
                    words: [
                        Word(text: "hello", start: 1.0, end: 1.2, confidence: 0.9, speaker: "B", isFinal: true)
                    ]),
                .init(turnOrder: 7, speaker: "A", words: []),
            ]
        ),
        // UNKNOWN is no speaker, on the turn and on its words.
        (
            #"{"type":"SpeakerRevision","revisions":[{"turn_order":0,"speaker_label":"UNKNOWN","words":[{"start":10,"end":20,"confidence":0.5,"text":"hm","word_is_final":true,"speaker":"UNKNOWN"}]}]}"#,
            [
                .init(
                    turnOrder: 0, speaker: nil,
                    words: [Word(text: "hm", start: 0.01, end: 0.02, confidence: 0.5, isFinal: true)])
            ]
        ),
        (#"{"type":"SpeakerRevision","revisions":[]}"#, []),
    ]

    @Test("SpeakerRevision becomes a speakerRevision event, turns matched by turn order", arguments: revisions)
    func speakerRevision(_ message: String, _ turns: [SpeakerRevision.Turn]) throws {
        var decoder = AssemblyAIDecoder(
            configuration: AssemblyAI(credentials: .apiKey("k"), speechModel: .u3RealtimePro))
        let events = Self.events(decoder.decode(message))
        guard case .speakerRevision(let revision) = try #require(events.first), events.count == 1 else {
            Issue.record("not one revision: \(events)")
            return
        }
        #expect(revision.turns == turns)
        #expect(revision.raw?.type == "SpeakerRevision")
    }

    @Test("a diarized Turn carries speaker_label and its words' speakers")
    func turnSpeakers() throws {
        var decoder = AssemblyAIDecoder(
            configuration: AssemblyAI(credentials: .apiKey("k"), speechModel: .u3RealtimePro))
        let events = Self.events(
            decoder.decode(
                #"{"type":"Turn","turn_order":2,"turn_is_formatted":true,"end_of_turn":true,"transcript":"Hi there.","end_of_turn_confidence":1,"words":[{"start":100,"end":300,"confidence":0.9,"text":"Hi","word_is_final":true,"speaker":"A"},{"start":400,"end":600,"confidence":0.9,"text":"there.","word_is_final":true,"speaker":"UNKNOWN"}],"speaker_label":"A"}"#
            ))
        guard case .final(let final) = try #require(events.first) else {
            Issue.record("no final")
            return
        }
        #expect(final.turnOrder == 2 && final.speaker == "A")
        #expect(final.words.map(\.speaker) == ["A", nil])
    }

    // MARK: The stream's clock

    @Test("after a reconnection, times move to the stream's clock and revised turns to the stream's turn orders")
    func timeline() {
        var timeline = StreamTimeline()
        let word = Word(text: "a", start: 1, end: 2, confidence: 1, isFinal: true)
        _ = timeline.place(
            .final(Transcript(text: "x", start: 0, end: 1, words: [], turnOrder: 4)), session: 0, offset: 0)
        _ = timeline.place(
            .final(Transcript(text: "y", start: 1, end: 2, words: [word], turnOrder: 0)), session: 1, offset: 10)
        let revision = timeline.place(
            .speakerRevision(SpeakerRevision(turns: [.init(turnOrder: 0, speaker: "B", words: [word])])), session: 1,
            offset: 10)
        var movedWord = word
        movedWord.start = 11
        movedWord.end = 12
        #expect(
            revision
                == .speakerRevision(SpeakerRevision(turns: [.init(turnOrder: 5, speaker: "B", words: [movedWord])])))
        let translation = timeline.place(
            .translation(
                Translation(language: "de", segments: [.init(text: "a", start: 1, end: 2)], isPartial: false)),
            session: 1, offset: 10)
        #expect(
            translation
                == .translation(
                    Translation(language: "de", segments: [.init(text: "a", start: 11, end: 12)], isPartial: false)))
        let event = timeline.place(
            .audioEvent(AudioEvent(kind: .ended, type: "music", time: 3)), session: 1, offset: 10)
        #expect(event == .audioEvent(AudioEvent(kind: .ended, type: "music", time: 13)))
    }
}
