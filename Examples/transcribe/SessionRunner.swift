import Foundation
import Logging
import StreamingSTT
import Synchronization

/// Runs one `transcribe` session: resolves the key, opens the audio, streams it, prints the
/// events, and turns the outcome into an exit code.
struct SessionRunner {
    let options: Transcribe

    init(options: Transcribe) throws {
        self.options = options
    }

    func run() async -> Int32 {
        // Key and TLS.
        let key: String?
        switch options.resolvedKey() {
        case .success(let value): key = value
        case .failure(let problem):
            printError("transcribe: \(problem.message)")
            return 2
        }
        let onPremises = options.provider == .speechmatics && (options.endpoint?.hasPrefix("ws://") ?? false)
        if key == nil && !onPremises {
            let variable = options.provider == .speechmatics ? "SPEECHMATICS_API_KEY" : "ASSEMBLYAI_API_KEY"
            printError("transcribe: no API key. Set \(variable), or pass --api-key-file PATH (or --api-key KEY).")
            return 2
        }
        if key != nil, let refusal = cleartextRefusal() {
            printError("transcribe: \(refusal)")
            return 2
        }
        var tls = TLSConfiguration()
        if let caFile = options.caFile {
            guard FileManager.default.isReadableFile(atPath: caFile) else {
                printError("transcribe: cannot read the CA file \(caFile).")
                return 2
            }
            tls.additionalTrustRoots = [.file(caFile)]
        }

        // The provider, with a temporary token when asked.
        var credentials: Credentials = key.map { .apiKey(Secret($0)) } ?? .none
        if options.temporaryToken, let key {
            switch await mintInterruptibly(key: Secret(key), tls: tls) {
            case .token(let token):
                credentials = .temporaryToken(token)
            case .failed(let error):
                return report(error)
            case .interrupted:
                printError("\ntranscribe: interrupted while minting the temporary token.")
                return 130
            }
        }
        // The audio.
        let source: any AudioSource
        let isMicrophone = options.input == "mic"
        do {
            source = try openSource()
        } catch let error as AudioError {
            printError("transcribe: \(describe(error))")
            return 2
        } catch {
            printError("transcribe: \(error)")
            return 2
        }

        // With --multichannel, each channel of the input is its own channel of the session.
        var channels: [String] = []
        if options.multichannel {
            let count = source.format.channelCount
            if options.channelLabel.count > count {
                printError(
                    "transcribe: \(options.channelLabel.count) --channel-label names for a \(count)-channel input.")
                return 2
            }
            channels = options.channelLabels(channelCount: count)
            if count == 1 {
                // A mono file, or a device that has one channel only: the session goes on, labelled.
                printError("transcribe: note: --multichannel with a 1-channel input: one channel, \(channels[0]).")
            }
        }

        let provider: StreamingTranscriber.Provider
        do {
            provider = try makeProvider(credentials: credentials)
        } catch {
            return report(error)
        }

        // Output file.
        var file: TranscriptFile?
        if let path = options.output {
            do {
                file = try TranscriptFile(path: path)
            } catch {
                printError("transcribe: cannot write \(path): \(error.localizedDescription)")
                return 2
            }
        }

        var configuration = StreamingTranscriber.Configuration(
            tls: tls, allowsCredentialsOverCleartext: options.allowCleartextCredentials)
        // Each channel transcribed on its own, labelled: Speechmatics channel diarization (with
        // speakers within each channel with --diarization), AssemblyAI one session per channel.
        configuration.channelLabels = channels
        if options.reconnect { configuration.reconnection = ReconnectionPolicy() }
        if options.reconnect || channels.count > 1, options.temporaryToken, let key,
            case .temporaryToken(let first) = credentials
        {
            // A token opens one session: every later session (after a reconnection, or another
            // channel's with AssemblyAI) gets a fresh one.
            let runner = self
            let trust = tls
            let firstToken = FirstToken(first)
            configuration.credentials = SessionCredentials { _ in
                if let token = firstToken.take() { return .temporaryToken(token) }
                return .temporaryToken(try await runner.mintToken(key: Secret(key), tls: trust))
            }
        }
        let transcriber = StreamingTranscriber(provider: provider, configuration: configuration)
        let display = Display(
            format: options.format, timestamps: options.timestamps, showsLevel: isMicrophone,
            showsPartials: options.partials, file: file)
        let printer = Task { await display.consume(transcriber.events) }
        // The status line: the connection state as it changes, the transcript lag twice a second.
        let states = transcriber.connectionStates
        let watcher = Task {
            guard display.drawsStatus else { return }
            await withDiscardingTaskGroup { group in
                group.addTask {
                    for await state in states { display.connection(state) }
                }
                group.addTask {
                    while !transcriber.connectionState.isEnded, !Task.isCancelled {
                        display.transcriptLag(await transcriber.statistics.transcriptLag)
                        try? await Task.sleep(for: .milliseconds(500))
                    }
                }
            }
        }
        let metered = MeteredSource(base: source, display: display)
        let interrupts = Interrupts {
            display.status("stopping…")
            metered.requestStop()
            Task { await stopSource(source) }
        }
        interrupts.install()

        var outcome: Int32 = 0
        do {
            try await transcriber.start()
            let pacing: AudioPacing = isMicrophone || options.pace == .none ? .asFastAsPossible : .realTime
            do {
                try await transcriber.stream(from: metered, pacing: pacing)
            } catch  where error.code == .audioFailed {
                printError("transcribe: the audio failed: \(Display.shortened(error.reason)); stopping.")
                outcome = 5
            }
            _ = try await transcriber.stop()
        } catch {
            outcome = report(error, alreadyShown: true)
        }
        await printer.value
        watcher.cancel()
        await watcher.value
        display.finish()
        interrupts.uninstall()
        file?.close()
        if let summary = display.summary {
            var line = String(
                format: "transcribe: %d finals, %.1f s of audio, session %.1f s", summary.finalCount,
                summary.audioDuration, summary.sessionDuration)
            if summary.sessionCount > 1 {
                line += String(format: " (%d sessions, %.2f s of audio lost)", summary.sessionCount, summary.lostAudio)
            }
            printError(line)
        }
        if options.stats {
            // The summary's after a graceful stop; otherwise (a failure) as they were at the end.
            let stats: SessionStatistics
            if let summary = display.summary {
                stats = summary.statistics
            } else {
                stats = await transcriber.statistics
            }
            if options.format == .jsonl {
                FileHandle.standardOutput.write(Data((JSONLines.statsLine(stats) + "\n").utf8))
            } else {
                printError(JSONLines.statsText(stats))
            }
        }
        return outcome
    }

    /// How minting the first temporary token ended.
    private enum Minting: Sendable {
        case token(Secret)
        case failed(TranscriptionError)
        case interrupted
    }

    /// Mints the first token; Ctrl-C (SIGINT or SIGTERM) meanwhile cancels the request.
    private func mintInterruptibly(key: Secret, tls: TLSConfiguration) async -> Minting {
        let (signals, signalled) = AsyncStream<Void>.makeStream()
        let interrupts = Interrupts(announcement: nil) { signalled.yield() }
        interrupts.install()
        defer { interrupts.uninstall() }
        return await withTaskGroup(of: Minting?.self) { group in
            group.addTask {
                do throws(TranscriptionError) {
                    return .token(try await mintToken(key: key, tls: tls))
                } catch {
                    return .failed(error)
                }
            }
            group.addTask {
                for await _ in signals { return .interrupted }
                return nil  // cancelled: the token came first
            }
            var outcome = Minting.interrupted
            if let first = await group.next(), let first { outcome = first }
            group.cancelAll()
            return outcome
        }
    }

    /// Why the key or a token would go in cleartext to another machine (the library refuses it
    /// before sending anything; this names the flag that allows it), or `nil`.
    private func cleartextRefusal() -> String? {
        guard !options.allowCleartextCredentials else { return nil }
        let urls = [("--endpoint", options.endpoint), ("--token-url", options.temporaryToken ? options.tokenURL : nil)]
        for case (let option, let url?) in urls {
            do {
                try CredentialTransport.check(url: url, provider: nil, allowsCleartext: false)
            } catch {
                return "refusing to send the key or token in cleartext (\(option) is ws:// or http:// to a host "
                    + "that is not loopback): use wss:// or https://, or pass --allow-cleartext-credentials on a "
                    + "network you trust."
            }
        }
        return nil
    }

    private func mintToken(key: Secret, tls: TLSConfiguration) async throws(TranscriptionError) -> Secret {
        switch options.provider {
        case .speechmatics:
            try await Speechmatics.createTemporaryKey(
                apiKey: key, url: options.tokenURL ?? "https://mp.speechmatics.com/v1/api_keys?type=rt", tls: tls,
                allowsCredentialsOverCleartext: options.allowCleartextCredentials)
        default:
            try await AssemblyAI.createTemporaryToken(
                apiKey: key, url: options.tokenURL ?? "https://streaming.assemblyai.com/v3/token", tls: tls,
                allowsCredentialsOverCleartext: options.allowCleartextCredentials)
        }
    }

    private func makeProvider(credentials: Credentials) throws(TranscriptionError) -> StreamingTranscriber.Provider {
        switch options.provider {
        case .speechmatics:
            var configuration = Speechmatics(
                credentials: credentials, language: options.language ?? "en",
                endpoint: options.endpoint.map { .custom($0) } ?? .eu)
            // `model` (standard, enhanced, melia-1): `operating_point` is its deprecated name.
            configuration.model = options.model
            configuration.enablePartials = options.partials
            configuration.maxDelay = options.maxDelay
            configuration.additionalVocab = options.keyterm.map { .init($0) }
            if options.diarization { configuration.diarization = .speaker }
            if !options.translate.isEmpty {
                configuration.translationConfig = .init(
                    targetLanguages: options.translate, enablePartials: options.partials ? true : nil)
            }
            if options.audioEvents { configuration.audioEventTypes = [] }  // {}: every type
            if let seconds = options.endOfUtterance {
                configuration.conversationConfig = .init(endOfUtteranceSilenceTrigger: seconds)
            }
            try configuration.validate()
            return .speechmatics(configuration)
        default:
            var configuration = AssemblyAI(
                credentials: credentials, speechModel: .init(rawValue: options.model ?? "u3-rt-pro"),
                endpoint: options.endpoint.map { .custom($0) } ?? .global)
            if options.formatTurns { configuration.formatTurns = true }
            configuration.keytermsPrompt = options.keyterm
            if let language = options.language { configuration.languageCodes = [language] }
            if options.diarization { configuration.speakerLabels = true }
            if let seconds = options.endOfUtterance { configuration.maxTurnSilence = Int(seconds * 1000) }
            try configuration.validate()
            return .assemblyAI(configuration)
        }
    }

    private func openSource() throws -> any AudioSource {
        switch options.input {
        case "mic":
            // With --multichannel the device is opened with as many channels as there are
            // labels (two at least: a stereo device is the common case) and split in our code,
            // never mixed down; ALSA picks the nearest count the device has.
            var configuration = ALSAMicrophone.Configuration()
            if options.multichannel { configuration.channelCount = max(2, options.channelLabel.count) }
            return try ALSAMicrophone(device: options.device, configuration: configuration)
        case "-":
            let encoding: AudioFormat.Encoding =
                switch options.inputFormat {
                case .s16le: .int16
                case .f32le: .float32
                case .mulaw: .mulaw
                }
            return try RawPCMSource.standardInput(
                format: AudioFormat(
                    encoding: encoding, sampleRate: options.inputRate, channelCount: options.inputChannels))
        default:
            return try AudioFileSource(path: options.input)
        }
    }

    private func describe(_ error: AudioError) -> String {
        switch error.code {
        case .deviceNotFound:
            "no capture device \"\(options.device)\". List them with --list-devices. (\(error.detail))"
        case .fileNotFound, .fileUnreadable:
            "cannot read \(options.input): \(error.detail)"
        case .unsupportedFile, .corruptFile:
            "cannot decode \(options.input): \(error.detail)"
        default:
            error.description
        }
    }

    /// Prints an error (unless the event stream already showed it) and returns its exit code.
    private func report(_ error: any Error, alreadyShown: Bool = false) -> Int32 {
        guard let error = error as? TranscriptionError else {
            printError("transcribe: \(Display.shortened("\(error)"))")
            return 4
        }
        if !alreadyShown {
            printError("transcribe: \(Display.shortened("\(error)"))")
            // A failure before the session (minting the token, the provider's options): the
            // JSON-lines reader gets its error line too.
            if options.format == .jsonl, let line = JSONLines.line(for: .error(error)) {
                FileHandle.standardOutput.write(Data((line + "\n").utf8))
            }
        }
        switch error.code {
        case .invalidConfiguration: return 2
        case .authenticationFailed: return 3
        case .cancelled: return 130
        default: return 4
        }
    }
}

/// Stops a source that may be blocked in a read (microphone, stdin).
private func stopSource(_ source: any AudioSource) async {
    if let microphone = source as? ALSAMicrophone { await microphone.stop() }
    if let raw = source as? RawPCMSource { await raw.stop() }
}

/// The token minted before the session, handed out once: to whichever session opens first.
private final class FirstToken: Sendable {
    private let token: Mutex<Secret?>

    init(_ token: Secret) {
        self.token = Mutex(token)
    }

    func take() -> Secret? {
        token.withLock { token in
            defer { token = nil }
            return token
        }
    }
}
