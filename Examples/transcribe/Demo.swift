import ArgumentParser
import Logging
import StreamingSTT
import StreamingSTTTesting

#if canImport(Glibc)
    import Glibc
#endif

/// `transcribe demo`: real transcription sessions against the bundled emulator, offline.
///
/// Starts the emulator of both services on 127.0.0.1 over TLS (with a certificate authority it
/// generates), then streams a bundled speech recording through the real library in real time,
/// once to the AssemblyAI emulator and once to the Speechmatics emulator, showing the live
/// transcript as it would with the real services, and what it measured.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Transcribe a bundled recording with both providers, against the bundled emulator (no key, no network)."
    )

    @Flag(help: "Send the audio as fast as the transport allows instead of in real time.")
    var fast = false

    /// The bundled recording (espeak-ng, 16 kHz mono, 12.6 s) and what it says, sentence by
    /// sentence, with where each sentence is in the audio (seconds).
    static let recording = "Resources/demo-speech.flac"
    static let sentences: [(text: String, start: Double, duration: Double)] = [
        ("Hello, and welcome to Swift streaming STT.", 0.60, 3.165),
        ("This sentence is streamed live to the emulator.", 4.365, 3.164),
        ("Every final transcript arrives before the session ends.", 8.129, 3.854),
    ]

    func run() async throws {
        let terminal = isatty(STDOUT_FILENO) == 1
        print("swift-streaming-stt demo")
        print("The service here is the LOCAL EMULATOR bundled with this package (127.0.0.1, TLS),")
        print("not AssemblyAI or Speechmatics: no API key and no network are used. The emulator")
        print("speaks both vendors' real protocols and transcribes from a script of this recording.\n")

        let path = try Self.recordingPath()
        let authority = try TestCertificateAuthority.generate(names: ["localhost", "127.0.0.1"])
        defer { authority.remove() }
        let emulator = try TranscriptionEmulator(
            configuration: .init(
                tls: authority, apiKeys: ["demo-key"], script: Self.script(),
                assemblyAI: .init(enforceRealTime: !fast)))
        defer { emulator.shutdown() }
        let tls = TLSConfiguration(additionalTrustRoots: [.file(authority.caCertificatePath)])

        var assemblyAI = AssemblyAI(
            credentials: .apiKey("demo-key"), speechModel: .u3RealtimePro, endpoint: .custom(emulator.assemblyAIURL))
        assemblyAI.sampleRate = 16000
        var speechmatics = Speechmatics(credentials: .apiKey("demo-key"), endpoint: .custom(emulator.speechmaticsURL))
        speechmatics.enablePartials = true
        speechmatics.maxDelay = 1.0

        var failed = false
        for (name, provider) in [
            ("AssemblyAI", StreamingTranscriber.Provider.assemblyAI(assemblyAI)),
            ("Speechmatics", .speechmatics(speechmatics)),
        ] {
            print(
                "── \(name) (emulated at \(name == "AssemblyAI" ? emulator.assemblyAIURL : emulator.speechmaticsURL)) ──"
            )
            do {
                try await session(provider, path: path, tls: tls, terminal: terminal)
            } catch {
                failed = true
                print("\(name) session failed: \(error)")
            }
            print("")
        }
        print("To transcribe with the real services, create the provider with your API key instead:")
        print(
            "  StreamingTranscriber(provider: .assemblyAI(AssemblyAI(credentials: .apiKey(Secret(key)), speechModel: .u3RealtimePro)))"
        )
        print("  StreamingTranscriber(provider: .speechmatics(Speechmatics(credentials: .apiKey(Secret(key)))))")
        print("(see README.md; the emulator is in the StreamingSTTTesting product for your own tests).")
        if failed { throw ExitCode(4) }
    }

    private func session(
        _ provider: StreamingTranscriber.Provider, path: String, tls: TLSConfiguration, terminal: Bool
    )
        async throws
    {
        let source = try AudioFileSource(path: path)
        let transcriber = StreamingTranscriber(provider: provider, configuration: .init(tls: tls))
        let clock = ContinuousClock()
        let started = clock.now
        let display = Task { () -> (firstPartial: Duration?, finals: Int) in
            var firstPartial: Duration?
            var finals = 0
            var turn = ""  // finals of the turn so far (Speechmatics sends several per sentence)
            var turnStart = 0.0
            func show(_ partial: String) {
                guard terminal else { return }
                let line = [turn, partial].filter { !$0.isEmpty }.joined(separator: " ")
                print("\r\u{1B}[2K  … \(line)", terminator: "")
            }
            func endTurn(at end: Double) {
                guard !turn.isEmpty else { return }
                if terminal { print("\r\u{1B}[2K", terminator: "") }
                print(String(format: "  [%5.2f–%5.2f s] %@", turnStart, end, turn))
                turn = ""
            }
            for await event in transcriber.events {
                switch event {
                case .partial(let transcript):
                    if firstPartial == nil, !transcript.text.isEmpty { firstPartial = clock.now - started }
                    show(transcript.text)
                case .final(let transcript):
                    finals += 1
                    if turn.isEmpty { turnStart = transcript.start }
                    turn += (turn.isEmpty ? "" : " ") + transcript.text
                    if transcript.isEndOfTurn { endTurn(at: transcript.end) } else { show("") }
                case .endOfUtterance(let mark):
                    endTurn(at: mark.time)
                case .error(let error):
                    if terminal { print("\r\u{1B}[2K", terminator: "") }
                    print("  error: \(error)")
                case .terminated(let summary):
                    endTurn(at: summary.audioDuration)
                default:
                    break
                }
            }
            return (firstPartial, finals)
        }
        try await transcriber.start()
        try await transcriber.stream(from: source, pacing: fast ? .asFastAsPossible : .realTime)
        let summary = try await transcriber.stop()
        let shown = await display.value
        let firstPartial = shown.firstPartial.map { String(format: "%.2f s", seconds($0)) } ?? "none"
        print(
            String(
                format: "  time to first partial %@ · %d finals · %.1f s of audio · session %.1f s", firstPartial,
                shown.finals, summary.audioDuration, seconds(clock.now - started)))
    }

    /// The emulator's script: each sentence's words spread over its span, in proportion to length.
    static func script() -> EmulatorScript {
        EmulatorScript(timedSentences: sentences)
    }

    static func recordingPath() throws -> String {
        var directory = #filePath
        while let last = directory.last, last != "/" { directory.removeLast() }
        let path = directory + recording
        guard access(path, R_OK) == 0 else {
            throw ValidationError(
                "The demo recording is missing: \(path). Run the demo from a checkout of the package.")
        }
        return path
    }
}
