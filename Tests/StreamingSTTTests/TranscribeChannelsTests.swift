import Foundation
import StreamingSTT
import StreamingSTTTesting
import Testing

/// `--multichannel` and `--channel-label`: each channel of a stereo file transcribed as its own
/// channel (Speechmatics), JSON lines carrying `"channel"`, text lines prefixed with the label,
/// caption cues broken and labelled per channel; and the usage errors (exit 2).
extension TranscribeCommandTests {
    /// The left channel says one sentence, the right another, overlapping in time.
    static let channelScript =
        EmulatorScript(text: "Hello there.", startingAt: 0.3, channel: 0)
        + EmulatorScript(text: "Good morning to you.", startingAt: 0.5, channel: 1)

    /// A stereo 16 kHz WAV file of the script's length plus 1.5 s (the emulator does not listen:
    /// the left is a quiet tone, the right silence).
    static func stereoFile() throws -> String {
        let path = NSTemporaryDirectory() + "transcribe-stereo-\(UUID().uuidString).wav"
        let frames = Int((channelScript.duration + 1.5) * 16000)
        var samples = [Float]()
        samples.reserveCapacity(frames * 2)
        for frame in 0..<frames { samples += [0.1 * Float(sin(Double(frame) * 0.2)), 0] }
        try AudioFileWriter.write(samples, sampleRate: 16000, channelCount: 2, kind: .wav16, to: path)
        return path
    }

    static func channelEmulator() throws -> TranscriptionEmulator {
        var configuration = TranscriptionEmulator.Configuration(
            tls: sharedAuthority, apiKeys: ["cli-key-0123456789"], script: channelScript,
            assemblyAI: .init(enforceRealTime: false, terminationDelay: .zero))
        // AssemblyAI: one session per channel, opened in channel order; each hears its channel.
        configuration.sessionScript = { info in
            info.vendor == .assemblyAI ? channelScript.channel(info.vendorIndex) : nil
        }
        return try TranscriptionEmulator(configuration: configuration)
    }

    static func channelArguments(
        _ emulator: TranscriptionEmulator, file: String, provider: String = "speechmatics", _ extra: [String]
    ) -> [String] {
        let vendor =
            provider == "speechmatics"
            ? ["--endpoint", emulator.speechmaticsURL, "--max-delay", "1"] : ["--endpoint", emulator.assemblyAIURL]
        return [
            "--provider", provider, "--input", file, "--pace", "none", "--ca-file", sharedAuthority.caCertificatePath,
            "--api-key", "cli-key-0123456789",
        ] + vendor + extra
    }

    @Test(
        "--multichannel --channel-label (AssemblyAI: one session per channel): JSON-lines finals carry their channel",
        arguments: ["assemblyai", "speechmatics"])
    func multichannelJSONLines(provider: String) async throws {
        let emulator = try Self.channelEmulator()
        defer { emulator.shutdown() }
        let file = try Self.stereoFile()
        defer { try? FileManager.default.removeItem(atPath: file) }
        let result = try await Self.run(
            Self.channelArguments(
                emulator, file: file, provider: provider,
                ["--multichannel", "--channel-label", "agent", "--channel-label", "caller", "--format", "jsonl"]))
        try #require(result.status == 0, "\(result.stderr)")
        let finals = result.lines.filter { $0["type"]?.stringValue == "final" }
        var texts: [String: [String]] = [:]
        for final in finals {
            let channel = try #require(final["channel"]?.stringValue, "\(final)")
            texts[channel, default: []].append(final["text"]?.stringValue ?? "")
        }
        #expect(texts["agent"]?.joined(separator: " ") == "Hello there.")
        #expect(texts["caller"]?.joined(separator: " ") == "Good morning to you.")
        #expect(Set(texts.keys) == ["agent", "caller"])
        if provider == "assemblyai" {
            let records = await emulator.waitForSessions(count: 2)
            #expect(records.count == 2 && records.allSatisfy { $0.violations.isEmpty }, "\(records.map(\.violations))")
            return
        }
        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(record.violations.isEmpty, "\(record.violations)")
        #expect(
            record.textMessagesReceived.first?.contains(
                #""diarization":"channel","channel_diarization_labels":["agent","caller"]"#) == true)
        #expect(
            record.textMessagesReceived.contains { $0.hasPrefix(#"{"message":"AddChannelAudio","channel":"caller""#) })
    }

    @Test("--multichannel with default labels: text lines prefixed ch1: / ch2:, SubRip cues per channel, labelled")
    func multichannelTextAndCaptions() async throws {
        let emulator = try Self.channelEmulator()
        defer { emulator.shutdown() }
        let file = try Self.stereoFile()
        defer { try? FileManager.default.removeItem(atPath: file) }
        let output = NSTemporaryDirectory() + "transcribe-channels-\(UUID().uuidString).srt"
        defer { try? FileManager.default.removeItem(atPath: output) }
        let result = try await Self.run(
            Self.channelArguments(emulator, file: file, ["--multichannel", "--no-partials", "--output", output]))
        try #require(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(!lines.isEmpty && lines.allSatisfy { $0.hasPrefix("ch1: ") || $0.hasPrefix("ch2: ") }, "\(lines)")
        #expect(
            lines.filter { $0.hasPrefix("ch1: ") }.map { String($0.dropFirst(5)) }.joined(separator: " ")
                == "Hello there.")
        #expect(
            lines.filter { $0.hasPrefix("ch2: ") }.map { String($0.dropFirst(5)) }.joined(separator: " ")
                == "Good morning to you.")
        let cues = Self.subRipCues((try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
        // The channels overlap in time: a cue never mixes them, and each says whose it is.
        #expect(
            cues.map { $0.lines.joined(separator: " ") }.sorted() == ["ch1: Hello there.", "ch2: Good morning to you."])
    }

    @Test("without --multichannel the stereo file is one channel: no channel in the JSON lines, no label")
    func stereoWithoutMultichannel() async throws {
        let emulator = try Self.channelEmulator()
        defer { emulator.shutdown() }
        let file = try Self.stereoFile()
        defer { try? FileManager.default.removeItem(atPath: file) }
        let result = try await Self.run(Self.channelArguments(emulator, file: file, ["--format", "jsonl"]))
        try #require(result.status == 0, "\(result.stderr)")
        let finals = result.lines.filter { $0["type"]?.stringValue == "final" }
        #expect(!finals.isEmpty && finals.allSatisfy { $0["channel"] == nil })
        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(record.textMessagesReceived.first?.contains("channel") == false)
    }

    @Test(
        "--multichannel with a mono input: a one-line note, then its one channel transcribed and labelled",
        arguments: ["speechmatics", "assemblyai"])
    func multichannelMono(provider: String) async throws {
        let emulator = try Self.channelEmulator()
        defer { emulator.shutdown() }
        let file = NSTemporaryDirectory() + "transcribe-mono-\(UUID().uuidString).wav"
        let frames = Int((Self.channelScript.duration + 1.5) * 16000)
        let samples = (0..<frames).map { 0.1 * Float(sin(Double($0) * 0.2)) }
        try AudioFileWriter.write(samples, sampleRate: 16000, channelCount: 1, kind: .wav16, to: file)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let flags = ["--multichannel", "--channel-label", "room", "--format", "jsonl"]
        let result = try await Self.run(Self.channelArguments(emulator, file: file, provider: provider, flags))
        try #require(result.status == 0, "\(result.stderr)")
        let notes = result.stderr.split(separator: "\n").filter { $0.contains("--multichannel") }
        let note = "transcribe: note: --multichannel with a 1-channel input: one channel, room."
        #expect(notes == [Substring(note)], "\(result.stderr)")
        let finals = result.lines.filter { $0["type"]?.stringValue == "final" }
        #expect(!finals.isEmpty && finals.allSatisfy { $0["channel"]?.stringValue == "room" }, "\(result.stdout)")
    }

    @Test(
        "usage errors exit 2, the reason first: a label without --multichannel, a label twice, too many labels",
        arguments: [
            (["--provider", "assemblyai", "--channel-label", "a"], "--channel-label needs --multichannel"),
            (
                ["--provider", "speechmatics", "--multichannel", "--channel-label", "a", "--channel-label", "a"],
                "--channel-label names must be different"
            ),
            (
                [
                    "--provider", "speechmatics", "--multichannel", "--channel-label", "a", "--channel-label", "b",
                    "--channel-label", "c",
                ], "3 --channel-label names for a 2-channel input"
            ),
        ])
    func multichannelUsage(arguments: [String], message: String) async throws {
        let file = try Self.stereoFile()
        defer { try? FileManager.default.removeItem(atPath: file) }
        let result = try await Self.run(
            arguments + ["--input", file, "--api-key", "k", "--endpoint", "wss://127.0.0.1:9/v2"])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
        // The reason on the first line (ArgumentParser adds its usage hint after a flag error).
        #expect(result.stderr.split(separator: "\n").first?.contains(message) == true, "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }
}
