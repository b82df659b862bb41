import Foundation
import StreamingSTT
import StreamingSTTSupport
import StreamingSTTTesting
import Testing

/// The `transcribe` command as scripts use it: flags, exit codes and JSON-lines output, run as a
/// real process against the emulator.
@Suite("transcribe command", .serialized)  // each test runs real sessions; together they overload 2 cores
struct TranscribeCommandTests {
    static let recording: String = {
        var directory = #filePath
        for _ in 0..<3 { directory = (directory as NSString).deletingLastPathComponent }
        return directory + "/Examples/transcribe/Resources/demo-speech.flac"
    }()

    static var binary: String {
        let directory = (CommandLine.arguments[0] as NSString).deletingLastPathComponent
        let candidates = [directory + "/transcribe", (directory as NSString).deletingLastPathComponent + "/transcribe"]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }

    struct Result {
        var status: Int32
        /// `.uncaughtSignal` when a signal killed the process (`status` is then the signal).
        var reason: Process.TerminationReason = .exit
        var stdout: String
        var stderr: String
        var lines: [JSONValue] { stdout.split(separator: "\n").compactMap { try? JSONValue(parsing: String($0)) } }
    }

    /// Runs the command with `arguments`, feeding `stdin`, and waits for it (bounded).
    /// `whileRunning` runs with the process id while the process runs.
    static func run(
        _ arguments: [String], environment: [String: String] = [:], stdin: Data? = nil,
        interruptions: Int = 0, whileRunning: (@Sendable (Int32) async -> Void)? = nil,
        interruptWhen: (@Sendable (String) -> Bool)? = nil
    ) async throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["ASSEMBLYAI_API_KEY"] = nil
        env["SPEECHMATICS_API_KEY"] = nil
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe()
        let err = Pipe()
        let input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        let writer = DispatchQueue.global()
        let wrote = DispatchSemaphore(value: 0)
        writer.async {
            if let stdin { try? input.fileHandleForWriting.write(contentsOf: stdin) }
            if interruptions == 0 { try? input.fileHandleForWriting.close() }
            wrote.signal()
        }
        // Blocking reads run on Dispatch threads, never on the cooperative pool the emulator needs.
        // With `interruptions`, SIGINT is sent that many times once the session has begun (the
        // `begin` line is out, or once `interruptWhen` holds for the output so far): an event, not
        // a guess about timing.
        let pid = process.processIdentifier
        let (stdoutData, stderrData) = try await withTimeout(.seconds(60), "the transcribe process") {
            async let o = Self.readAll(out.fileHandleForReading) { text in
                guard interruptions > 0, interruptWhen?(text) ?? text.contains(#""type":"begin""#) else {
                    return false
                }
                kill(pid, SIGINT)
                return true
            }
            // The second Ctrl-C once the first has been handled (signals sent together coalesce).
            async let e = Self.readAll(err.fileHandleForReading) { text in
                guard interruptions > 1, text.contains("stopping") else { return false }
                kill(pid, SIGINT)
                return true
            }
            async let hook: Void = whileRunning?(pid) ?? ()
            _ = await hook
            return await (o, e)
        }
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                process.waitUntilExit()
                wrote.wait()
                continuation.resume()
            }
        }
        try? input.fileHandleForWriting.close()
        return Result(
            status: process.terminationStatus, reason: process.terminationReason,
            stdout: String(decoding: stdoutData, as: UTF8.self),
            stderr: String(decoding: stderrData, as: UTF8.self))
    }

    /// Reads to the end on a Dispatch thread; `onText` sees the text so far until it returns true.
    static func readAll(_ handle: FileHandle, onText: (@Sendable (String) -> Bool)? = nil) async -> Data {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var data = Data()
                var watching = onText != nil
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    data += chunk
                    if watching, let onText, onText(String(decoding: data, as: UTF8.self)) { watching = false }
                }
                continuation.resume(returning: data)
            }
        }
    }

    static func emulator() throws -> TranscriptionEmulator {
        try TranscriptionEmulator(
            configuration: .init(
                tls: sharedAuthority, apiKeys: ["cli-key-0123456789"],
                script: EmulatorScript(text: "Scripts depend on this output. Keep it stable."),
                assemblyAI: .init(enforceRealTime: false, terminationDelay: .zero)))
    }

    @Test("jsonl: begin first, finals with words in seconds, terminated last; exit 0")
    func jsonLines() async throws {
        let emulator = try Self.emulator()
        defer { emulator.shutdown() }
        let result = try await Self.run(
            [
                "--provider", "assemblyai", "--input", Self.recording, "--pace", "none", "--format", "jsonl",
                "--endpoint",
                emulator.assemblyAIURL, "--ca-file", sharedAuthority.caCertificatePath,
            ], environment: ["ASSEMBLYAI_API_KEY": "cli-key-0123456789"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.lines
        #expect(lines.first?["type"]?.stringValue == "begin")
        #expect(lines.first?["id"]?.stringValue?.isEmpty == false)
        #expect(lines.last?["type"]?.stringValue == "terminated")
        #expect(lines.last?["audioDuration"]?.doubleValue != nil)
        #expect(lines.last?["sessionDuration"]?.doubleValue != nil)
        let finals = lines.filter { $0["type"]?.stringValue == "final" }
        #expect(finals.compactMap { $0["text"]?.stringValue } == ["Scripts depend on this output.", "Keep it stable."])
        let word = try #require(finals.first?["words"]?.arrayValue?.first)
        #expect(word["text"]?.stringValue == "Scripts")
        #expect(word["start"]?.doubleValue.map { $0 < 60 } == true)
        #expect(word["confidence"]?.doubleValue != nil)
        #expect(finals.allSatisfy { $0["endOfTurn"]?.boolValue == true })
        #expect(!result.stdout.contains("cli-key-0123456789") && !result.stderr.contains("cli-key-0123456789"))
        // Only the documented types (u3-rt-pro also sends SpeechStarted, which is not one).
        #expect(lines.allSatisfy { Self.documentedTypes.contains($0["type"]?.stringValue ?? "") })
    }

    /// The JSON-lines event types scripts may rely on (without --reconnect).
    static let documentedTypes: Set<String> = ["begin", "partial", "final", "terminated", "error"]

    @Test("--reconnect: a dropped session is replaced, the events are printed, exit 0; without it, exit 4")
    func reconnect() async throws {
        let emulator = try TranscriptionEmulator(
            configuration: .init(
                tls: sharedAuthority, apiKeys: ["cli-key-0123456789"],
                script: EmulatorScript(text: "Scripts depend on this output. Keep it stable. Again and again."),
                assemblyAI: .init(enforceRealTime: false, terminationDelay: .zero),
                faults: { info in info.vendorIndex % 2 == 0 ? [.dropConnection(afterAudioChunks: 40)] : [] }))
        defer { emulator.shutdown() }
        let audio = Data(count: 6 * 32000)
        func arguments(_ format: String, reconnect: Bool) -> [String] {
            [
                "--provider", "assemblyai", "--input", "-", "--input-format", "s16le", "--input-rate", "16000",
                "--pace", "none", "--format", format, "--endpoint", emulator.assemblyAIURL, "--ca-file",
                sharedAuthority.caCertificatePath, "--api-key", "cli-key-0123456789",
            ] + (reconnect ? ["--reconnect"] : [])
        }
        // Sessions 0 and 2 drop: jsonl with --reconnect, then text without it.
        let json = try await Self.run(arguments("jsonl", reconnect: true), stdin: audio)
        #expect(json.status == 0, "\(json.stderr)")
        let types = json.lines.compactMap { $0["type"]?.stringValue }
        #expect(types.first == "begin" && types.last == "terminated")
        let reconnecting = try #require(json.lines.first { $0["type"]?.stringValue == "reconnecting" })
        #expect(reconnecting["reason"]?.stringValue == "failure")
        #expect(reconnecting["code"]?.stringValue == "connectionLost")
        #expect(reconnecting["attempt"]?.doubleValue == 1)
        let reconnected = try #require(json.lines.first { $0["type"]?.stringValue == "reconnected" })
        #expect(reconnected["session"]?.doubleValue == 1)
        #expect(reconnected["lostAudio"]?.doubleValue == 0)
        #expect(reconnected["replayedAudio"]?.doubleValue != nil)
        #expect(types.firstIndex(of: "reconnecting")! < types.firstIndex(of: "reconnected")!)
        #expect(json.stderr.contains("2 sessions"))

        let text = try await Self.run(arguments("text", reconnect: false), stdin: audio)
        #expect(text.status == 4, "\(text.stderr)")
        #expect(text.stderr.contains("connectionLost"))
    }

    @Test("text output of raw PCM on stdin to Speechmatics, with an SRT file")
    func stdinToSpeechmatics() async throws {
        let emulator = try Self.emulator()
        defer { emulator.shutdown() }
        let srt = NSTemporaryDirectory() + "transcribe-\(UUID().uuidString).srt"
        defer { try? FileManager.default.removeItem(atPath: srt) }
        let audio = Data(count: 6 * 32000)  // 6 s of 16 kHz s16le silence; the emulator reads its script
        let result = try await Self.run(
            [
                "--provider", "speechmatics", "--input", "-", "--input-format", "s16le", "--input-rate", "16000",
                "--pace", "none", "--endpoint", emulator.speechmaticsURL, "--ca-file",
                sharedAuthority.caCertificatePath,
                "--output", srt, "--api-key", "cli-key-0123456789",
            ], stdin: audio)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            result.stdout.split(separator: "\n").joined(separator: " ")
                == "Scripts depend on this output. Keep it stable.")
        let subtitles = try String(contentsOfFile: srt, encoding: .utf8)
        #expect(subtitles.hasPrefix("1\n00:00:0"))
        #expect(subtitles.contains(" --> "))
        #expect(result.stderr.contains("finals"))
    }

    @Test("`transcribe demo` (the README's main job) needs no provider and transcribes with both")
    func demo() async throws {
        let result = try await Self.run(["demo"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stdout.contains("--provider"))
        #expect((result.stdout + result.stderr).components(separatedBy: " finals").count == 3)
    }

    @Test("usage errors exit 2 with a clear line: no provider, no key, unreadable file, bad output")
    func usageErrors() async throws {
        let noProvider = try await Self.run(["--input", Self.recording])
        #expect(noProvider.status == 2)
        #expect(noProvider.stderr.contains("--provider"))
        let noKey = try await Self.run(["--provider", "assemblyai", "--input", Self.recording])
        #expect(noKey.status == 2)
        #expect(noKey.stderr.contains("ASSEMBLYAI_API_KEY"))
        #expect(noKey.stderr.split(separator: "\n").count <= 3)
        let missing = try await Self.run(
            ["--provider", "assemblyai", "--input", "/nonexistent.wav"], environment: ["ASSEMBLYAI_API_KEY": "k"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("/nonexistent.wav"))
        #expect(!missing.stderr.contains("Fatal error"))
        let badOutput = try await Self.run(["--provider", "assemblyai", "--output", "x.doc"])
        #expect(badOutput.status == 2)
    }

    @Test("a refused key exits 3; an unreachable service exits 4; the key is never printed")
    func failures() async throws {
        let emulator = try Self.emulator()
        defer { emulator.shutdown() }
        let secret = "wrong-key-abcdefghijklmnop"
        let refused = try await Self.run(
            [
                "--provider", "assemblyai", "--input", Self.recording, "--pace", "none", "--format", "jsonl",
                "--endpoint",
                emulator.assemblyAIURL, "--ca-file", sharedAuthority.caCertificatePath,
            ], environment: ["ASSEMBLYAI_API_KEY": secret])
        #expect(refused.status == 3, "\(refused.stderr)")
        #expect(refused.lines.last?["type"]?.stringValue == "error")
        #expect(refused.lines.last?["retryable"]?.boolValue == false)
        let closedPort = try ClosedPort()
        defer { closedPort.close() }
        let port = closedPort.port
        let unreachable = try await Self.run(
            ["--provider", "speechmatics", "--input", Self.recording, "--endpoint", "ws://127.0.0.1:\(port)/v2"],
            environment: ["SPEECHMATICS_API_KEY": secret])
        #expect(unreachable.status == 4)
        let untrusted = try await Self.run(
            ["--provider", "assemblyai", "--input", Self.recording, "--endpoint", emulator.assemblyAIURL],
            environment: ["ASSEMBLYAI_API_KEY": secret])
        #expect(untrusted.status == 4)
        for result in [refused, unreachable, untrusted] {
            #expect(!result.stdout.contains(secret) && !result.stderr.contains(secret))
        }
    }

    @Test("--temporary-token mints a token with the key and connects with the token only")
    func temporaryToken() async throws {
        let emulator = try Self.emulator()
        defer { emulator.shutdown() }
        let result = try await Self.run(
            [
                "--provider", "assemblyai", "--input", Self.recording, "--pace", "none", "--temporary-token",
                "--token-url",
                emulator.assemblyAITokenURL, "--endpoint", emulator.assemblyAIURL, "--ca-file",
                sharedAuthority.caCertificatePath,
            ], environment: ["ASSEMBLYAI_API_KEY": "cli-key-0123456789"])
        #expect(result.status == 0, "\(result.stderr)")
        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(record.headers.first { $0.name == "authorization" } == nil)
        #expect(record.query.contains { $0.name == "token" })

        // A key the token endpoint refuses: exit 3, and in JSON lines one error line.
        let refused = try await Self.run(
            [
                "--provider", "assemblyai", "--input", Self.recording, "--temporary-token", "--format", "jsonl",
                "--token-url", emulator.assemblyAITokenURL, "--endpoint", emulator.assemblyAIURL, "--ca-file",
                sharedAuthority.caCertificatePath,
            ], environment: ["ASSEMBLYAI_API_KEY": "wrong-key-0123456789"])
        #expect(refused.status == 3, "\(refused.stderr)")
        #expect(refused.lines.count == 1)
        #expect(refused.lines.first?["type"]?.stringValue == "error")
        #expect(refused.lines.first?["code"]?.stringValue == "authenticationFailed")
        #expect(!refused.stdout.contains("wrong-key-0123456789") && !refused.stderr.contains("wrong-key-0123456789"))
    }

    @Test("Ctrl-C stops gracefully (remaining finals, exit 0); a second Ctrl-C aborts with 130")
    func interrupts() async throws {
        let emulator = try Self.emulator()
        defer { emulator.shutdown() }
        let arguments = [
            "--provider", "speechmatics", "--input", "-", "--format", "jsonl", "--endpoint", emulator.speechmaticsURL,
            "--ca-file", sharedAuthority.caCertificatePath, "--api-key", "cli-key-0123456789",
        ]
        // stdin stays open (no end of audio): only the signal ends the session.
        let graceful = try await Self.run(arguments, stdin: Data(count: 32000), interruptions: 1)
        #expect(graceful.status == 0, "\(graceful.stderr)")
        #expect(graceful.lines.last?["type"]?.stringValue == "terminated")
        // Speechmatics' Info (concurrent_session_usage) is not a JSON-lines event type.
        #expect(graceful.lines.allSatisfy { Self.documentedTypes.contains($0["type"]?.stringValue ?? "") })
        let aborted = try await Self.run(arguments, stdin: Data(count: 32000), interruptions: 2)
        #expect(aborted.status == 130)
    }

    @Test("System roots come from the hashed certificate directory: a CA linked there is trusted")
    func systemRootsFromHashedDirectory() async throws {
        let emulator = try Self.emulator()
        defer { emulator.shutdown() }
        // A certificate directory holding only the test CA under its subject hash ("1a2b3c4d.0"),
        // the way update-ca-certificates lays out /etc/ssl/certs; no --ca-file.
        let hashing = Process()
        hashing.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        hashing.arguments = ["x509", "-hash", "-noout", "-in", sharedAuthority.caCertificatePath]
        let output = Pipe()
        hashing.standardOutput = output
        try hashing.run()
        hashing.waitUntilExit()
        let hash = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(hash.count == 8)
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("stt-roots-\(UUID())")
        let hashed = base.appendingPathComponent("hashed")
        let empty = base.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: hashed, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: base) }
        try FileManager.default.copyItem(
            atPath: sharedAuthority.caCertificatePath, toPath: hashed.appendingPathComponent("\(hash).0").path)
        let arguments = [
            "--provider", "assemblyai", "--input", Self.recording, "--pace", "none", "--format", "jsonl",
            "--endpoint", emulator.assemblyAIURL,
        ]
        // SSL_CERT_FILE set to the system's default bundle still takes the directory path.
        func run(certificateDirectory: URL) async throws -> Result {
            try await Self.run(
                arguments,
                environment: [
                    "ASSEMBLYAI_API_KEY": "cli-key-0123456789", "SSL_CERT_DIR": certificateDirectory.path,
                    "SSL_CERT_FILE": "/usr/lib/ssl/cert.pem",
                ])
        }
        let trusted = try await run(certificateDirectory: hashed)
        #expect(trusted.status == 0, "\(trusted.stderr)")
        #expect(trusted.lines.last?["type"]?.stringValue == "terminated")
        // Without the link the CA is unknown: the handshake fails (exit 4), nothing is trusted by accident.
        let untrusted = try await run(certificateDirectory: empty)
        #expect(untrusted.status == 4, "\(untrusted.stderr)")
    }

    // MARK: - Hardening (issue 15)

    /// Service text longer than this is shortened on stderr.
    static let stderrLineBound = 1200

    @Test(
        "a 5000-character Warning from the service is shortened on stderr (both vendors)",
        arguments: ["assemblyai", "speechmatics"])
    func longWarning(provider: String) async throws {
        let text = String(repeating: "0123456789", count: 500)
        let emulator = try TranscriptionEmulator(
            configuration: .init(
                tls: sharedAuthority, apiKeys: ["cli-key-0123456789"],
                script: EmulatorScript(text: "Scripts depend on this output."),
                assemblyAI: .init(enforceRealTime: false, terminationDelay: .zero),
                faults: { _ in [.sendWarning(text: text, afterAudioChunks: 1)] }))
        defer { emulator.shutdown() }
        let endpoint = provider == "assemblyai" ? emulator.assemblyAIURL : emulator.speechmaticsURL
        let result = try await Self.run(
            [
                "--provider", provider, "--input", "-", "--input-format", "s16le", "--input-rate", "16000",
                "--pace", "none", "--endpoint", endpoint, "--ca-file", sharedAuthority.caCertificatePath,
                "--api-key", "cli-key-0123456789",
            ], stdin: Data(count: 2 * 32000))
        #expect(result.status == 0, "\(result.stderr.prefix(2000))")
        let record = try #require(emulator.sessions.first)
        #expect(record.messagesSent.contains { $0.contains(text) }, "the emulator sent the Warning")
        let warning = try #require(
            result.stderr.split(separator: "\n").first { $0.contains("warning from the service") })
        #expect(warning.count <= Self.stderrLineBound, "a stderr line of \(warning.count) characters")
        #expect(warning.contains("… (4000 more characters)"))
        #expect(!result.stderr.contains(text))
    }

    @Test("--api-key-file: the key from a file; a missing, empty or two-line file or both options exit 2")
    func apiKeyFile() async throws {
        let emulator = try Self.emulator()
        defer { emulator.shutdown() }
        let directory = NSTemporaryDirectory() + "transcribe-key-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func keyFile(_ name: String, _ content: String) throws -> String {
            let path = directory + "/" + name
            try Data(content.utf8).write(to: URL(fileURLWithPath: path))
            return path
        }
        let arguments = [
            "--provider", "assemblyai", "--input", Self.recording, "--pace", "none", "--format", "jsonl",
            "--endpoint", emulator.assemblyAIURL, "--ca-file", sharedAuthority.caCertificatePath,
        ]
        let good = try await Self.run(arguments + ["--api-key-file", try keyFile("good", "cli-key-0123456789\n")])
        #expect(good.status == 0, "\(good.stderr)")
        #expect(good.lines.last?["type"]?.stringValue == "terminated")
        let record = try #require(emulator.sessions.first, "no session: \(good.stderr)")
        #expect(record.handshakeStatus == nil && record.violations.isEmpty, "\(record.violations)")

        let secret = "file-secret-abcdefghij"
        let failures: [(String, [String])] = [
            ("missing", ["--api-key-file", directory + "/missing"]),
            ("empty", ["--api-key-file", try keyFile("empty", "\n")]),
            ("two lines", ["--api-key-file", try keyFile("two", secret + "\nsecond-line-\(secret)\n")]),
            ("both", ["--api-key-file", try keyFile("both", secret), "--api-key", "cli-key-0123456789"]),
            ("a directory", ["--api-key-file", directory]),
        ]
        for (name, extra) in failures {
            let result = try await Self.run(
                arguments + extra, environment: ["ASSEMBLYAI_API_KEY": "cli-key-0123456789"])
            #expect(result.status == 2, "\(name): \(result.stderr)")
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(name): \(result.stderr)")
            #expect(lines.first?.hasPrefix("transcribe: ") == true, "\(name): \(result.stderr)")
            #expect(!result.stderr.contains(secret) && !result.stdout.contains(secret), "\(name)")
        }

        let help = try await Self.run(["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("--api-key-file"))
        #expect(help.stdout.contains("process list"))
    }

    @Test(
        "Ctrl-C while the temporary token is minted exits 130 at once (both vendors)",
        arguments: ["assemblyai", "speechmatics"])
    func interruptWhileMinting(provider: String) async throws {
        var configuration = TranscriptionEmulator.Configuration(
            tls: sharedAuthority, apiKeys: ["cli-key-0123456789"])
        configuration.tokenFault = .neverAnswer
        let emulator = try TranscriptionEmulator(configuration: configuration)
        defer { emulator.shutdown() }
        let assemblyAI = provider == "assemblyai"
        let signalled = LockedState<ContinuousClock.Instant?>(nil)
        let result = try await Self.run(
            [
                "--provider", provider, "--input", Self.recording, "--temporary-token", "--token-url",
                assemblyAI ? emulator.assemblyAITokenURL : emulator.speechmaticsTokenURL, "--endpoint",
                assemblyAI ? emulator.assemblyAIURL : emulator.speechmaticsURL, "--ca-file",
                sharedAuthority.caCertificatePath,
            ],
            environment: [assemblyAI ? "ASSEMBLYAI_API_KEY" : "SPEECHMATICS_API_KEY": "cli-key-0123456789"]
        ) { pid in
            // The request has reached the endpoint, which will never answer: the CLI is minting.
            await emulator.waitForTokenRequests(count: 1)
            signalled.withLock { $0 = .now }
            kill(pid, SIGINT)
        }
        let exited = ContinuousClock.now
        #expect(emulator.tokenRequestCount == 1)
        #expect(result.reason == .exit, "killed by signal \(result.status)")
        #expect(result.status == 130, "\(result.stderr)")
        let elapsed = try exited - #require(signalled.withLock { $0 })
        #expect(elapsed < .seconds(5), "exit \(elapsed) after SIGINT")
        #expect(!result.stderr.contains("cli-key-0123456789"))
    }

    @Test("a file corrupt part-way: the audio error on stderr and exit 5, after the finals before it")
    func corruptFileMidStream() async throws {
        // The bundled FLAC with 256 zero bytes in its middle: libsndfile opens it and decodes
        // about 5.9 s before it loses sync ("flac decoder lost sync").
        let path = NSTemporaryDirectory() + "transcribe-corrupt-\(UUID().uuidString).flac"
        defer { try? FileManager.default.removeItem(atPath: path) }
        var bytes = try Data(contentsOf: URL(fileURLWithPath: Self.recording))
        let middle = bytes.count / 2
        bytes.replaceSubrange(middle..<(middle + 256), with: Data(count: 256))
        try bytes.write(to: URL(fileURLWithPath: path))
        let source = try AudioFileSource(path: path)  // opens: the damage is found while reading
        var frames = 0
        do {
            for try await buffer in source { frames += buffer.frameCount }
            Issue.record("the damaged file decoded to the end")
        } catch {
            #expect(error.code == .corruptFile)
        }
        #expect(frames > 16000, "decoded \(frames) frames before the damage")

        let emulator = try Self.emulator()
        defer { emulator.shutdown() }
        let result = try await Self.run(
            [
                "--provider", "assemblyai", "--input", path, "--pace", "none", "--format", "jsonl", "--endpoint",
                emulator.assemblyAIURL, "--ca-file", sharedAuthority.caCertificatePath,
            ], environment: ["ASSEMBLYAI_API_KEY": "cli-key-0123456789"])
        #expect(result.status == 5, "\(result.stderr)")
        #expect(result.stderr.contains("the audio failed"), "\(result.stderr)")
        #expect(result.stderr.contains("lost sync"), "\(result.stderr)")
        #expect(result.lines.first?["type"]?.stringValue == "begin")
        #expect(result.lines.last?["type"]?.stringValue == "terminated")
    }
}
