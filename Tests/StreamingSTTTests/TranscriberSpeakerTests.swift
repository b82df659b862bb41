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
}
