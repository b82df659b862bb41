import Foundation
import StreamingSTT
import StreamingSTTTesting
import Testing

@Suite("Emulator: AssemblyAI v3 sessions")
struct EmulatorAssemblyAITests {
    static let u3Query = "?speech_model=u3-rt-pro&sample_rate=16000&encoding=pcm_s16le"

    @Test(
        "u3-rt-pro: Begin, SpeechStarted, partials, formatted finals, Termination, close 1000",
        arguments: [false, true])
    func u3Session(secure: Bool) async throws {
        let emulator = try TranscriptionEmulator(configuration: fastConfiguration(tls: secure))
        defer { emulator.shutdown() }
        #expect(emulator.assemblyAIURL == "\(secure ? "wss" : "ws")://127.0.0.1:\(emulator.port)/v3/ws")
        let client = try await EmulatorClient.connect(
            emulator.assemblyAIURL + Self.u3Query, headers: assemblyAIKey + [("AssemblyAI-Version", "2025-05-12")])
        let begin = try await client.waitForMessage("Begin")
        #expect(topLevelKeys(client.texts[0]) == ["type", "id", "expires_at", "configuration"])
        #expect(UUID(uuidString: begin["id"] as? String ?? "") != nil)
        let expiresAt = try #require(begin["expires_at"] as? Int)
        #expect(abs(expiresAt - Int(Date().timeIntervalSince1970) - 10800) <= 60)
        let configuration = try #require(begin["configuration"] as? [String: Any])
        #expect(configuration["model"] as? String == "u3-rt-pro")
        #expect(configuration["mode"] as? String == "balanced")
        #expect(configuration["api_version"] as? String == "1.0.0")

        let sent = try await client.sendSilence(seconds: 4.0)
        try await client.send(json: #"{"type":"Terminate"}"#)
        let termination = try await client.waitForMessage("Termination")
        #expect(termination["audio_duration_seconds"] as? Int == 4)
        #expect(termination["session_duration_seconds"] is Int)
        let closure = try await client.closed()
        #expect(closure.peerCode == 1000)

        let types = client.objects.compactMap(discriminator)
        #expect(
            types == ["Begin", "SpeechStarted", "Turn", "Turn", "SpeechStarted", "Turn", "Turn", "Turn", "Termination"])
        let texts = client.texts
        #expect(texts[1] == #"{"type":"SpeechStarted","timestamp":500,"confidence":0.987654}"#)
        #expect(
            texts[2]
                == #"{"turn_order":0,"turn_is_formatted":false,"end_of_turn":false,"transcript":"Hello","end_of_turn_confidence":0,"words":[{"start":500,"end":800,"text":"Hello","confidence":0.98,"word_is_final":false}],"utterance":"","type":"Turn"}"#
        )
        #expect(
            texts[3]
                == #"{"turn_order":0,"turn_is_formatted":true,"end_of_turn":true,"transcript":"Hello world.","end_of_turn_confidence":1,"words":[{"start":500,"end":800,"text":"Hello","confidence":0.98,"word_is_final":true},{"start":900,"end":1200,"text":"world.","confidence":0.98,"word_is_final":true}],"utterance":"Hello world.","type":"Turn"}"#
        )
        let finals = client.objects.filter { $0["end_of_turn"] as? Bool == true }
        #expect(finals.map { $0["transcript"] as? String } == ["Hello world.", "How are you?"])
        #expect(finals.map { $0["turn_order"] as? Int } == [0, 1])
        #expect(finals.allSatisfy { $0["utterance"] as? String == $0["transcript"] as? String })

        let records = await emulator.waitForSessions(count: 1)
        let record = try #require(records.first)
        #expect(record.vendor == .assemblyAI)
        #expect(record.violations.isEmpty)
        #expect(record.audio == sent)
        #expect(record.audioChunkSizes == Array(repeating: 1600, count: 80))
        #expect(record.transcript == "Hello world. How are you?")
        #expect(record.finalTranscripts == ["Hello world.", "How are you?"])
        #expect(record.textMessagesReceived == [#"{"type":"Terminate"}"#])
        #expect(record.messagesSent == texts)
        #expect(record.closeCode == 1000)
        #expect(record.ended)
        #expect(record.headers.first { $0.name == "authorization" }?.value == "***")
        #expect(record.headers.first { $0.name == "assemblyai-version" }?.value == "2025-05-12")
    }

    @Test("universal-streaming: growing partials, unformatted end of turn, and a formatted final with format_turns")
    func universalSession() async throws {
        for formatTurns in [false, true] {
            let emulator = try TranscriptionEmulator(configuration: fastConfiguration())
            defer { emulator.shutdown() }
            let query =
                "?speech_model=universal-streaming-english&sample_rate=16000&format_turns=\(formatTurns ? "True" : "false")"
            let client = try await EmulatorClient.connect(emulator.assemblyAIURL + query, headers: assemblyAIKey)
            let begin = try await client.waitForMessage("Begin")
            let configuration = try #require(begin["configuration"] as? [String: Any])
            #expect(configuration["mode"] is NSNull)
            _ = try await client.sendSilence(seconds: 4.0)
            try await client.send(json: #"{"type":"Terminate"}"#)
            _ = try await client.waitForMessage("Termination")
            #expect(try await client.closed().peerCode == 1000)

            let turns = client.objects.filter { $0["type"] as? String == "Turn" }
            #expect(!client.objects.contains { $0["type"] as? String == "SpeechStarted" })
            let partials = turns.filter { $0["end_of_turn"] as? Bool == false }
            #expect(partials.map { $0["transcript"] as? String } == ["", "hello", "", "how", "how are"])
            for partial in partials {
                let words = try #require(partial["words"] as? [[String: Any]])
                #expect(words.map { $0["word_is_final"] as? Bool } == words.indices.map { $0 < words.count - 1 })
                #expect(partial["utterance"] as? String == "")
                #expect(partial["end_of_turn_confidence"] as? Double ?? 1 < 0.4)
            }
            let ends = turns.filter { $0["end_of_turn"] as? Bool == true }
            let expected: [(String, Bool, Int)] =
                formatTurns
                ? [
                    ("hello world", false, 0), ("Hello world.", true, 0), ("how are you", false, 1),
                    ("How are you?", true, 1),
                ]
                : [("hello world", false, 0), ("how are you", false, 1)]
            #expect(ends.count == expected.count)
            for (end, (text, formatted, order)) in zip(ends, expected) {
                #expect(end["transcript"] as? String == text)
                #expect(end["utterance"] as? String == text)
                #expect(end["turn_is_formatted"] as? Bool == formatted)
                #expect(end["turn_order"] as? Int == order)
                #expect(end["end_of_turn_confidence"] as? Double == 0.7)
            }
            // A universal end-of-turn text keeps a float confidence on the wire.
            #expect(client.texts.contains { $0.contains(#""end_of_turn_confidence":0.7,"#) })
            let record = try #require(await emulator.waitForSessions(count: 1).first)
            #expect(record.violations.isEmpty)
            #expect(record.transcript == (formatTurns ? "Hello world. How are you?" : "hello world how are you"))
        }
    }

    @Test("audio paced in real time is accepted with enforceRealTime on; a burst is refused with 3007")
    func realTimePacing() async throws {
        let script = EmulatorScript(text: "Paced.", startingAt: 0.1, wordDuration: 0.3)
        let emulator = try TranscriptionEmulator(configuration: .init(script: script))
        defer { emulator.shutdown() }
        let paced = try await EmulatorClient.connect(emulator.assemblyAIURL + Self.u3Query, headers: assemblyAIKey)
        try await paced.waitForMessage("Begin")
        _ = try await paced.sendSilence(seconds: 1.5, chunkMilliseconds: 100, paced: true)
        try await paced.send(json: #"{"type":"Terminate"}"#)
        try await paced.waitForMessage("Termination")
        #expect(
            paced.objects.filter { $0["end_of_turn"] as? Bool == true }.map { $0["transcript"] as? String } == [
                "Paced."
            ])

        let burst = try await EmulatorClient.connect(emulator.assemblyAIURL + Self.u3Query, headers: assemblyAIKey)
        try await burst.waitForMessage("Begin")
        _ = try? await burst.sendSilence(seconds: 10.0, chunkMilliseconds: 100)
        let error = try await burst.waitForMessage("Error")
        #expect(error["error_code"] as? Int == 3007)
        #expect((error["error"] as? String)?.hasPrefix("Audio Transmission Rate Exceeded: Received ") == true)
        #expect(try await burst.closed().peerCode == 3007)
        let records = await emulator.waitForSessions(count: 2)
        #expect(records[0].violations.isEmpty)
        #expect(records[1].violations.count == 1 && records[1].violations[0].hasPrefix("3007: Audio Transmission Rate"))
    }

    @Test("ForceEndpoint finalizes the current turn at once; KeepAlive and UpdateConfiguration get no reply")
    func controlMessages() async throws {
        let emulator = try TranscriptionEmulator(configuration: fastConfiguration())
        defer { emulator.shutdown() }
        let client = try await EmulatorClient.connect(emulator.assemblyAIURL + Self.u3Query, headers: assemblyAIKey)
        try await client.waitForMessage("Begin")
        _ = try await client.sendSilence(seconds: 0.85)  // "Hello" heard (ends at 0.8 s), "world." not yet
        try await client.send(json: #"{"type":"KeepAlive"}"#)
        try await client.send(json: #"{"type":"UpdateConfiguration","min_turn_silence":200,"keyterms_prompt":[]}"#)
        try await client.send(json: #"{"type":"ForceEndpoint"}"#)
        try await client.wait(for: "the forced final") { texts in
            texts.contains { $0.contains(#""end_of_turn":true"#) }
        }
        _ = try await client.sendSilence(seconds: 3.2)
        try await client.send(json: #"{"type":"Terminate"}"#)
        try await client.waitForMessage("Termination")
        let finals = client.objects.filter { $0["end_of_turn"] as? Bool == true }
        #expect(finals.map { $0["transcript"] as? String } == ["Hello", "world.", "How are you?"])
        #expect(finals.map { $0["turn_order"] as? Int } == [0, 1, 2])
        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(record.violations.isEmpty)
    }

    @Test("Terminate flushes the turn in progress before Termination")
    func terminateFlushes() async throws {
        let emulator = try TranscriptionEmulator(configuration: fastConfiguration())
        defer { emulator.shutdown() }
        let client = try await EmulatorClient.connect(emulator.assemblyAIURL + Self.u3Query, headers: assemblyAIKey)
        try await client.waitForMessage("Begin")
        _ = try await client.sendSilence(seconds: 3.5)  // "you?" just heard, its end-of-turn silence not yet
        try await client.send(json: #"{"type":"Terminate"}"#)
        try await client.waitForMessage("Termination")
        let types = client.objects.compactMap(discriminator)
        #expect(types.suffix(2) == ["Turn", "Termination"])
        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(record.transcript == "Hello world. How are you?")
    }

    @Test("speaker labels and language detection add their fields to finals")
    func speakersAndLanguage() async throws {
        let script = EmulatorScript(
            words: [
                .init(text: "Hi", start: 0.1, end: 0.5, speaker: "alice", punctuation: "."),
                .init(text: "Hello", start: 1.0, end: 1.4, speaker: "bob"),
                .init(text: "there", start: 1.5, end: 2.2, speaker: "bob", punctuation: "."),
            ], language: "es")
        let emulator = try TranscriptionEmulator(configuration: fastConfiguration(script: script))
        defer { emulator.shutdown() }
        let client = try await EmulatorClient.connect(
            emulator.assemblyAIURL + Self.u3Query + "&speaker_labels=true&language_detection=true",
            headers: assemblyAIKey)
        try await client.waitForMessage("Begin")
        _ = try await client.sendSilence(seconds: 2.5)
        try await client.send(json: #"{"type":"Terminate"}"#)
        try await client.waitForMessage("Termination")
        let finals = client.objects.filter { $0["end_of_turn"] as? Bool == true }
        #expect(finals.map { $0["speaker_label"] as? String } == ["UNKNOWN", "B"])
        #expect(finals.allSatisfy { $0["language_code"] as? String == "es" })
        let words = try #require(finals.last?["words"] as? [[String: Any]])
        #expect(words.map { $0["speaker"] as? String } == ["B", "B"])
        let partials = client.objects.filter { $0["end_of_turn"] as? Bool == false }
        #expect(partials.allSatisfy { $0["language_code"] == nil && $0["speaker_label"] == nil })
    }
}
