import Foundation
import StreamingSTTTesting
import Testing

@testable import StreamingSTT

/// Multichannel transcription over the emulator's socket (ws and wss): a stereo buffer is split
/// into its channels in our code (never mixed down), each channel goes to Speechmatics as its own
/// `AddChannelAudio` stream, and each final carries the label of the channel it was heard on.
@Suite("Channels against the emulator")
struct TranscriberChannelsTests {
    /// The left channel says one thing, the right another.
    static let script =
        EmulatorScript(text: "Hello there.", startingAt: 0.3, channel: 0)
        + EmulatorScript(text: "Good morning to you.", startingAt: 0.5, channel: 1)

    /// `seconds` of 16 kHz stereo s16: left samples all `left`, right samples all `right`.
    static func stereo(seconds: Double, left: Int16, right: Int16) -> AudioBuffer {
        let frames = Int(seconds * 16000)
        var samples = [Int16]()
        samples.reserveCapacity(frames * 2)
        for _ in 0..<frames { samples += [left, right] }
        return AudioBuffer(format: .pcm16(sampleRate: 16000, channelCount: 2), int16Samples: samples)
    }

    static func options(_ emulator: TranscriptionEmulator, labels: [String]) -> Speechmatics {
        var options = Speechmatics(credentials: .apiKey("emulator-key"), endpoint: .custom(emulator.speechmaticsURL))
        options.maxDelay = 1.0
        options.enablePartials = true
        options.diarization = .channel
        options.channelDiarizationLabels = labels
        return options
    }

    @Test(
        "a stereo buffer: finals labelled by the channel that said them, each channel's audio intact",
        arguments: [false, true])
    func stereoBuffer(secure: Bool) async throws {
        let emulator = try TranscriberEmulatorTests.emulator(secure: secure) { $0.script = Self.script }
        defer { emulator.shutdown() }
        let configuration = TranscriberEmulatorTests.configuration()
        let transcriber = StreamingTranscriber(
            provider: .speechmatics(Self.options(emulator, labels: ["agent", "caller"])), configuration: configuration)
        #expect(transcriber.wireFormat == .pcm16(sampleRate: 16000, channelCount: 2))
        let collector = Task {
            var all: [TranscriptEvent] = []
            for await event in transcriber.events { all.append(event) }
            return all
        }
        let seconds = Self.script.duration + 1.5
        let buffer = Self.stereo(seconds: seconds, left: 1000, right: -1000)
        try await withTimeout(.seconds(60)) {
            try await transcriber.start()
            // In pieces of 0.1 s, as a capture device would give them.
            let piece = 3200 * 2
            var offset = 0
            while offset < buffer.bytes.count {
                let end = min(buffer.bytes.count, offset + piece)
                try await transcriber.send(
                    AudioBuffer(format: buffer.format, bytes: Array(buffer.bytes[offset..<end])))
                offset = end
            }
            try await transcriber.stop()
        }
        let events = await collector.value
        let finals = TranscriberEmulatorTests.finals(events)
        let byChannel = Dictionary(grouping: finals, by: { $0.channel ?? "none" })
        #expect(Set(byChannel.keys) == ["agent", "caller"])
        #expect(byChannel["agent"]?.map(\.text).joined(separator: " ") == "Hello there.")
        #expect(byChannel["caller"]?.map(\.text).joined(separator: " ") == "Good morning to you.")
        // Each channel's times only go forward.
        for (_, transcripts) in byChannel {
            #expect(zip(transcripts, transcripts.dropFirst()).allSatisfy { $0.end <= $1.start + 1e-9 })
        }
        let partials = events.compactMap { if case .partial(let transcript) = $0 { transcript } else { nil } }
        #expect(!partials.isEmpty && partials.allSatisfy { $0.channel == "agent" || $0.channel == "caller" })

        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(record.violations.isEmpty, "\(record.violations)")
        let start = try #require(record.textMessagesReceived.first)
        #expect(start.contains(#""diarization":"channel","channel_diarization_labels":["agent","caller"]"#))
        // Every AddChannelAudio carries one channel's samples only: 1000 on the left, -1000 on the
        // right, none mixed (a down-mix would give 0), and all of them.
        let samples = stride(from: 0, to: record.audio.count - 1, by: 2).map {
            Int16(bitPattern: UInt16(record.audio[$0]) | UInt16(record.audio[$0 + 1]) << 8)
        }
        #expect(samples.count == buffer.bytes.count / 2)
        #expect(samples.filter { $0 == 1000 }.count == samples.count / 2)
        #expect(samples.filter { $0 == -1000 }.count == samples.count / 2)
        let channelMessages = record.textMessagesReceived.filter { $0.contains(#""AddChannelAudio""#) }
        #expect(channelMessages.count % 2 == 0 && !channelMessages.isEmpty)
        let ends = record.textMessagesReceived.filter { $0.contains("EndOfChannel") }
        let perChannel = channelMessages.count / 2
        #expect(
            ends == [
                #"{"message":"EndOfChannel","channel":"agent","last_seq_no":\#(perChannel)}"#,
                #"{"message":"EndOfChannel","channel":"caller","last_seq_no":\#(perChannel)}"#,
            ])
    }

    @Test("a buffer whose channel count is not the session's is refused, not mixed down")
    func wrongChannelCount() async throws {
        let emulator = try TranscriberEmulatorTests.emulator(secure: false) { $0.script = Self.script }
        defer { emulator.shutdown() }
        let transcriber = StreamingTranscriber(
            provider: .speechmatics(Self.options(emulator, labels: ["agent", "caller"])),
            configuration: TranscriberEmulatorTests.configuration())
        try await withTimeout(.seconds(30)) {
            try await transcriber.start()
            let mono = AudioBuffer(format: .pcm16(sampleRate: 16000), int16Samples: [Int16](repeating: 0, count: 1600))
            await #expect(throws: TranscriptionError.self) { try await transcriber.send(mono) }
            await transcriber.cancel()
        }
    }
}
