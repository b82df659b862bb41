import Foundation
import StreamingSTTSupport
import StreamingSTTTesting
import Testing

/// `--diarization` in every output of the command: an unknown speaker (Speechmatics `UU`) is never
/// printed; a known one is (`"speaker"` in JSON lines, `S1: ` before text lines and cues).
extension TranscribeCommandTests {
    /// Runs a diarized Speechmatics session of ``TranscriberSpeakerTests/script`` (words of unknown
    /// speakers included) with `arguments` added, and returns the result and the `--output` file.
    static func diarizedSpeechmatics(_ arguments: [String], output: String) async throws -> (Result, String) {
        let emulator = try TranscriptionEmulator(
            configuration: .init(
                tls: sharedAuthority, apiKeys: ["cli-key-0123456789"], script: TranscriberSpeakerTests.script))
        defer { emulator.shutdown() }
        let path = NSTemporaryDirectory() + "transcribe-speakers-\(UUID().uuidString).\(output)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let audio = Data(count: Int((TranscriberSpeakerTests.script.duration + 1.5) * 32000))
        let result = try await run(
            [
                "--provider", "speechmatics", "--input", "-", "--input-format", "s16le", "--input-rate", "16000",
                "--pace", "none", "--endpoint", emulator.speechmaticsURL, "--ca-file",
                sharedAuthority.caCertificatePath, "--api-key", "cli-key-0123456789", "--diarization",
                "--output", path,
            ] + arguments, stdin: audio)
        let file = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return (result, file)
    }

    @Test("--diarization, text and SubRip: S1/S2 before lines and cues, never UU")
    func unknownSpeakerInText() async throws {
        let (result, subtitles) = try await Self.diarizedSpeechmatics(["--timestamps"], output: "srt")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stdout.contains("UU"), "\(result.stdout)")
        #expect(result.stdout.contains("] S1: One") && result.stdout.contains("S2: "), "\(result.stdout)")
        #expect(!subtitles.contains("UU"), "\(subtitles)")
        #expect(subtitles.contains("\nS1: One") && subtitles.contains("\nS2: "), "\(subtitles)")
    }

    @Test("--diarization, JSON lines and WebVTT: \"speaker\" only when known, never UU")
    func unknownSpeakerInJSONLines() async throws {
        let (result, subtitles) = try await Self.diarizedSpeechmatics(["--format", "jsonl"], output: "vtt")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stdout.contains("UU"), "\(result.stdout)")
        #expect(!subtitles.contains("UU"), "\(subtitles)")
        #expect(subtitles.contains("\nS1: One") && subtitles.contains("\nS2: "), "\(subtitles)")
        let transcripts = result.lines.filter { ["partial", "final"].contains($0["type"]?.stringValue) }
        let finals = transcripts.filter { $0["type"]?.stringValue == "final" }
        // Every word's "speaker": absent for the two unattributed words, the label for the others.
        let words = finals.flatMap { $0["words"]?.arrayValue ?? [] }
        #expect(
            words.map { $0["text"]?.stringValue ?? "" }
                == ["One", "two", "three", "four.", "Five", "six", "seven", "eight."])
        #expect(
            words.map { $0["speaker"]?.stringValue }
                == ["S1", nil, "S1", "S1", nil, "S2", "S2", "S2"])
        // The transcript's "speaker": the one known speaker of its words, absent when there is none.
        for final in finals {
            let known = Set((final["words"]?.arrayValue ?? []).compactMap { $0["speaker"]?.stringValue })
            #expect(final["speaker"]?.stringValue == (known.count == 1 ? known.first : nil), "\(final)")
        }
        #expect(finals.contains { $0["speaker"]?.stringValue == "S1" })
    }
}
