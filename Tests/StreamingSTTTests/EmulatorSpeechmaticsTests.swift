import Foundation
import StreamingSTT
import StreamingSTTTesting
import Testing

@Suite("Emulator: Speechmatics RT v2 sessions")
struct EmulatorSpeechmaticsTests {
    static func start(
        language: String = "en", extra: String = "", encoding: String = "pcm_s16le", sampleRate: Int = 16000
    ) -> String {
        #"{"message":"StartRecognition","audio_format":{"type":"raw","encoding":"\#(encoding)","sample_rate":\#(sampleRate)},"#
            + #""transcription_config":{"language":"\#(language)"\#(extra)}}"#
    }

    @Test(
        "a full session: Info, RecognitionStarted, AudioAdded 1…N, finals on a cadence, EndOfTranscript",
        arguments: [false, true])
    func fullSession(secure: Bool) async throws {
        // The client closes after EndOfTranscript; a long grace keeps a loaded machine from
        // letting the emulator close first (seen once with the default 500 ms).
        let emulator = try TranscriptionEmulator(
            configuration: fastConfiguration(tls: secure) { $0.speechmatics.closeGrace = .seconds(10) })
        defer { emulator.shutdown() }
        #expect(emulator.speechmaticsURL == "\(secure ? "wss" : "ws")://127.0.0.1:\(emulator.port)/v2")
        let client = try await EmulatorClient.connect(
            emulator.speechmaticsURL + "?sm-sdk=swift-test", headers: speechmaticsKey + [("X-Request-Id", "req-1")])
        let info = try await client.waitForMessage("Info")
        #expect(info["type"] as? String == "concurrent_session_usage")
        #expect(info["usage"] as? Int == 1)
        try await client.send(json: Self.start())
        let started = try await client.waitForMessage("RecognitionStarted")
        #expect(topLevelKeys(client.texts[1]) == ["message", "orchestrator_version", "id", "language_pack_info"])
        let pack = try #require(started["language_pack_info"] as? [String: Any])
        #expect(pack["word_delimiter"] as? String == " ")
        #expect(pack["language_description"] as? String == "English")
        #expect(pack["writing_direction"] as? String == "left-to-right")

        let sent = try await client.sendSilence(seconds: 4.0, chunkMilliseconds: 100)
        try await client.wait(for: "40 acks") { $0.contains(#"{"message":"AudioAdded","seq_no":40}"#) }
        try await client.send(json: #"{"message":"EndOfStream","last_seq_no":40}"#)
        try await client.waitForMessage("EndOfTranscript")
        await client.close()

        let objects = client.objects
        #expect(objects.last.flatMap(discriminator) == "EndOfTranscript")
        let acks = objects.filter { discriminator($0) == "AudioAdded" }.map { $0["seq_no"] as? Int }
        #expect(acks == Array(1...40))
        #expect(!objects.contains { discriminator($0) == "AddPartialTranscript" })
        let finals = objects.filter { discriminator($0) == "AddTranscript" }
        let metadata = finals.compactMap { $0["metadata"] as? [String: Any] }
        let finalTexts = metadata.compactMap { $0["transcript"] as? String }
        #expect(finalTexts.joined() == "Hello world. How are you? ")
        #expect(finalTexts.contains(""))  // empty finals during silence
        #expect(finalTexts.filter { !$0.isEmpty }.allSatisfy { $0.hasSuffix(" ") })
        let world = try #require(client.texts.first { $0.contains(#""transcript":"world. ""#) })
        #expect(
            world
                == #"{"message":"AddTranscript","format":"2.9","results":[{"alternatives":[{"confidence":0.98,"content":"world","language":"en"}],"end_time":1.2,"start_time":0.9,"type":"word"},{"alternatives":[{"confidence":1.0,"content":".","language":"en"}],"attaches_to":"previous","end_time":1.2,"is_eos":true,"start_time":1.2,"type":"punctuation"}],"metadata":{"end_time":1.2,"start_time":0.9,"transcript":"world. "}}"#
        )
        // Finals cover the audio in order, without overlap.
        var previousEnd = 0.0
        for item in metadata {
            let start = try #require(item["start_time"] as? Double)
            let end = try #require(item["end_time"] as? Double)
            #expect(start >= previousEnd - 0.0001 && end >= start)
            previousEnd = end
        }

        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(record.vendor == .speechmatics)
        #expect(record.violations.isEmpty, "\(record.violations)")
        #expect(record.audio == sent)
        #expect(record.audioChunkSizes == Array(repeating: 3200, count: 40))
        #expect(record.transcript == "Hello world. How are you?")
        #expect(record.finalTranscripts == finalTexts)
        #expect(record.closeCode == 1000)
        #expect(record.closedByClient)
        #expect(record.headers.first { $0.name == "x-request-id" }?.value == "req-1")
        #expect(record.query.map { "\($0.name)=\($0.value)" } == ["sm-sdk=swift-test"])
    }

    @Test("without the client's close, the emulator closes with 1000 after EndOfTranscript")
    func closesAfterGrace() async throws {
        let emulator = try TranscriptionEmulator(
            configuration: fastConfiguration { $0.speechmatics.closeGrace = .milliseconds(200) })
        defer { emulator.shutdown() }
        let client = try await EmulatorClient.connect(emulator.speechmaticsURL + "/en", headers: speechmaticsKey)
        try await client.send(json: Self.start())
        try await client.waitForMessage("RecognitionStarted")
        _ = try await client.sendSilence(seconds: 0.2, chunkMilliseconds: 100)
        try await client.send(json: #"{"message":"EndOfStream","last_seq_no":2}"#)
        try await client.waitForMessage("EndOfTranscript")
        #expect(try await client.closed().peerCode == 1000)
        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(!record.closedByClient)
        #expect(record.path == "/v2/en")
    }

    @Test("a session over the concurrent-session quota is refused: quota_exceeded, close 4005")
    func quota() async throws {
        let emulator = try TranscriptionEmulator(
            configuration: fastConfiguration { $0.speechmatics.concurrentSessionQuota = 1 })
        defer { emulator.shutdown() }
        let first = try await EmulatorClient.connect(emulator.speechmaticsURL, headers: speechmaticsKey)
        try await first.send(json: Self.start())
        try await first.waitForMessage("RecognitionStarted")
        let second = try await EmulatorClient.connect(emulator.speechmaticsURL, headers: speechmaticsKey)
        let error = try await second.waitForMessage("Error")
        #expect(error["type"] as? String == "quota_exceeded")
        let closure = try await second.closed()
        #expect(closure.peerCode == 4005)
        await first.close()
    }

    @Test("no audio for idleTimeout: Error idle_timeout, close 1008")
    func idleTimeout() async throws {
        let emulator = try TranscriptionEmulator(
            configuration: fastConfiguration { $0.speechmatics.idleTimeout = .milliseconds(600) })
        defer { emulator.shutdown() }
        let client = try await EmulatorClient.connect(emulator.speechmaticsURL, headers: speechmaticsKey)
        try await client.send(json: Self.start())
        try await client.waitForMessage("RecognitionStarted")
        let error = try await client.waitForMessage("Error")
        #expect(error["type"] as? String == "idle_timeout")
        #expect(try await client.closed().peerCode == 1008)
    }

    @Test("partials replace each other; EndOfUtterance after silence; speakers with diarization")
    func partialsAndUtterances() async throws {
        let emulator = try TranscriptionEmulator(configuration: fastConfiguration())
        defer { emulator.shutdown() }
        let client = try await EmulatorClient.connect(emulator.speechmaticsURL + "/", headers: speechmaticsKey)
        let extra =
            #","enable_partials":true,"max_delay":2,"diarization":"speaker","#
            + #""conversation_config":{"end_of_utterance_silence_trigger":0.5}"#
        try await client.send(json: Self.start(extra: extra))
        try await client.waitForMessage("RecognitionStarted")
        _ = try await client.sendSilence(seconds: 4.5, chunkMilliseconds: 50)
        try await client.send(json: #"{"message":"EndOfStream","last_seq_no":90}"#)
        try await client.waitForMessage("EndOfTranscript")
        await client.close()

        let objects = client.objects.filter { discriminator($0) != "AudioAdded" }
        let names = objects.compactMap(discriminator)
        #expect(names.filter { $0 == "EndOfUtterance" }.count == 2)
        for (index, name) in names.enumerated() where name == "EndOfUtterance" {
            // The final that closes the utterance comes right before (a partial may sit between).
            let before = names[..<index].last { $0 != "AddPartialTranscript" }
            #expect(before == "AddTranscript")
            let metadata = try #require(objects[index]["metadata"] as? [String: Any])
            #expect(metadata["start_time"] as? Double == metadata["end_time"] as? Double)
            #expect(objects[index]["forced"] == nil)
        }
        let partials = objects.filter { discriminator($0) == "AddPartialTranscript" }
        #expect(!partials.isEmpty)
        let partialTexts = partials.compactMap { ($0["metadata"] as? [String: Any])?["transcript"] as? String }
        #expect(partialTexts.contains("Hello "))
        // Every word result carries the speaker.
        let finals = objects.filter { discriminator($0) == "AddTranscript" }
        let alternatives = finals.flatMap { ($0["results"] as? [[String: Any]]) ?? [] }
            .compactMap { ($0["alternatives"] as? [[String: Any]])?.first }
        #expect(!alternatives.isEmpty && alternatives.allSatisfy { $0["speaker"] as? String == "S1" })
        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(record.transcript == "Hello world. How are you?")
        #expect(record.violations.isEmpty)
    }

    @Test("ForceEndOfUtterance: a forced final of what was heard, then a forced EndOfUtterance")
    func forceEndOfUtterance() async throws {
        let emulator = try TranscriptionEmulator(configuration: fastConfiguration())
        defer { emulator.shutdown() }
        let client = try await EmulatorClient.connect(emulator.speechmaticsURL, headers: speechmaticsKey)
        try await client.send(json: Self.start())
        try await client.waitForMessage("RecognitionStarted")
        _ = try await client.sendSilence(seconds: 0.9, chunkMilliseconds: 100)
        try await client.wait(for: "9 acks") { $0.contains(#"{"message":"AudioAdded","seq_no":9}"#) }
        try await client.send(json: #"{"message":"ForceEndOfUtterance"}"#)
        let utterance = try await client.waitForMessage("EndOfUtterance")
        #expect(utterance["forced"] as? Bool == true)
        let forced = try #require(client.objects.last { discriminator($0) == "AddTranscript" })
        #expect(forced["forced"] as? Bool == true)
        #expect((forced["metadata"] as? [String: Any])?["transcript"] as? String == "Hello ")
        try await client.send(json: #"{"message":"EndOfStream","last_seq_no":9}"#)
        try await client.waitForMessage("EndOfTranscript")
        await client.close()
    }

    @Test("GetSpeakers answers SpeakersResult; SetRecognitionConfig may change the mid-session fields")
    func midSessionMessages() async throws {
        let emulator = try TranscriptionEmulator(configuration: fastConfiguration())
        defer { emulator.shutdown() }
        let client = try await EmulatorClient.connect(emulator.speechmaticsURL, headers: speechmaticsKey)
        try await client.send(json: Self.start(extra: #","diarization":"speaker","additional_vocab":["gnocchi"]"#))
        try await client.waitForMessage("RecognitionStarted")
        _ = try await client.sendSilence(seconds: 2.0, chunkMilliseconds: 100)
        try await client.send(
            json: #"{"message":"SetRecognitionConfig","transcription_config":{"language":"en","diarization":"speaker","#
                + #""enable_partials":true,"max_delay":1.5,"conversation_config":{"end_of_utterance_silence_trigger":0.4}}}"#
        )
        try await client.send(json: #"{"message":"GetSpeakers"}"#)
        let speakers = try await client.waitForMessage("SpeakersResult")
        let list = try #require(speakers["speakers"] as? [[String: Any]])
        #expect(list.map { $0["label"] as? String } == ["S1"])
        _ = try await client.sendSilence(seconds: 2.0, chunkMilliseconds: 100)
        try await client.send(json: #"{"message":"EndOfStream","last_seq_no":40}"#)
        try await client.waitForMessage("EndOfTranscript")
        await client.close()
        #expect(client.objects.contains { discriminator($0) == "AddPartialTranscript" })
        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(record.violations.isEmpty, "\(record.violations)")
        #expect(record.transcript == "Hello world. How are you?")
    }
}
