import Foundation
import StreamingSTTTesting
import Testing

@testable import StreamingSTT

/// Translations, audio events (Speechmatics) and speaker revisions (AssemblyAI) end to end: the
/// transcriber's options reach the emulator exactly, and the emulator's messages come back as
/// typed events, over ws and wss.
@Suite("Translations, audio events and speaker revisions against the emulator")
struct TranscriberFeatureTests {
    /// Two sentences of two speakers; the second is later said to be the first speaker's.
    static let script: EmulatorScript = {
        var script = EmulatorScript(
            text: "One two three four. Five six seven eight.", startingAt: 0.3, wordDuration: 0.25, gap: 0.05,
            sentenceGap: 0.8)
        for index in script.words.indices {
            script.words[index].speaker = index < 4 ? "alice" : "bob"
            if index >= 4 { script.words[index].revisedSpeaker = "alice" }
        }
        script.translations = [
            "de": ["One two three four.": "Eins zwei drei vier.", "Five six seven eight.": "Fünf sechs sieben acht."]
        ]
        script.audioEvents = [
            .init(type: "music", start: 0.1, end: 1.2, confidence: 0.75),
            .init(type: "applause", start: 2.0, end: 2.6, confidence: 0.5),
            .init(type: "dog_bark", start: 3.0, end: 3.2),
        ]
        return script
    }()

    static func speechmatics(
        _ emulator: TranscriptionEmulator, _ configure: (inout Speechmatics) -> Void
    )
        -> StreamingTranscriber
    {
        var options = Speechmatics(credentials: .apiKey("emulator-key"), endpoint: .custom(emulator.speechmaticsURL))
        options.maxDelay = 1.0
        configure(&options)
        return StreamingTranscriber(
            provider: .speechmatics(options), configuration: TranscriberEmulatorTests.configuration())
    }

    static func run(_ transcriber: StreamingTranscriber) async throws -> [TranscriptEvent] {
        try await TranscriberEmulatorTests.run(transcriber, audio: TranscriberEmulatorTests.audio(seconds: 4.5)).events
    }

    @Test(
        "Speechmatics translation: translation_config sent exactly; partial and final translations per language, spanning their finals",
        arguments: [false, true])
    func translation(secure: Bool) async throws {
        let emulator = try TranscriberEmulatorTests.emulator(secure: secure) { $0.script = Self.script }
        defer { emulator.shutdown() }
        let transcriber = Self.speechmatics(emulator) {
            $0.diarization = .speaker
            $0.translationConfig = .init(targetLanguages: ["de", "fr"], enablePartials: true)
        }
        let events = try await Self.run(transcriber)
        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(record.violations.isEmpty, "\(record.violations)")
        let start = try #require(record.textMessagesReceived.first)
        #expect(
            start.contains(#""translation_config":{"target_languages":["de","fr"],"enable_partials":true}"#), "\(start)"
        )

        let translations = events.compactMap { if case .translation(let value) = $0 { value } else { nil } }
        let finals = translations.filter { !$0.isPartial }
        // Each sentence once per language, in order, translated (German) or as itself (no French table).
        #expect(
            finals.filter { $0.language == "de" }.flatMap(\.segments).map(\.text)
                == ["Eins zwei drei vier.", "Fünf sechs sieben acht."])
        #expect(
            finals.filter { $0.language == "fr" }.flatMap(\.segments).map(\.text) == Self.script.sentences)
        #expect(translations.contains { $0.isPartial && $0.language == "de" }, "\(translations)")
        // A segment spans exactly the final words of its sentence, and carries their speaker.
        let words = TranscriberEmulatorTests.finals(events).flatMap(\.words)
        for segment in finals.filter({ $0.language == "fr" }).flatMap(\.segments) {
            let covered = words.filter { $0.start >= segment.start && $0.end <= segment.end }
            #expect(covered.map(\.text).joined(separator: " ") == segment.text, "\(segment)")
            #expect(segment.speaker == covered.first?.speaker)
        }
        #expect(finals.first { $0.language == "de" }?.speaker == "S1")
        // Each final translation comes after the final that completes its sentence.
        let lastFinal = try #require(events.lastIndex { if case .final = $0 { true } else { false } })
        let lastTranslation = try #require(
            events.lastIndex { if case .translation(let value) = $0 { !value.isPartial } else { false } })
        #expect(lastTranslation > lastFinal)
    }

    @Test(
        "Speechmatics audio events: any type asked for, started with confidence, ended without",
        arguments: [false, true])
    func audioEvents(secure: Bool) async throws {
        let emulator = try TranscriberEmulatorTests.emulator(secure: secure) { $0.script = Self.script }
        defer { emulator.shutdown() }
        let transcriber = Self.speechmatics(emulator) { $0.audioEventTypes = ["music", "dog_bark"] }
        let events = try await Self.run(transcriber)
        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(record.violations.isEmpty, "\(record.violations)")
        #expect(
            record.textMessagesReceived.first?.contains(#""audio_events_config":{"types":["music","dog_bark"]}"#)
                == true)
        let audioEvents = events.compactMap { if case .audioEvent(let value) = $0 { value } else { nil } }
        #expect(
            audioEvents.map { AudioEvent(kind: $0.kind, type: $0.type, time: $0.time, confidence: $0.confidence) } == [
                AudioEvent(kind: .started, type: "music", time: 0.1, confidence: 0.75),
                AudioEvent(kind: .ended, type: "music", time: 1.2),
                AudioEvent(kind: .started, type: "dog_bark", time: 3.0, confidence: 0.87),
                AudioEvent(kind: .ended, type: "dog_bark", time: 3.2),
            ])
        #expect(audioEvents.allSatisfy { $0.channel == nil })
    }

    @Test("Speechmatics audio events: {} asks for every type")
    func allAudioEvents() async throws {
        let emulator = try TranscriberEmulatorTests.emulator(secure: false) { $0.script = Self.script }
        defer { emulator.shutdown() }
        let events = try await Self.run(Self.speechmatics(emulator) { $0.audioEventTypes = [] })
        let types = events.compactMap { if case .audioEvent(let value) = $0 { value.type } else { nil } }
        #expect(types == ["music", "music", "applause", "applause", "dog_bark", "dog_bark"])
    }

    @Test(
        "AssemblyAI speaker revision: labels on turns and final words, then a SpeakerRevision before the end",
        arguments: [false, true])
    func speakerRevision(secure: Bool) async throws {
        let emulator = try TranscriberEmulatorTests.emulator(secure: secure) { $0.script = Self.script }
        defer { emulator.shutdown() }
        var options = AssemblyAI(
            credentials: .apiKey("emulator-key"), speechModel: .u3RealtimePro,
            endpoint: .custom(emulator.assemblyAIURL))
        options.speakerLabels = true
        options.maxSpeakers = 3
        options.speakerLabelsRevisionInterval = 500
        let transcriber = StreamingTranscriber(
            provider: .assemblyAI(options), configuration: TranscriberEmulatorTests.configuration())
        let (events, _) = try await TranscriberEmulatorTests.run(
            transcriber, audio: TranscriberEmulatorTests.audio(seconds: Self.script.duration + 1.5))
        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(record.violations.isEmpty, "\(record.violations)")
        #expect(
            record.query.contains { $0.name == "speaker_labels_revision_interval_ms" && $0.value == "500" },
            "\(record.query)")
        let finals = TranscriberEmulatorTests.finals(events)
        #expect(finals.map(\.speaker) == ["A", "B"])
        #expect(finals.map(\.turnOrder) == [0, 1])
        #expect(finals.flatMap(\.words).map(\.speaker) == ["A", "A", "A", "A", "B", "B", "B", "B"])
        let revisions = events.compactMap { if case .speakerRevision(let value) = $0 { value } else { nil } }
        #expect(revisions.count == 1)
        let turn = try #require(revisions.first?.turns.first)
        #expect(revisions.first?.turns.count == 1)
        #expect(turn.turnOrder == 1 && turn.speaker == "A")
        #expect(turn.words.map(\.text) == finals[1].words.map(\.text))
        #expect(turn.words.allSatisfy { $0.speaker == "A" })
        // The revision comes after the last final, before the end.
        let revisionIndex = try #require(events.firstIndex { if case .speakerRevision = $0 { true } else { false } })
        let lastFinal = try #require(events.lastIndex { if case .final = $0 { true } else { false } })
        #expect(revisionIndex > lastFinal)
    }

    @Test("AssemblyAI without speaker_labels: no speakers and no revision")
    func noRevisionWithoutLabels() async throws {
        let emulator = try TranscriberEmulatorTests.emulator(secure: false) { $0.script = Self.script }
        defer { emulator.shutdown() }
        let options = AssemblyAI(
            credentials: .apiKey("emulator-key"), speechModel: .u3RealtimePro,
            endpoint: .custom(emulator.assemblyAIURL))
        let (events, _) = try await TranscriberEmulatorTests.run(
            StreamingTranscriber(provider: .assemblyAI(options)),
            audio: TranscriberEmulatorTests.audio(seconds: Self.script.duration + 1.5))
        #expect(!events.contains { if case .speakerRevision = $0 { true } else { false } })
        #expect(TranscriberEmulatorTests.finals(events).allSatisfy { $0.speaker == nil })
    }
}
