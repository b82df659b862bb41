import ArgumentParser
import Foundation
import Logging
import StreamingSTT

#if canImport(Glibc)
    import Glibc
#endif

/// `transcribe`: live transcription from the microphone, a file or stdin, with AssemblyAI or
/// Speechmatics. Its options, exit codes and JSON-lines output are a stable interface.
///
/// Exit codes: 0 success, 2 usage error (missing key included), 3 authentication rejected,
/// 4 connection, TLS, protocol, vendor error or timeout, 5 the audio failed during the session
/// (a file corrupt part-way, a device that stopped), 130 interrupted twice, or once while the
/// temporary token is minted.
struct Transcribe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transcribe",
        abstract: "Stream audio to AssemblyAI or Speechmatics and print the live transcript.",
        discussion: """
            The API key comes from the environment (ASSEMBLYAI_API_KEY, SPEECHMATICS_API_KEY), \
            --api-key-file or --api-key. Prefer the environment variable or the file: --api-key \
            is visible to every user of the machine in the process list.

            Exit codes: 0 success, 2 usage error, 3 authentication rejected, 4 connection, TLS, \
            protocol, vendor error or timeout, 5 the audio failed during the session (a file \
            corrupt part-way, a device that stopped), 130 interrupted twice, or once while the \
            temporary token is minted.

            With AssemblyAI, --diarization also prints the service's speaker revisions: JSON lines \
            {"type":"speakerRevision","turn","speaker","start","end","words"}, one per revised turn \
            ("turn" is the revised final's turn, counted from 0; "speaker" is absent when unknown; \
            "start" and "end", the final's span, are absent when the revision has no words); \
            text output writes them on stderr.

            Ctrl-C stops gracefully (the remaining finals are printed); a second Ctrl-C aborts.
            """,
        subcommands: [Demo.self]
    )

    enum ProviderName: String, ExpressibleByArgument, CaseIterable {
        case assemblyai, speechmatics
    }

    enum InputFormat: String, ExpressibleByArgument, CaseIterable {
        case s16le, f32le, mulaw
    }

    enum Pace: String, ExpressibleByArgument, CaseIterable {
        case realtime, none
    }

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case text, jsonl
    }

    @Option(help: "The service: assemblyai or speechmatics.")
    var provider: ProviderName?

    @Option(help: "mic (default), a file path (WAV, FLAC, Ogg, MP3), or - for raw PCM on stdin.")
    var input: String = "mic"

    @Option(help: "Raw PCM on stdin: s16le, f32le or mulaw.")
    var inputFormat: InputFormat = .s16le

    @Option(help: "Raw PCM on stdin: sample rate in Hz.")
    var inputRate: Int = 16000

    @Option(help: "Raw PCM on stdin: channel count.")
    var inputChannels: Int = 1

    @Option(help: "ALSA capture device for --input mic (default, hw:1,0, plughw:…).")
    var device: String = "default"

    @Flag(help: "List the capture devices and exit.")
    var listDevices = false

    @Option(
        help:
            "realtime (default) or none: send files and stdin as fast as the transport allows (the hosted AssemblyAI service rejects faster than real-time audio)."
    )
    var pace: Pace = .realtime

    @Option(
        help:
            "The API key (default: ASSEMBLYAI_API_KEY or SPEECHMATICS_API_KEY). Visible in the process list: prefer the environment variable or --api-key-file."
    )
    var apiKey: String?

    @Option(
        help: ArgumentHelp(
            "Read the API key from this file (one line; a trailing newline is ignored). Preferred to --api-key.",
            valueName: "path"))
    var apiKeyFile: String?

    @Flag(help: "Mint a temporary token with the key, then connect with the token only.")
    var temporaryToken = false

    @Option(help: "Override the vendor's token endpoint.")
    var tokenURL: String?

    @Option(help: "The full WebSocket URL of the service (regional, on-premises ws://host:9000/v2, or an emulator).")
    var endpoint: String?

    @Option(help: "Trust this extra CA certificate (PEM).")
    var caFile: String?

    @Flag(
        help:
            "Send the key or token over ws:// or http:// to a host that is not loopback (refused otherwise, exit 2). Only on a network you trust."
    )
    var allowCleartextCredentials = false

    @Option(
        help:
            "Model: AssemblyAI speech_model (default u3-rt-pro); Speechmatics model (standard, enhanced, melia-1)."
    )
    var model: String?

    @Option(help: "Language (Speechmatics: default en; AssemblyAI: language codes to steer toward).")
    var language: String?

    @Flag(
        inversion: .prefixedNo,
        help: "Partial transcripts (Speechmatics enable_partials; AssemblyAI always sends them: not shown).")
    var partials = true

    @Option(help: "Speechmatics max_delay in seconds (0.7–4).")
    var maxDelay: Double?

    @Flag(help: "AssemblyAI format_turns (punctuation and casing on Universal-Streaming models).")
    var formatTurns = false

    @Option(help: "A key term (AssemblyAI keyterms_prompt, Speechmatics additional_vocab); repeatable.")
    var keyterm: [String] = []

    @Flag(help: "Label speakers (AssemblyAI speaker_labels, Speechmatics diarization=speaker).")
    var diarization = false

    @Flag(
        help:
            "Transcribe each input channel as its own channel, never mixed down (Speechmatics diarization=channel; AssemblyAI one session per channel). With --input mic the device is opened with one channel per --channel-label, 2 at least."
    )
    var multichannel = false

    @Option(
        help: ArgumentHelp(
            "With --multichannel: the label of the next input channel (repeatable, in channel order; default ch1, ch2, …).",
            valueName: "NAME"))
    var channelLabel: [String] = []

    @Option(
        help: ArgumentHelp(
            "Speechmatics: also translate into LANG (repeatable, at most 5): JSON lines {\"type\":\"translation\",\"language\",\"text\",\"start\",\"end\",\"partial\"}; text output prints each final translation as a line \"[LANG] text\".",
            valueName: "LANG"))
    var translate: [String] = []

    @Flag(
        help:
            "Speechmatics: report sounds (music, applause, laughter, …): JSON lines {\"type\":\"audioEvent\",\"event\":\"started\"|\"ended\",\"name\",\"time\",\"confidence\" (started only)}; text output prints \"[music started]\" lines."
    )
    var audioEvents = false

    @Option(
        help:
            "Seconds of silence that end an utterance (Speechmatics end_of_utterance_silence_trigger; AssemblyAI max_turn_silence)."
    )
    var endOfUtterance: Double?

    @Flag(
        help:
            "Reconnect after a retryable failure and roll over before the session's time limit, replaying the audio in between."
    )
    var reconnect = false

    @Option(help: "text (default) or jsonl.")
    var format: OutputFormat = .text

    @Flag(help: "Text output: show timestamps and speakers.")
    var timestamps = false

    @Flag(
        help: """
            Print the session statistics at the end: on stderr with --format text; with --format jsonl \
            one last line {"type":"stats",…}: audioSent, audioAcknowledged (Speechmatics), \
            transcribedUntil, transcriptLag, maxTranscriptLag, timeToFirstPartial, timeToFirstFinal, \
            receiveToEventLatency, maxReceiveToEventLatency, meanReceiveToEventLatency, lastMessageAge, \
            pingRoundTrip (seconds; a time not known yet is left out), partials, finals, reconnections, rollovers, \
            lostAudio (seconds).
            """)
    var stats = false

    @Option(help: "Also write PATH: .srt or .vtt (cues of the words, 2 lines × 42 characters), .txt or .jsonl.")
    var output: String?

    func validate() throws {
        // The provider is checked in `run()`: ArgumentParser also validates this command when
        // the `demo` subcommand runs, and the demo needs no provider.
        if let output, TranscriptFile.Kind(path: output) == nil {
            throw ValidationError("--output must end in .srt, .vtt, .txt or .jsonl.")
        }
        if inputRate < 4000 || inputRate > 192_000 { throw ValidationError("--input-rate must be 4000…192000.") }
        if inputChannels < 1 || inputChannels > 8 { throw ValidationError("--input-channels must be 1…8.") }
        if !channelLabel.isEmpty && !multichannel { throw ValidationError("--channel-label needs --multichannel.") }
        if channelLabel.contains(where: { $0.isEmpty }) { throw ValidationError("--channel-label must not be empty.") }
        if Set(channelLabel).count != channelLabel.count {
            throw ValidationError("--channel-label names must be different.")
        }
    }

    func run() async throws {
        if listDevices {
            try listCaptureDevices()
            return
        }
        guard provider != nil else {
            throw ValidationError("Choose a service with --provider assemblyai or --provider speechmatics.")
        }
        if provider == .assemblyai,
            let option = !translate.isEmpty ? "--translate" : audioEvents ? "--audio-events" : nil
        {
            printError("transcribe: \(option) is for Speechmatics only (AssemblyAI streaming has no such feature).")
            throw ExitCode(2)
        }
        let session = try SessionRunner(options: self)
        throw ExitCode(await session.run())
    }

    private func listCaptureDevices() throws {
        do {
            for device in try ALSAMicrophone.captureDevices() {
                let description = device.description.split(separator: "\n").joined(separator: " — ")
                print(description.isEmpty ? device.name : "\(device.name)\t\(description)")
            }
        } catch {
            printError("transcribe: cannot list capture devices: \(error.detail)")
            throw ExitCode(2)
        }
    }

    /// Why the API key could not be had from the command line; `message` is one line and never
    /// holds the key or the file's content.
    struct KeyProblem: Error {
        var message: String
    }

    /// The channel labels of a `channelCount`-channel input with `--multichannel`: the
    /// `--channel-label` names in order, then `ch<N>` for the channels without one.
    func channelLabels(channelCount: Int) -> [String] {
        (0..<channelCount).map { $0 < channelLabel.count ? channelLabel[$0] : "ch\($0 + 1)" }
    }

    /// The API key: `--api-key` or `--api-key-file` (not both), else the provider's environment
    /// variable.
    func resolvedKey() -> Result<String?, KeyProblem> {
        if let apiKeyFile {
            if apiKey != nil {
                return .failure(KeyProblem(message: "--api-key and --api-key-file cannot be used together."))
            }
            return Self.readKey(file: apiKeyFile).map { Optional($0) }
        }
        return .success(environmentKey())
    }

    /// Reads a key file: its text without trailing whitespace and line breaks, on one line.
    static func readKey(file path: String) -> Result<String, KeyProblem> {
        let limit = 64 << 10
        let data: Data
        do {
            guard let handle = FileHandle(forReadingAtPath: path) else { throw CocoaError(.fileReadNoPermission) }
            defer { try? handle.close() }
            data = try handle.read(upToCount: limit + 1) ?? Data()
        } catch {
            return .failure(KeyProblem(message: "cannot read the API key file \(path)."))
        }
        guard data.count <= limit else {
            return .failure(KeyProblem(message: "the API key file \(path) is larger than 64 KiB."))
        }
        var key = String(decoding: data, as: UTF8.self)
        while let last = key.unicodeScalars.last, last.properties.isWhitespace {
            key.unicodeScalars.removeLast()
        }
        guard !key.isEmpty else { return .failure(KeyProblem(message: "the API key file \(path) is empty.")) }
        guard !key.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            return .failure(KeyProblem(message: "the API key file \(path) must hold the key on one line."))
        }
        return .success(key)
    }

    /// The key from the command line, else the provider's environment variable.
    private func environmentKey() -> String? {
        if let apiKey, !apiKey.isEmpty { return apiKey }
        let variable = provider == .speechmatics ? "SPEECHMATICS_API_KEY" : "ASSEMBLYAI_API_KEY"
        guard let value = getenv(variable) else { return nil }
        let key = String(cString: value)
        return key.isEmpty ? nil : key
    }
}
