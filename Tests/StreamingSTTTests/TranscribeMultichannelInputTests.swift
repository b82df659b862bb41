import Foundation
import StreamingSTT
import StreamingSTTProtocol
import StreamingSTTTesting
import Testing

/// `--input mic --multichannel`: a 2-channel ALSA capture is split into channels, never mixed
/// down (through the real ALSA code path, with no sound card: `ALSA_CONFIG_PATH` names a
/// configuration whose `fromfile` PCM is a `file` plugin reading a stereo recording over a `null`
/// slave); and audio events of a multichannel session labelled by channel in the command's output.
extension TranscribeCommandTests {
    /// Raw 48 kHz s16le stereo: the left a tone, the right silence (`seconds` long).
    static func stereoCapture(seconds: Double) throws -> String {
        let path = NSTemporaryDirectory() + "transcribe-capture-\(UUID().uuidString).raw"
        var bytes: [UInt8] = []
        let frames = Int(seconds * 48_000)
        bytes.reserveCapacity(frames * 4)
        for frame in 0..<frames {
            let left = Int16(8000 * sin(Double(frame) * 2 * .pi * 440 / 48_000))
            bytes += [UInt8(truncatingIfNeeded: left), UInt8(truncatingIfNeeded: left >> 8), 0, 0]
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The samples (s16le) a Speechmatics session received on `channel`, from its
    /// `AddChannelAudio` messages.
    static func channelSamples(_ record: EmulatorSessionRecord, channel: String) -> [Int16] {
        var samples: [Int16] = []
        for text in record.textMessagesReceived where text.contains(#""message":"AddChannelAudio""#) {
            guard let json = try? JSONValue(parsing: text), json["channel"]?.stringValue == channel,
                let data = json["data"]?.stringValue.flatMap({ Data(base64Encoded: $0) })
            else { continue }
            let bytes = [UInt8](data)
            for index in stride(from: 0, to: bytes.count - 1, by: 2) {
                samples.append(Int16(bitPattern: UInt16(bytes[index]) | UInt16(bytes[index + 1]) << 8))
            }
        }
        return samples
    }

    /// Samples (s16le) from bytes.
    static func samples(_ bytes: [UInt8]) -> [Int16] {
        stride(from: 0, to: bytes.count - 1, by: 2).map {
            Int16(bitPattern: UInt16(bytes[$0]) | UInt16(bytes[$0 + 1]) << 8)
        }
    }

    @Test(
        "--input mic --multichannel opens the device with two channels and transcribes each as its own channel (AssemblyAI: a session each)",
        .timeLimit(.minutes(1)), arguments: ["speechmatics", "assemblyai"])
    func microphoneMultichannel(provider: String) async throws {
        let emulator = try Self.channelEmulator()
        defer { emulator.shutdown() }
        let capture = try Self.stereoCapture(seconds: 20)
        defer { try? FileManager.default.removeItem(atPath: capture) }
        let alsa = NSTemporaryDirectory() + "transcribe-alsa-\(UUID().uuidString).conf"
        try fileBackedALSAConfiguration(reading: capture).write(toFile: alsa, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: alsa) }
        let vendor =
            provider == "speechmatics"
            ? ["--endpoint", emulator.speechmaticsURL, "--max-delay", "1"] : ["--endpoint", emulator.assemblyAIURL]
        // The capture never ends: Ctrl-C once a final is out.
        let result = try await Self.run(
            [
                "--provider", provider, "--input", "mic", "--device", "fromfile", "--multichannel", "--format", "jsonl",
                "--ca-file", sharedAuthority.caCertificatePath, "--api-key", "cli-key-0123456789",
            ] + vendor, environment: ["ALSA_CONFIG_PATH": alsa], interruptions: 1,
            interruptWhen: { $0.contains(#""type":"final""#) })
        try #require(result.status == 0, "\(result.stderr)")
        // Left and right arrive apart: the tone on ch1, silence on ch2 (mixed down, both would
        // carry half the tone; captured mono, there would be one channel).
        let left: [Int16]
        let right: [Int16]
        if provider == "assemblyai" {
            let records = await emulator.waitForSessions(count: 2)
            #expect(records.allSatisfy { $0.violations.isEmpty }, "\(records.map(\.violations))")
            try #require(records.count == 2)
            (left, right) = (Self.samples(records[0].audio), Self.samples(records[1].audio))
            #expect(left.count > 16_000 && right.count > 16_000, "\(left.count) \(right.count)")
        } else {
            let record = try #require(await emulator.waitForSessions(count: 1).first)
            #expect(record.violations.isEmpty, "\(record.violations)")
            #expect(
                record.textMessagesReceived.first?.contains(
                    #""diarization":"channel","channel_diarization_labels":["ch1","ch2"]"#) == true,
                "\(record.textMessagesReceived.first ?? "")")
            left = Self.channelSamples(record, channel: "ch1")
            right = Self.channelSamples(record, channel: "ch2")
            #expect(left.count > 16_000 && right.count == left.count, "\(left.count) \(right.count)")
        }
        #expect((left.map { abs(Int32($0)) }.max() ?? 0) > 6000)
        #expect(right.allSatisfy { abs(Int32($0)) <= 1 }, "\(right.map { abs(Int32($0)) }.max() ?? 0)")
        let channels = Set(
            result.lines.filter { $0["type"]?.stringValue == "final" }.compactMap { $0["channel"]?.stringValue })
        #expect(!channels.isEmpty && channels.isSubset(of: ["ch1", "ch2"]), "\(channels)")
    }

    /// The channel script with a sound heard on every channel.
    static func audioEventEmulator(_ events: [EmulatorScript.AudioEvent]) throws -> TranscriptionEmulator {
        var script = channelScript
        script.audioEvents = events
        return try TranscriptionEmulator(
            configuration: .init(
                tls: sharedAuthority, apiKeys: ["cli-key-0123456789"], script: script,
                assemblyAI: .init(enforceRealTime: false, terminationDelay: .zero)))
    }

    @Test("--audio-events --multichannel: each channel's audio events carry its label, in JSON lines and text lines")
    func multichannelAudioEvents() async throws {
        let emulator = try Self.audioEventEmulator([.init(type: "music", start: 0.2, end: 0.9, confidence: 0.75)])
        defer { emulator.shutdown() }
        let file = try Self.stereoFile()
        defer { try? FileManager.default.removeItem(atPath: file) }
        let result = try await Self.run(
            Self.channelArguments(
                emulator, file: file,
                [
                    "--multichannel", "--channel-label", "agent", "--channel-label", "caller", "--audio-events",
                    "--format", "jsonl",
                ]))
        try #require(result.status == 0, "\(result.stderr)")
        let events = result.lines.filter { $0["type"]?.stringValue == "audioEvent" }.map(\.description)
        for channel in ["agent", "caller"] {
            #expect(
                events.filter { $0.contains(#""channel":"\#(channel)""#) } == [
                    #"{"type":"audioEvent","event":"started","name":"music","time":0.2,"confidence":0.75,"channel":"\#(channel)"}"#,
                    #"{"type":"audioEvent","event":"ended","name":"music","time":0.9,"channel":"\#(channel)"}"#,
                ], "\(events)")
        }
        #expect(events.count == 4, "\(events)")
        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(record.violations.isEmpty, "\(record.violations)")
        #expect(
            record.messagesSent.filter { $0.contains("AudioEventStarted") }.allSatisfy {
                $0.contains(#""channel":"agent""#) || $0.contains(#""channel":"caller""#)
            })

        let text = try await Self.run(
            Self.channelArguments(emulator, file: file, ["--multichannel", "--audio-events", "--no-partials"]))
        try #require(text.status == 0, "\(text.stderr)")
        let lines = text.stdout.split(separator: "\n").map(String.init)
        for channel in ["ch1", "ch2"] {
            #expect(
                lines.contains("\(channel): [music started]") && lines.contains("\(channel): [music ended]"), "\(lines)"
            )
        }
    }
}
