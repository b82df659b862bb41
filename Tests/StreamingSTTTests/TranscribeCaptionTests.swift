import Foundation
import StreamingSTTTesting
import Testing

/// `--output x.srt|x.vtt`: cues are built from words (at most 2 lines of 42 characters and 7 s,
/// broken at sentence ends), not one per final: a Speechmatics session, whose finals are a word or
/// two, gives the same cues as a turn-based vendor.
extension TranscribeCommandTests {
    /// One long sentence (more than two lines of text, under 7 s) and a short one.
    static let captionScript = EmulatorScript(
        text: "The quick brown fox jumps over the lazy dog while the farmer watches from the old wooden fence "
            + "nearby. Then it runs away.",
        startingAt: 0.3, wordDuration: 0.25, gap: 0.05, sentenceGap: 0.8)

    /// A cue of a SubRip file: its number, times in seconds and text lines.
    struct SubRipCue: Equatable {
        var number: Int
        var start: Double
        var end: Double
        var lines: [String]
    }

    static func subRipCues(_ file: String) -> [SubRipCue] {
        func seconds(_ text: Substring) -> Double {
            let parts = text.trimmingCharacters(in: .whitespaces).split(whereSeparator: { ":,".contains($0) })
            let numbers = parts.map { Double($0) ?? .nan }
            guard numbers.count == 4 else { return .nan }
            return numbers[0] * 3600 + numbers[1] * 60 + numbers[2] + numbers[3] / 1000
        }
        return file.components(separatedBy: "\n\n").compactMap { block in
            let lines = block.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            guard lines.count >= 3, let number = Int(lines[0]) else { return nil }
            let times = lines[1].components(separatedBy: " --> ")
            guard times.count == 2 else { return nil }
            return SubRipCue(
                number: number, start: seconds(Substring(times[0])), end: seconds(Substring(times[1])),
                lines: Array(lines[2...]))
        }
    }

    @Test(
        "--output x.srt: cues grouped from words, ≤ 2 lines × 42 characters, ≤ 7 s, the same for both vendors",
        arguments: ["speechmatics", "assemblyai"])
    func subRipCues(provider: String) async throws {
        let emulator = try TranscriptionEmulator(
            configuration: .init(
                tls: sharedAuthority, apiKeys: ["cli-key-0123456789"], script: Self.captionScript,
                assemblyAI: .init(enforceRealTime: false, terminationDelay: .zero)))
        defer { emulator.shutdown() }
        let endpoint = provider == "assemblyai" ? emulator.assemblyAIURL : emulator.speechmaticsURL
        let path = NSTemporaryDirectory() + "transcribe-captions-\(UUID().uuidString).srt"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let audio = Data(count: Int((Self.captionScript.duration + 1.5) * 32000))
        let result = try await Self.run(
            [
                "--provider", provider, "--input", "-", "--input-format", "s16le", "--input-rate", "16000",
                "--pace", "none", "--endpoint", endpoint, "--ca-file",
                sharedAuthority.caCertificatePath, "--api-key", "cli-key-0123456789", "--format", "jsonl",
                "--output", path,
            ], stdin: audio)
        #expect(result.status == 0, "\(result.stderr)")
        let file = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        let finals = result.lines.filter { $0["type"]?.stringValue == "final" }
        let cues = Self.subRipCues(file)
        // Speechmatics' finals are a word or two each, AssemblyAI's a turn: the cues follow neither.
        #expect(provider == "assemblyai" ? finals.count <= 2 : finals.count > 3, "\(finals.count) finals")
        #expect(
            cues.map { $0.lines.joined(separator: "\n") } == [
                "The quick brown fox jumps over the lazy\ndog while the farmer watches from the old",
                "wooden fence nearby.",
                "Then it runs away.",
            ], "\(file)")
        #expect(cues.map(\.number) == Array(1...cues.count))
        for cue in cues {
            #expect(cue.lines.count <= 2 && cue.lines.allSatisfy { $0.count <= 42 }, "\(cue)")
            #expect(cue.end - cue.start <= 7 && cue.end >= cue.start, "\(cue)")
        }
        let words = Self.captionScript.words
        #expect(cues.first?.start == words.first?.start && cues.last?.end == words.last?.end, "\(file)")
        #expect(cues.flatMap(\.lines).joined(separator: " ") == Self.captionScript.transcript)
    }
}
