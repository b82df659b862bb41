import Foundation
import StreamingSTT
import StreamingSTTSupport
import StreamingSTTTesting
import Testing

/// `transcribe --stats`: the session statistics at the end, as text on stderr and as a last
/// `stats` JSON line; without the flag the JSON lines do not change. Runs the built binary against
/// the emulator.
@Suite("transcribe --stats", .serialized)  // real processes and sessions: one at a time on 2 cores
struct TranscribeStatsTests {
    typealias Command = TranscribeCommandTests

    /// 6 s of 16 kHz s16le silence on stdin; the emulator reads its script.
    static let audio = Data(count: 6 * 32000)

    static func arguments(_ emulator: TranscriptionEmulator, _ provider: String, _ format: String) -> [String] {
        [
            "--provider", provider, "--input", "-", "--input-format", "s16le", "--input-rate", "16000",
            "--pace", "none", "--format", format, "--ca-file", sharedAuthority.caCertificatePath,
            "--endpoint", provider == "speechmatics" ? emulator.speechmaticsURL : emulator.assemblyAIURL,
            "--api-key", "cli-key-0123456789",
        ]
    }

    @Test(
        "jsonl --stats: one last stats line with the documented fields and true values",
        arguments: ["assemblyai", "speechmatics"])
    func jsonStats(provider: String) async throws {
        let emulator = try Command.emulator()
        defer { emulator.shutdown() }
        let result = try await Command.run(Self.arguments(emulator, provider, "jsonl") + ["--stats"], stdin: Self.audio)
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.lines
        #expect(lines.compactMap { $0["type"]?.stringValue }.suffix(2) == ["terminated", "stats"])
        let stats = try #require(lines.last)
        let finals = lines.filter { $0["type"]?.stringValue == "final" }
        #expect(stats["audioSent"]?.doubleValue == 6.0)
        #expect(stats["finals"]?.doubleValue == Double(finals.count))
        #expect(stats["partials"]?.doubleValue != nil)
        let ends = finals.compactMap { $0["end"]?.doubleValue }
        let newest = try #require(ends.max())
        let lag = try #require(stats["transcriptLag"]?.doubleValue)
        #expect(abs(lag - (6.0 - newest)) < 1e-6)
        #expect(try #require(stats["maxTranscriptLag"]?.doubleValue) >= lag)
        #expect(stats["timeToFirstFinal"]?.doubleValue.map { $0 > 0 && $0 < 10 } == true)
        #expect(stats["receiveToEventLatency"]?.doubleValue.map { $0 >= 0 && $0 < 1 } == true)
        #expect(stats["maxReceiveToEventLatency"]?.doubleValue != nil)
        #expect(stats["meanReceiveToEventLatency"]?.doubleValue != nil)
        #expect(stats["lastMessageAge"]?.doubleValue.map { $0 >= 0 && $0 < 10 } == true)
        #expect(stats["reconnections"]?.doubleValue == 0)
        #expect(stats["rollovers"]?.doubleValue == 0)
        #expect(stats["lostAudio"]?.doubleValue == 0)
        if provider == "speechmatics" {
            #expect(stats["audioAcknowledged"]?.doubleValue == 6.0)
        } else {
            #expect(stats["audioAcknowledged"] == nil, "AssemblyAI does not acknowledge audio")
        }
    }

    @Test("without --stats the JSON lines are unchanged: the same bytes as with it, less the stats line")
    func jsonUnchanged() async throws {
        let emulator = try Command.emulator()
        defer { emulator.shutdown() }
        let plain = try await Command.run(Self.arguments(emulator, "speechmatics", "jsonl"), stdin: Self.audio)
        let withStats = try await Command.run(
            Self.arguments(emulator, "speechmatics", "jsonl") + ["--stats"], stdin: Self.audio)
        #expect(plain.status == 0 && withStats.status == 0, "\(plain.stderr) \(withStats.stderr)")
        #expect(!plain.stdout.contains(#""type":"stats""#))
        // The session id and the measured session duration differ between two runs.
        func masked(_ text: String) -> String {
            text.replacing(/"id":"[^"]*"/, with: #""id":"…""#)
                .replacing(/"sessionDuration":[0-9.e+-]+/, with: #""sessionDuration":…"#)
        }
        var lines = withStats.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.removeLast() == "")  // a newline ends the output
        #expect(lines.removeLast().hasPrefix(#"{"type":"stats","#))
        #expect(masked(lines.joined(separator: "\n") + "\n") == masked(plain.stdout))
        #expect(
            plain.stdout.split(separator: "\n").last?.wholeMatch(
                of: /\{"type":"terminated","audioDuration":[0-9.]+,"sessionDuration":[0-9.e+-]+\}/) != nil)
        #expect(!plain.stderr.contains("transcript lag"))
    }

    @Test("text --stats: the statistics on stderr at the end, the transcript alone on stdout")
    func textStats() async throws {
        let emulator = try Command.emulator()
        defer { emulator.shutdown() }
        let result = try await Command.run(
            Self.arguments(emulator, "assemblyai", "text") + ["--stats"], stdin: Self.audio)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            result.stdout.split(separator: "\n").joined(separator: " ")
                == "Scripts depend on this output. Keep it stable.")
        #expect(result.stderr.contains("transcribe: stats: audio sent 6.00 s"), "\(result.stderr)")
        #expect(result.stderr.contains("transcript lag"))
        #expect(result.stderr.contains("0 reconnections"))
    }
}
