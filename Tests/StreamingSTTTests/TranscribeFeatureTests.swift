import Foundation
import StreamingSTTProtocol
import StreamingSTTSupport
import StreamingSTTTesting
import Testing

/// `--translate`, `--audio-events` and AssemblyAI speaker revisions in the command's output: the
/// documented JSON lines and text lines, exit 2 where the vendor has no such feature, and no
/// change to the other JSON-lines types.
extension TranscribeCommandTests {
    static let featureKey = "cli-key-0123456789"

    /// Runs the command against an emulator of ``TranscriberFeatureTests/script``.
    static func featureRun(provider: String, _ arguments: [String]) async throws -> Result {
        let emulator = try TranscriptionEmulator(
            configuration: .init(
                tls: sharedAuthority, apiKeys: [featureKey], script: TranscriberFeatureTests.script,
                assemblyAI: .init(enforceRealTime: false, terminationDelay: .milliseconds(20))))
        defer { emulator.shutdown() }
        let audio = Data(count: Int((TranscriberFeatureTests.script.duration + 1.5) * 32000))
        return try await run(
            [
                "--provider", provider, "--input", "-", "--input-format", "s16le", "--input-rate", "16000",
                "--pace", "none", "--endpoint",
                provider == "speechmatics" ? emulator.speechmaticsURL : emulator.assemblyAIURL,
                "--ca-file", sharedAuthority.caCertificatePath, "--api-key", featureKey,
            ] + arguments, stdin: audio)
    }

    static func keys(_ line: JSONValue) -> [String] {
        if case .object(let members) = line { members.map(\.key) } else { [] }
    }

    @Test("--translate: JSON lines of type translation, partial and final, per language, exactly these fields")
    func translateJSONLines() async throws {
        let result = try await Self.featureRun(
            provider: "speechmatics", ["--translate", "de", "--translate", "fr", "--format", "jsonl"])
        #expect(result.status == 0, "\(result.stderr)")
        let translations = result.lines.filter { $0["type"]?.stringValue == "translation" }
        for line in translations {
            #expect(Self.keys(line) == ["type", "language", "text", "start", "end", "partial"], "\(line)")
        }
        let finals = translations.filter { $0["partial"]?.boolValue == false }
        #expect(
            finals.filter { $0["language"]?.stringValue == "de" }.map { $0["text"]?.stringValue }
                == ["Eins zwei drei vier.", "Fünf sechs sieben acht."])
        #expect(
            finals.filter { $0["language"]?.stringValue == "fr" }.compactMap { $0["text"]?.stringValue }
                == TranscriberFeatureTests.script.sentences)
        let first = try #require(finals.first)
        #expect(first["start"]?.doubleValue == 0.3 && first["end"]?.doubleValue == 1.45, "\(first)")
        #expect(translations.contains { $0["partial"]?.boolValue == true })
        // The other lines are the ones they always were.
        #expect(
            Set(result.lines.compactMap { $0["type"]?.stringValue })
                == ["begin", "partial", "final", "terminated", "translation"])
        for final in result.lines where final["type"]?.stringValue == "final" {
            #expect(Self.keys(final) == ["type", "text", "start", "end", "words", "endOfTurn"], "\(final)")
        }
    }

    @Test("--audio-events: JSON lines of type audioEvent; confidence on started events only")
    func audioEventJSONLines() async throws {
        let result = try await Self.featureRun(provider: "speechmatics", ["--audio-events", "--format", "jsonl"])
        #expect(result.status == 0, "\(result.stderr)")
        let events = result.lines.filter { $0["type"]?.stringValue == "audioEvent" }
        #expect(
            events.map(\.description) == [
                #"{"type":"audioEvent","event":"started","name":"music","time":0.1,"confidence":0.75}"#,
                #"{"type":"audioEvent","event":"ended","name":"music","time":1.2}"#,
                #"{"type":"audioEvent","event":"started","name":"applause","time":2,"confidence":0.5}"#,
                #"{"type":"audioEvent","event":"ended","name":"applause","time":2.6}"#,
                #"{"type":"audioEvent","event":"started","name":"dog_bark","time":3,"confidence":0.87}"#,
                #"{"type":"audioEvent","event":"ended","name":"dog_bark","time":3.2}"#,
            ])
    }

    @Test("text output: final translations as [de] lines, audio events as [music started] lines")
    func featuresInText() async throws {
        let result = try await Self.featureRun(
            provider: "speechmatics", ["--translate", "de", "--audio-events", "--no-partials"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("[de] Eins zwei drei vier.") && lines.contains("[de] Fünf sechs sieben acht."))
        #expect(lines.filter { $0.hasPrefix("[de]") }.count == 2, "\(lines)")
        #expect(lines.contains("[music started]") && lines.contains("[music ended]"), "\(lines)")
        // Each translation after the final that ends its sentence.
        let firstTranslation = try #require(lines.firstIndex(of: "[de] Eins zwei drei vier."))
        #expect(lines.firstIndex(of: "four.").map { $0 < firstTranslation } == true, "\(lines)")
    }

    @Test(
        "--translate and --audio-events with AssemblyAI: exit 2 with a one-line reason, before connecting",
        arguments: [["--translate", "de"], ["--audio-events"]])
    func speechmaticsOnly(_ arguments: [String]) async throws {
        let result = try await Self.featureRun(provider: "assemblyai", arguments + ["--format", "jsonl"])
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains(arguments[0]) && lines[0].contains("Speechmatics"), "\(lines)")
    }

    @Test("AssemblyAI --diarization: a speakerRevision JSON line per revised turn, after its final")
    func speakerRevisionJSONLines() async throws {
        let result = try await Self.featureRun(provider: "assemblyai", ["--diarization", "--format", "jsonl"])
        #expect(result.status == 0, "\(result.stderr)")
        let finals = result.lines.filter { $0["type"]?.stringValue == "final" }
        #expect(finals.map { $0["speaker"]?.stringValue } == ["A", "B"])
        let revisions = result.lines.filter { $0["type"]?.stringValue == "speakerRevision" }
        #expect(revisions.count == 1)
        let revision = try #require(revisions.first)
        #expect(Self.keys(revision) == ["type", "turn", "speaker", "start", "end", "words"], "\(revision)")
        #expect(revision["turn"]?.intValue == 1 && revision["speaker"]?.stringValue == "A")
        // It names the second final by its turn and its span.
        #expect(revision["start"] == finals[1]["start"] && revision["end"] == finals[1]["end"])
        let words = revision["words"]?.arrayValue ?? []
        #expect(
            words.map { $0["text"]?.stringValue } == finals[1]["words"]?.arrayValue?.map { $0["text"]?.stringValue })
        #expect(words.allSatisfy { $0["speaker"]?.stringValue == "A" })
        #expect(
            Set(result.lines.compactMap { $0["type"]?.stringValue })
                == ["begin", "partial", "final", "terminated", "speakerRevision"])
    }

    @Test("without the new options, JSON lines hold only the types they always held")
    func noNewTypesByDefault() async throws {
        for provider in ["speechmatics", "assemblyai"] {
            let result = try await Self.featureRun(provider: provider, ["--format", "jsonl"])
            #expect(result.status == 0, "\(result.stderr)")
            let types = Set(result.lines.compactMap { $0["type"]?.stringValue })
            let known: Set<String> = ["begin", "partial", "final", "terminated"]
            #expect(types.isSubset(of: known), "\(result.stdout)")
        }
    }
}
