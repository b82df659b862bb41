import Foundation
import Testing

/// The `transcribe` command refuses to send a key or a token unencrypted to another machine:
/// exit 2 with one line saying why, before connecting. (A connection attempt to 192.0.2.1, a
/// documentation address, would end in a connection error: exit 4, with another reason. The
/// time the command takes proves nothing here: on a loaded machine starting it takes seconds.)
@Suite("transcribe command: credentials over cleartext")
struct TranscribeCleartextTests {
    static func expectRefusal(_ result: TranscribeCommandTests.Result, _ what: String) {
        #expect(result.status == 2, "\(what): exit \(result.status), stderr: \(result.stderr)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(what): one line, got \(result.stderr)")
        #expect(result.stderr.contains("cleartext"), "\(what): \(result.stderr)")
        #expect(!result.stderr.contains("q7Z") && !result.stdout.contains("q7Z"))
    }

    @Test("a key over ws:// or a token request over http:// to a remote host: exit 2, one line")
    func refused() async throws {
        let session = try await TranscribeCommandTests.run(
            [
                "--provider", "assemblyai", "--input", TranscribeCommandTests.recording, "--endpoint",
                "ws://192.0.2.1:9/v3/ws",
            ], environment: ["ASSEMBLYAI_API_KEY": "q7Z"])
        Self.expectRefusal(session, "ws://")
        let token = try await TranscribeCommandTests.run(
            [
                "--provider", "speechmatics", "--input", TranscribeCommandTests.recording, "--temporary-token",
                "--token-url", "http://192.0.2.1:9/v1/api_keys",
            ], environment: ["SPEECHMATICS_API_KEY": "q7Z"])
        Self.expectRefusal(token, "http:// token endpoint")
    }
}
