import Foundation
import StreamingSTT
import StreamingSTTTesting
import Testing

/// The complete examples of `Docs/Speakers.md` and `Docs/Captions.md`, verbatim: compiled with the
/// tests (`guidesMatchCode` checks every line of the pages' examples is here) and run against the
/// emulator, so the pages cannot drift from the API.
@Suite("Guides: speakers and captions")
struct GuideExampleTests {
    /// The `swift` block under `## A complete example` of `Docs/<page>.md`, without `import` lines.
    static func example(_ page: String) throws -> [String] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("Docs/\(page).md"), encoding: .utf8)
        let section = try #require(text.components(separatedBy: "## A complete example").dropFirst().first)
        let code = try #require(section.components(separatedBy: "```swift\n").dropFirst().first)
        let block = try #require(code.components(separatedBy: "```").first)
        return block.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("import ") }
    }

    @Test("every line of the pages' complete examples is compiled here", arguments: ["Speakers", "Captions"])
    func guidesMatchCode(page: String) throws {
        let source = try String(contentsOf: URL(fileURLWithPath: #filePath), encoding: .utf8)
        let compiled = Set(source.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) })
        let lines = try Self.example(page)
        #expect(lines.count >= 15)
        for line in lines { #expect(compiled.contains(line), "not compiled: \(line)") }
    }

    /// A WAV file of silence as long as the feature script, and the emulator of it.
    static func recording() throws -> String {
        let path = NSTemporaryDirectory() + "guide-\(UUID().uuidString).wav"
        let frames = Int((TranscriberFeatureTests.script.duration + 1.5) * 16000)
        try AudioFileWriter.write(
            [Float](repeating: 0, count: frames), sampleRate: 16000, channelCount: 1, kind: .wav16, to: path)
        return path
    }

    static func provider(_ vendor: String, _ emulator: TranscriptionEmulator) -> StreamingTranscriber.Provider {
        if vendor == "speechmatics" {
            var options = Speechmatics(
                credentials: .apiKey("emulator-key"), endpoint: .custom(emulator.speechmaticsURL))
            options.diarization = .speaker
            options.speakerDiarizationConfig = .init(maxSpeakers: 4, getSpeakers: true)
            return .speechmatics(options)
        }
        var options = AssemblyAI(
            credentials: .apiKey("emulator-key"), speechModel: .u3RealtimePro, endpoint: .custom(emulator.assemblyAIURL)
        )
        options.speakerLabels = true
        options.maxSpeakers = 4
        return .assemblyAI(options)
    }

    @Test(
        "Speakers.md: each final with its speaker; AssemblyAI's revision relabels the final it names",
        arguments: ["assemblyai", "speechmatics"])
    func speakers(vendor: String) async throws {
        let emulator = try TranscriptionEmulator(
            configuration: fastConfiguration(script: TranscriberFeatureTests.script))
        defer { emulator.shutdown() }
        let path = try Self.recording()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let lines = try await withTimeout(.seconds(30), "the example") {
            try await speakerLines(of: path, provider: Self.provider(vendor, emulator))
        }
        if vendor == "assemblyai" {
            // The second turn was B; the service's revision makes it A.
            #expect(lines == ["A: One two three four.", "A: Five six seven eight."])
        } else {
            // A final is a few words; each says its speaker.
            func said(_ speaker: String) -> String {
                lines.filter { $0.hasPrefix("\(speaker): ") }.map { String($0.dropFirst(4)) }.joined(separator: " ")
            }
            #expect(said("S1") == "One two three four." && said("S2") == "Five six seven eight.", "\(lines)")
            #expect(lines.allSatisfy { $0.hasPrefix("S1: ") || $0.hasPrefix("S2: ") }, "\(lines)")
        }
    }

    @Test("Captions.md: cues from the words, labelled with the speaker", arguments: ["assemblyai", "speechmatics"])
    func captions(vendor: String) async throws {
        let emulator = try TranscriptionEmulator(
            configuration: fastConfiguration(script: TranscriberFeatureTests.script))
        defer { emulator.shutdown() }
        let path = try Self.recording()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let srt = try await withTimeout(.seconds(30), "the example") {
            try await subtitles(of: path, provider: Self.provider(vendor, emulator))
        }
        // The same cues from both vendors (a Speechmatics final is a word or two, an AssemblyAI
        // final a turn); the cues keep the labels they were built with.
        let (first, second) = vendor == "assemblyai" ? ("A", "B") : ("S1", "S2")
        #expect(
            srt == """
                1
                00:00:00,300 --> 00:00:01,450
                \(first): One two three four.

                2
                00:00:02,250 --> 00:00:03,400
                \(second): Five six seven eight.


                """)
    }
}

// MARK: - Docs/Speakers.md, "A complete example"

/// Who said what: each final with its speaker (none when unknown), corrected when AssemblyAI
/// revises the speakers of finals it already sent; Speechmatics lists the speakers it identified.
func speakerLines(of path: String, provider: StreamingTranscriber.Provider) async throws -> [String] {
    try await StreamingTranscriber.withSession(provider: provider) { transcriber in
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await transcriber.stream(from: AudioFileSource(path: path), pacing: .asFastAsPossible)
                _ = try await transcriber.stop()
            }
            var finals: [Transcript] = []
            for await event in transcriber.events {
                switch event {
                case .final(let transcript):
                    finals.append(transcript)
                case .speakerRevision(let revision):  // AssemblyAI: finals already delivered, relabelled
                    for turn in revision.turns {
                        for index in finals.indices where finals[index].turnOrder == turn.turnOrder {
                            finals[index].speaker = turn.speaker
                        }
                    }
                case .speakers(let result):  // Speechmatics, with getSpeakers (or requestSpeakers())
                    for speaker in result.speakers { print(speaker.label, speaker.identifiers) }
                default:
                    break
                }
            }
            try await group.waitForAll()
            return finals.map { ($0.speaker.map { "\($0): " } ?? "") + $0.text }
        }
    }
}

/// The options: speakers on, at most four.
func meetingLines(key: String, vendor: String) async throws -> [String] {
    var speechmatics = Speechmatics(credentials: .apiKey(Secret(key)), language: "en")
    speechmatics.diarization = .speaker
    speechmatics.speakerDiarizationConfig = .init(maxSpeakers: 4, getSpeakers: true)
    var assemblyAI = AssemblyAI(credentials: .apiKey(Secret(key)), speechModel: .u3RealtimePro)
    assemblyAI.speakerLabels = true
    assemblyAI.maxSpeakers = 4
    let provider: StreamingTranscriber.Provider =
        vendor == "speechmatics" ? .speechmatics(speechmatics) : .assemblyAI(assemblyAI)
    return try await speakerLines(of: "meeting.wav", provider: provider)
}

// MARK: - Docs/Captions.md, "A complete example"

/// SubRip subtitles of a recording, built from the words of its finals.
func subtitles(of path: String, provider: StreamingTranscriber.Provider) async throws -> String {
    try await StreamingTranscriber.withSession(provider: provider) { transcriber in
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await transcriber.stream(from: AudioFileSource(path: path), pacing: .asFastAsPossible)
                _ = try await transcriber.stop()
            }
            var builder = CaptionBuilder()  // 2 lines × 42 characters, 7 s, new cue after a 0.5 s pause
            var cues: [Caption] = []
            for await event in transcriber.events {
                if case .final(let transcript) = event {
                    cues += builder.add(transcript, channel: transcript.channel)  // the cues it completes
                }
            }
            try await group.waitForAll()
            cues += builder.finish()  // the last cue
            return Caption.subRip(cues)  // or Caption.webVTT(cues); live: cue.subRip(number:) as each completes
        }
    }
}
