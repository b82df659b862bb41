import Foundation
import StreamingSTT
import StreamingSTTTesting
import Testing

/// The emulator's Speechmatics multichannel sessions, with a raw client: channel diarization with
/// labels, `AddChannelAudio` acknowledged per channel by `ChannelAudioAdded` (counted from 1),
/// transcripts carrying `channel` on the message root, `EndOfChannel` per channel and then
/// `EndOfTranscript`; and the strict refusals.
@Suite("Emulator: Speechmatics channels")
struct EmulatorSpeechmaticsChannelsTests {
    static let labels = #","diarization":"channel","channel_diarization_labels":["left","right"]"#
    static let start = EmulatorSpeechmaticsTests.start(extra: labels)
    /// Left and right say different things.
    static let script =
        EmulatorScript(text: "Hello there.", startingAt: 0.3, channel: 0)
        + EmulatorScript(text: "Good morning.", startingAt: 0.4, channel: 1)

    /// `AddChannelAudio` of `milliseconds` of 16 kHz s16 silence.
    static func audio(_ channel: String, milliseconds: Int = 100) -> String {
        let data = Data(repeating: 0, count: 32 * milliseconds).base64EncodedString()
        return #"{"message":"AddChannelAudio","channel":"\#(channel)","data":"\#(data)"}"#
    }

    @Test(
        "a two-channel session: ChannelAudioAdded per channel, finals per channel, EndOfChannel ×2",
        arguments: [false, true])
    func session(secure: Bool) async throws {
        let emulator = try TranscriptionEmulator(
            configuration: fastConfiguration(tls: secure, script: Self.script) {
                $0.speechmatics.closeGrace = .seconds(10)
            })
        defer { emulator.shutdown() }
        let client = try await EmulatorClient.connect(emulator.speechmaticsURL, headers: speechmaticsKey)
        try await client.send(json: Self.start)
        let started = try await client.waitForMessage("RecognitionStarted")
        #expect(started["channel_ids"] as? [String] == ["left", "right"])
        for _ in 0..<30 {
            try await client.send(json: Self.audio("left"))
            try await client.send(json: Self.audio("right"))
        }
        try await client.wait(for: "30 acks on each channel") { texts in
            texts.contains(#"{"message":"ChannelAudioAdded","channel":"left","seq_no":30}"#)
                && texts.contains(#"{"message":"ChannelAudioAdded","channel":"right","seq_no":30}"#)
        }
        let acks = client.objects.filter { discriminator($0) == "ChannelAudioAdded" }
        for label in ["left", "right"] {
            #expect(
                acks.filter { $0["channel"] as? String == label }.map { $0["seq_no"] as? Int } == (1...30).map { $0 })
        }
        try await client.send(json: #"{"message":"EndOfChannel","channel":"left","last_seq_no":30}"#)
        // One channel ended: the session goes on.
        try await client.send(json: Self.audio("right"))
        try await client.wait(for: "ack 31 on the right") {
            $0.contains(#"{"message":"ChannelAudioAdded","channel":"right","seq_no":31}"#)
        }
        #expect(!client.texts.contains { $0.contains("EndOfTranscript") })
        try await client.send(json: #"{"message":"EndOfChannel","channel":"right","last_seq_no":31}"#)
        try await client.waitForMessage("EndOfTranscript")
        var heard: [String: String] = [:]
        for object in client.objects where discriminator(object) == "AddTranscript" {
            let channel = try #require(object["channel"] as? String)
            let text = (object["metadata"] as? [String: Any])?["transcript"] as? String ?? ""
            heard[channel, default: ""] += text
        }
        #expect(heard["left"]?.trimmingCharacters(in: .whitespaces) == "Hello there.")
        #expect(heard["right"]?.trimmingCharacters(in: .whitespaces) == "Good morning.")
        await client.close()
        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(record.violations.isEmpty, "\(record.violations)")
    }

    @Test("EndOfStream ends every channel at once")
    func endOfStream() async throws {
        let emulator = try TranscriptionEmulator(configuration: fastConfiguration(script: Self.script))
        defer { emulator.shutdown() }
        let client = try await EmulatorClient.connect(emulator.speechmaticsURL, headers: speechmaticsKey)
        try await client.send(json: Self.start)
        try await client.waitForMessage("RecognitionStarted")
        try await client.send(json: Self.audio("left", milliseconds: 2500))
        try await client.send(json: Self.audio("right", milliseconds: 2500))
        try await client.send(json: #"{"message":"EndOfStream","last_seq_no":1}"#)
        try await client.waitForMessage("EndOfTranscript")
        let channels = Set(
            client.objects.filter { discriminator($0) == "AddTranscript" }.compactMap { $0["channel"] as? String })
        #expect(channels == ["left", "right"])
    }

    typealias Step = EmulatorSpeechmaticsValidationTests.Step

    /// What the service refuses in a multichannel session, with the error and close code.
    static let refusals: [(name: String, steps: [Step], type: String, code: Int)] = [
        (
            "AddChannelAudio without channel diarization",
            [.text(EmulatorSpeechmaticsTests.start()), .awaitStarted, .text(audio("left"))], "protocol_error", 1003
        ),
        (
            "EndOfChannel without channel diarization",
            [
                .text(EmulatorSpeechmaticsTests.start()), .awaitStarted,
                .text(#"{"message":"EndOfChannel","channel":"left","last_seq_no":0}"#),
            ], "protocol_error", 1003
        ),
        (
            "binary audio in a multichannel session", [.text(start), .awaitStarted, .audio(3200)], "protocol_error",
            1003
        ),
        ("an unknown channel label", [.text(start), .awaitStarted, .text(audio("centre"))], "protocol_error", 1003),
        (
            "AddChannelAudio before RecognitionStarted", [.text(audio("left"))], "protocol_error", 1003
        ),
        (
            "AddChannelAudio without data",
            [.text(start), .awaitStarted, .text(#"{"message":"AddChannelAudio","channel":"left"}"#)],
            "invalid_message", 1003
        ),
        (
            "AddChannelAudio with data that is not base64",
            [.text(start), .awaitStarted, .text(#"{"message":"AddChannelAudio","channel":"left","data":"%%%"}"#)],
            "invalid_message", 1003
        ),
        (
            "AddChannelAudio that is not whole samples",
            [.text(start), .awaitStarted, .text(#"{"message":"AddChannelAudio","channel":"left","data":"AAAA"}"#)],
            "invalid_message", 1003
        ),
        (
            "AddChannelAudio without a channel",
            [.text(start), .awaitStarted, .text(#"{"message":"AddChannelAudio","data":"AAAA"}"#)],
            "invalid_message", 1003
        ),
        (
            "EndOfChannel twice",
            [
                .text(start), .awaitStarted, .text(#"{"message":"EndOfChannel","channel":"left","last_seq_no":0}"#),
                .text(#"{"message":"EndOfChannel","channel":"left","last_seq_no":0}"#),
            ], "protocol_error", 1003
        ),
        (
            "EndOfChannel beyond the channel's messages",
            [
                .text(start), .awaitStarted, .text(audio("left")),
                .text(#"{"message":"EndOfChannel","channel":"left","last_seq_no":2}"#),
            ], "protocol_error", 1003
        ),
        (
            "EndOfChannel without last_seq_no",
            [.text(start), .awaitStarted, .text(#"{"message":"EndOfChannel","channel":"left"}"#)],
            "invalid_message", 1003
        ),
        (
            "channel diarization without labels",
            [.text(EmulatorSpeechmaticsTests.start(extra: #","diarization":"channel""#))], "invalid_config", 1003
        ),
        (
            "three channels (the hosted service takes two)",
            [
                .text(
                    EmulatorSpeechmaticsTests.start(
                        extra: #","diarization":"channel","channel_diarization_labels":["a","b","c"]"#))
            ], "invalid_config", 1003
        ),
        (
            "the same label twice",
            [
                .text(
                    EmulatorSpeechmaticsTests.start(
                        extra: #","diarization":"channel_and_speaker","channel_diarization_labels":["a","a"]"#))
            ], "invalid_config", 1003
        ),
        (
            "labels without channel diarization",
            [
                .text(
                    EmulatorSpeechmaticsTests.start(
                        extra: #","diarization":"speaker","channel_diarization_labels":["a","b"]"#))
            ], "invalid_config", 1003
        ),
    ]

    @Test("what the service refuses answers with its Error and close code")
    func refusals() async throws {
        let emulator = try TranscriptionEmulator(configuration: fastConfiguration(script: Self.script))
        defer { emulator.shutdown() }
        for refusal in Self.refusals {
            let reason = try await EmulatorSpeechmaticsValidationTests.expectError(
                emulator, steps: refusal.steps, type: refusal.type, code: refusal.code)
            #expect(!reason.isEmpty, "\(refusal.name)")
        }
    }

    @Test("audio on a channel after its EndOfChannel is ignored with Warning add_audio_after_eos, and recorded")
    func audioAfterEndOfChannel() async throws {
        let emulator = try TranscriptionEmulator(configuration: fastConfiguration(script: Self.script))
        defer { emulator.shutdown() }
        let client = try await EmulatorClient.connect(emulator.speechmaticsURL, headers: speechmaticsKey)
        try await client.send(json: Self.start)
        try await client.waitForMessage("RecognitionStarted")
        try await client.send(json: Self.audio("left"))
        try await client.send(json: #"{"message":"EndOfChannel","channel":"left","last_seq_no":1}"#)
        try await client.send(json: Self.audio("left"))
        let warning = try await client.waitForMessage("Warning")
        #expect(warning["type"] as? String == "add_audio_after_eos")
        #expect(!client.texts.contains(#"{"message":"ChannelAudioAdded","channel":"left","seq_no":2}"#))
        await client.close()
        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(record.violations == ["recorded only: audio on channel left after its EndOfChannel"])
    }

    @Test(
        "audio events carry their channel (a sound on every channel is reported by each, a sound on one by that one); translations carry none",
        arguments: [false, true])
    func audioEventsAndTranslations(secure: Bool) async throws {
        var script = Self.script
        script.audioEvents = [
            .init(type: "music", start: 0.1, end: 0.6, confidence: 0.75),
            .init(type: "applause", start: 1.0, end: 1.4, confidence: 0.5, channel: 1),
        ]
        script.translations = ["de": ["Hello there.": "Hallo.", "Good morning.": "Guten Morgen."]]
        let emulator = try TranscriptionEmulator(
            configuration: fastConfiguration(tls: secure, script: script) { $0.speechmatics.closeGrace = .seconds(10) })
        defer { emulator.shutdown() }
        let client = try await EmulatorClient.connect(emulator.speechmaticsURL, headers: speechmaticsKey)
        try await client.send(
            json: String(Self.start.dropLast())
                + #","audio_events_config":{"types":["music","applause"]},"translation_config":{"target_languages":["de"]}}"#
        )
        try await client.waitForMessage("RecognitionStarted")
        for _ in 0..<30 {
            try await client.send(json: Self.audio("left"))
            try await client.send(json: Self.audio("right"))
        }
        try await client.send(json: #"{"message":"EndOfStream","last_seq_no":30}"#)
        try await client.waitForMessage("EndOfTranscript")
        let events = client.texts.filter { $0.contains(#""message":"AudioEvent"#) }
        #expect(
            events.filter { $0.contains(#""channel":"left""#) } == [
                #"{"message":"AudioEventStarted","event":{"type":"music","start_time":0.1,"confidence":0.75},"channel":"left"}"#,
                #"{"message":"AudioEventEnded","event":{"type":"music","end_time":0.6},"channel":"left"}"#,
            ], "\(events)")
        #expect(
            events.filter { $0.contains(#""channel":"right""#) } == [
                #"{"message":"AudioEventStarted","event":{"type":"music","start_time":0.1,"confidence":0.75},"channel":"right"}"#,
                #"{"message":"AudioEventEnded","event":{"type":"music","end_time":0.6},"channel":"right"}"#,
                #"{"message":"AudioEventStarted","event":{"type":"applause","start_time":1.0,"confidence":0.5},"channel":"right"}"#,
                #"{"message":"AudioEventEnded","event":{"type":"applause","end_time":1.4},"channel":"right"}"#,
            ], "\(events)")
        #expect(events.count == 6)
        // Each channel's sentences are translated, without a channel (protocol note §4.5).
        let translations = client.objects.filter { discriminator($0) == "AddTranslation" }
        #expect(translations.allSatisfy { $0["channel"] == nil })
        let texts = translations.flatMap {
            ($0["results"] as? [[String: Any]] ?? []).compactMap { $0["content"] as? String }
        }
        #expect(texts.sorted() == ["Guten Morgen.", "Hallo."], "\(texts)")
        await client.close()
        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(record.violations.isEmpty, "\(record.violations)")
    }
}
