import Foundation
import StreamingSTT
import StreamingSTTTesting
import StreamingSTTWebSocket
import Testing

/// The emulator is as strict as the services about translation, audio-event and speaker options.
@Suite("Emulator: translation, audio event and speaker options")
struct EmulatorFeatureValidationTests {
    static func start(_ members: String) -> String {
        String(EmulatorSpeechmaticsTests.start().dropLast()) + members + "}"
    }

    static let refused: [String] = [
        #","translation_config":[]"#,
        #","translation_config":{}"#,
        #","translation_config":{"target_languages":"de"}"#,
        #","translation_config":{"target_languages":["de",7]}"#,
        #","translation_config":{"target_languages":[""]}"#,
        #","translation_config":{"target_languages":["a","b","c","d","e","f"]}"#,
        #","translation_config":{"target_languages":["de"],"enable_partials":"yes"}"#,
        #","audio_events_config":[]"#,
        #","audio_events_config":{"types":"music"}"#,
        #","audio_events_config":{"types":["music",1]}"#,
        #","audio_events_config":{"types":[""]}"#,
    ]

    @Test("Speechmatics: a malformed translation_config or audio_events_config, or over 5 targets, is invalid_config")
    func refusedConfigs() async throws {
        let emulator = try TranscriptionEmulator(configuration: fastConfiguration())
        defer { emulator.shutdown() }
        for members in Self.refused {
            _ = try await EmulatorSpeechmaticsValidationTests.expectError(
                emulator, steps: [.text(Self.start(members))], type: "invalid_config", code: 1003)
        }
        let records = await emulator.waitForSessions(count: Self.refused.count)
        for (record, members) in zip(records, Self.refused) {
            #expect(
                record.violations.count == 1 && record.violations[0].hasPrefix("invalid_config/1003: "), "\(members)")
        }
    }

    @Test(
        "Speechmatics: an empty target list is answered with Warning empty_translation_target_list; the session goes on"
    )
    func emptyTargets() async throws {
        let emulator = try TranscriptionEmulator(configuration: fastConfiguration())
        defer { emulator.shutdown() }
        let client = try await EmulatorClient.connect(emulator.speechmaticsURL, headers: speechmaticsKey)
        try await client.send(json: Self.start(#","translation_config":{"target_languages":[]}"#))
        try await client.waitForMessage("RecognitionStarted")
        let warning = try await client.waitForMessage("Warning")
        #expect(warning["type"] as? String == "empty_translation_target_list")
        _ = try await client.sendSilence(seconds: 4)
        try await client.send(json: #"{"message":"EndOfStream","last_seq_no":80}"#)
        try await client.waitForMessage("EndOfTranscript")
        #expect(!client.texts.contains { $0.contains("Translation") })
        await client.close()
        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(record.violations.isEmpty, "\(record.violations)")
    }

    @Test("Speechmatics: audio event types are an open list (an unknown one is accepted and noted)")
    func openAudioEventTypes() async throws {
        let emulator = try TranscriptionEmulator(configuration: fastConfiguration())
        defer { emulator.shutdown() }
        let client = try await EmulatorClient.connect(emulator.speechmaticsURL, headers: speechmaticsKey)
        try await client.send(json: Self.start(#","audio_events_config":{"types":["music","siren"]}"#))
        try await client.waitForMessage("RecognitionStarted")
        await client.close()
        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(record.violations.isEmpty, "\(record.violations)")
        #expect(record.notes.contains { $0.contains("'siren'") }, "\(record.notes)")
    }

    @Test("AssemblyAI: max_speakers outside 1…10 is refused with 3006", arguments: ["0", "11", "two"])
    func maxSpeakers(_ value: String) async throws {
        let emulator = try TranscriptionEmulator(configuration: fastConfiguration())
        defer { emulator.shutdown() }
        let text = try await EmulatorAssemblyAIValidationTests.expectError(
            emulator, query: EmulatorAssemblyAITests.u3Query + "&speaker_labels=true&max_speakers=" + value, code: 3006)
        #expect(text.hasPrefix("User Input Validation Error: Invalid 'max_speakers'"), "\(text)")
    }
}
