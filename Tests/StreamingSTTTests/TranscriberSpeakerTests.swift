import Foundation
import StreamingSTTTesting
import Testing

@testable import StreamingSTT

/// Diarized sessions over the emulator's socket: a word the service could not attribute (sent as
/// Speechmatics `UU`, AssemblyAI `UNKNOWN`) has no speaker; the others keep the vendor's label.
@Suite("Speakers against the emulator")
struct TranscriberSpeakerTests {
    /// Two sentences of two speakers (each over 1 s, so AssemblyAI labels the turn), with the
    /// second word of the first and the first word of the second unattributed.
    static let script: EmulatorScript = {
        var script = EmulatorScript(
            text: "One two three four. Five six seven eight.", startingAt: 0.3, wordDuration: 0.25, gap: 0.05,
            sentenceGap: 0.8)
        for index in script.words.indices { script.words[index].speaker = index < 4 ? "alice" : "bob" }
        script.words[1].speakerIsUnknown = true
        script.words[4].speakerIsUnknown = true
        return script
    }()

    @Test(
        "a diarized session: unknown-speaker words have speaker nil, known ones their label; never UU or UNKNOWN",
        arguments: [EmulatorVendor.speechmatics, .assemblyAI])
    func unknownSpeakers(vendor: EmulatorVendor) async throws {
        let emulator = try TranscriptionEmulator(
            configuration: .init(
                script: Self.script, assemblyAI: .init(enforceRealTime: false, terminationDelay: .milliseconds(20))))
        defer { emulator.shutdown() }
        let provider: StreamingTranscriber.Provider
        let labels: (first: String, second: String)
        switch vendor {
        case .assemblyAI:
            var options = AssemblyAI(
                credentials: .apiKey("emulator-key"), speechModel: .u3RealtimePro,
                endpoint: .custom(emulator.assemblyAIURL))
            options.speakerLabels = true
            provider = .assemblyAI(options)
            labels = ("A", "B")
        case .speechmatics:
            var options = Speechmatics(
                credentials: .apiKey("emulator-key"), endpoint: .custom(emulator.speechmaticsURL))
            options.enablePartials = true
            options.maxDelay = 1.0
            options.diarization = .speaker
            provider = .speechmatics(options)
            labels = ("S1", "S2")
        }
        let transcriber = StreamingTranscriber(provider: provider)
        let audio = TranscriberEmulatorTests.audio(seconds: Self.script.duration + 1.5)
        let (events, _) = try await TranscriberEmulatorTests.run(transcriber, audio: audio)
        let finals = TranscriberEmulatorTests.finals(events)
        #expect(finals.map(\.text).joined(separator: " ") == Self.script.transcript)
        let words = finals.flatMap(\.words)
        #expect(
            words.map(\.speaker)
                == [labels.first, nil, labels.first, labels.first, nil, labels.second, labels.second, labels.second])
        let transcripts = events.compactMap { event -> Transcript? in
            switch event {
            case .partial(let transcript), .final(let transcript): transcript
            default: nil
            }
        }
        let sent = transcripts.flatMap { [$0.speaker] + $0.words.map(\.speaker) }.compactMap { $0 }
        #expect(!sent.contains("UU") && !sent.contains("UNKNOWN"), "\(sent)")
        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(record.violations.isEmpty, "\(record.violations)")
    }

    @Test(
        "Speechmatics: speaker_diarization_config arrives exactly; requestSpeakers() and get_speakers answer speakers events",
        arguments: [false, true])
    func speechmaticsSpeakers(secure: Bool) async throws {
        let emulator = try TranscriberEmulatorTests.emulator(secure: secure) { $0.script = Self.script }
        defer { emulator.shutdown() }
        var options = Speechmatics(credentials: .apiKey("emulator-key"), endpoint: .custom(emulator.speechmaticsURL))
        options.maxDelay = 1.0
        options.diarization = .speaker
        options.speakerDiarizationConfig = .init(
            maxSpeakers: 3, preferCurrentSpeaker: true, speakerSensitivity: 0.6, getSpeakers: true,
            speakers: [.init(label: "Carol", identifiers: ["id-carol"])])
        let transcriber = StreamingTranscriber(
            provider: .speechmatics(options), configuration: TranscriberEmulatorTests.configuration())
        let audio = TranscriberEmulatorTests.audio(seconds: Self.script.duration + 1.5)
        let events = try await withTimeout(.seconds(30), "the diarized session") {
            var events: [TranscriptEvent] = []
            var iterator = transcriber.events.makeAsyncIterator()
            try await transcriber.start()
            var offset = 0
            while offset < audio.count {
                let end = min(audio.count, offset + 3200)
                try await transcriber.send(audio: Array(audio[offset..<end]))
                offset = end
            }
            // After the first final, while the session streams: GetSpeakers answers at once.
            while let event = await iterator.next() {
                events.append(event)
                if case .final = event { break }
            }
            try await transcriber.requestSpeakers()
            while let event = await iterator.next() {
                events.append(event)
                if case .speakers = event { break }
            }
            try await transcriber.stop()
            while let event = await iterator.next() { events.append(event) }
            return events
        }
        let results = events.compactMap { if case .speakers(let result) = $0 { result } else { nil } }
        #expect(results.count == 2, "\(events)")
        // The first answer lists the speakers of what was transcribed so far (S1 at least); the
        // last (get_speakers) both, before the session ends.
        #expect(results.first?.speakers.first == .init(label: "S1", identifiers: ["emulator-speaker-s1"]))
        #expect(
            results.last?.speakers == [
                .init(label: "S1", identifiers: ["emulator-speaker-s1"]),
                .init(label: "S2", identifiers: ["emulator-speaker-s2"]),
            ])
        let lastSpeakers = try #require(events.lastIndex { if case .speakers = $0 { true } else { false } })
        #expect(events.lastIndex { if case .final = $0 { true } else { false } }.map { $0 < lastSpeakers } == true)
        guard case .terminated = events.last else {
            Issue.record("the session did not end gracefully: \(String(describing: events.last))")
            return
        }
        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(record.violations.isEmpty, "\(record.violations)")
        let start = try #require(record.textMessagesReceived.first)
        #expect(
            start.contains(
                #""diarization":"speaker","speaker_diarization_config":{"max_speakers":3,"prefer_current_speaker":true,"#
                    + #""speaker_sensitivity":0.6,"get_speakers":true,"#
                    + #""speakers":[{"label":"Carol","speaker_identifiers":["id-carol"]}]}"#), "\(start)")
        #expect(record.textMessagesReceived.contains(#"{"message":"GetSpeakers"}"#))
    }

    @Test("AssemblyAI has no speakers request: requestSpeakers() is refused with invalidConfiguration")
    func assemblyAIRefusesSpeakersRequest() async throws {
        let transcriber = StreamingTranscriber(
            provider: .assemblyAI(AssemblyAI(credentials: .apiKey("k"), speechModel: .u3RealtimePro)))
        let error = try await #require(throws: TranscriptionError.self) { try await transcriber.requestSpeakers() }
        #expect(error.code == .invalidConfiguration)
        #expect(error.reason.contains("Speechmatics only"))
    }
}
