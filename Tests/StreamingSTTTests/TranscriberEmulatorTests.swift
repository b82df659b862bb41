import Foundation
import StreamingSTTTesting
import Testing

@testable import StreamingSTT

/// Whole sessions of the real client against the bundled emulator of both services.
@Suite("StreamingTranscriber against the emulator")
struct TranscriberEmulatorTests {
    static let script = EmulatorScript(
        text: "Hello world. This is a streaming test. Goodbye now.", startingAt: 0.3, wordDuration: 0.25, gap: 0.05,
        sentenceGap: 0.8)

    /// `seconds` of 16 kHz s16le mono audio (silence: the emulator transcribes from its script).
    static func audio(seconds: Double) -> [UInt8] { [UInt8](repeating: 0, count: Int(seconds * 32000)) }

    static func emulator(
        secure: Bool, _ configure: (inout TranscriptionEmulator.Configuration) -> Void = { _ in }
    )
        throws -> TranscriptionEmulator
    {
        var configuration = TranscriptionEmulator.Configuration(
            tls: secure ? sharedAuthority : nil, script: script,
            assemblyAI: .init(enforceRealTime: false, terminationDelay: .milliseconds(20)))
        configure(&configuration)
        return try TranscriptionEmulator(configuration: configuration)
    }

    static func configuration() -> StreamingTranscriber.Configuration {
        StreamingTranscriber.Configuration(
            tls: TLSConfiguration(additionalTrustRoots: [.file(sharedAuthority.caCertificatePath)]))
    }

    static func run(
        _ transcriber: StreamingTranscriber, audio: [UInt8], piece: Int = 3200,
        readerExecutor: (any TaskExecutor)? = nil
    ) async throws
        -> (events: [TranscriptEvent], summary: SessionSummary)
    {
        let collector = Task(executorPreference: readerExecutor) {
            var all: [TranscriptEvent] = []
            for await event in transcriber.events { all.append(event) }
            return all
        }
        let summary = try await withTimeout(.seconds(60)) {
            try await transcriber.start()
            var offset = 0
            while offset < audio.count {
                let end = min(audio.count, offset + piece)
                try await transcriber.send(audio: Array(audio[offset..<end]))
                offset = end
            }
            return try await transcriber.stop()
        }
        return (await collector.value, summary)
    }

    static func finals(_ events: [TranscriptEvent]) -> [Transcript] {
        events.compactMap { if case .final(let transcript) = $0 { transcript } else { nil } }
    }

    @Test(
        "AssemblyAI u3-rt-pro: the transcript equals the script, audio arrives intact, no violation",
        arguments: [false, true])
    func assemblyAIU3(secure: Bool) async throws {
        let emulator = try Self.emulator(secure: secure)
        defer { emulator.shutdown() }
        let options = AssemblyAI(
            credentials: .apiKey("emulator-key"), speechModel: .u3RealtimePro, endpoint: .custom(emulator.assemblyAIURL)
        )
        let transcriber = StreamingTranscriber(provider: .assemblyAI(options), configuration: Self.configuration())
        let audio = Self.audio(seconds: Self.script.duration + 1.5)
        let (events, summary) = try await Self.run(transcriber, audio: audio)
        let finals = Self.finals(events)
        #expect(finals.map(\.text).joined(separator: " ") == Self.script.transcript)
        #expect(finals.allSatisfy { $0.isEndOfTurn })
        #expect(Set(finals.map(\.turnOrder)).count == finals.count)
        #expect(summary.finalCount == finals.count)
        if case .terminated = events.last {
        } else {
            Issue.record("the last event is not terminated: \(String(describing: events.last))")
        }
        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(record.violations.isEmpty, "\(record.violations)")
        #expect(record.audio == audio)
        #expect(record.audioChunkSizes.dropLast().allSatisfy { $0 == 1600 })
        #expect(record.audioChunkSizes.last.map { (1600..<3200).contains($0) } == true)
        #expect(record.transcript == finals.map(\.text).joined(separator: " "))
    }

    @Test("AssemblyAI at 22 050 Hz: 50 ms is not a whole number of frames; chunks round up, never under 50 ms")
    func assemblyAIOddRate() async throws {
        let emulator = try Self.emulator(secure: false)
        defer { emulator.shutdown() }
        var options = AssemblyAI(
            credentials: .apiKey("emulator-key"), speechModel: .u3RealtimePro, endpoint: .custom(emulator.assemblyAIURL)
        )
        options.sampleRate = 22_050
        let transcriber = StreamingTranscriber(provider: .assemblyAI(options))
        let audio = [UInt8](repeating: 0, count: 44_100 * 2)  // 2 s
        let (events, _) = try await Self.run(transcriber, audio: audio, piece: 4410)
        #expect(!events.contains { if case .error = $0 { true } else { false } })
        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(record.violations.isEmpty, "\(record.violations)")
        #expect(record.audio == audio)
        #expect(record.audioChunkSizes.dropLast().allSatisfy { $0 == 2206 })  // 1103 frames: 50.02 ms
    }

    @Test("AssemblyAI: a stream shorter than 50 ms in all is padded with silence to 50 ms, not refused (3007)")
    func assemblyAIShortStream() async throws {
        let emulator = try Self.emulator(secure: false)
        defer { emulator.shutdown() }
        let options = AssemblyAI(
            credentials: .apiKey("emulator-key"), speechModel: .u3RealtimePro, endpoint: .custom(emulator.assemblyAIURL)
        )
        let transcriber = StreamingTranscriber(provider: .assemblyAI(options))
        let audio = [UInt8](repeating: 7, count: 640)  // 20 ms
        let (events, _) = try await Self.run(transcriber, audio: audio)
        #expect(!events.contains { if case .error = $0 { true } else { false } })
        if case .terminated = events.last {
        } else {
            Issue.record("the last event is not terminated: \(String(describing: events.last))")
        }
        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(record.violations.isEmpty, "\(record.violations)")
        #expect(record.audioChunkSizes == [1600])
        #expect(record.audio == audio + [UInt8](repeating: 0, count: 960))
    }

    @Test("AssemblyAI Universal-Streaming with format_turns: each turn final once, formatted")
    func assemblyAIFormatTurns() async throws {
        let emulator = try Self.emulator(secure: false)
        defer { emulator.shutdown() }
        var options = AssemblyAI(
            credentials: .apiKey("emulator-key"), speechModel: .universalStreamingEnglish,
            endpoint: .custom(emulator.assemblyAIURL))
        options.formatTurns = true
        options.keytermsPrompt = ["streaming", "C++ client"]
        let transcriber = StreamingTranscriber(provider: .assemblyAI(options))
        let (events, _) = try await Self.run(transcriber, audio: Self.audio(seconds: Self.script.duration + 2))
        let finals = Self.finals(events)
        #expect(finals.map(\.text) == Self.script.sentences)
        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(record.violations.isEmpty, "\(record.violations)")
        #expect(record.query.filter { $0.name == "keyterms_prompt" }.map(\.value) == [#"["streaming","C++ client"]"#])
    }

    @Test(
        "Speechmatics: the transcript equals the script; acknowledgements and EndOfStream are right",
        arguments: [false, true])
    func speechmatics(secure: Bool) async throws {
        let emulator = try Self.emulator(secure: secure)
        defer { emulator.shutdown() }
        var options = Speechmatics(credentials: .apiKey("emulator-key"), endpoint: .custom(emulator.speechmaticsURL))
        options.enablePartials = true
        options.maxDelay = 1.0
        options.conversationConfig = .init(endOfUtteranceSilenceTrigger: 0.5)
        let transcriber = StreamingTranscriber(provider: .speechmatics(options), configuration: Self.configuration())
        let audio = Self.audio(seconds: Self.script.duration + 1.5)
        let (events, summary) = try await Self.run(transcriber, audio: audio)
        let finals = Self.finals(events)
        #expect(finals.map(\.text).joined(separator: " ") == Self.script.transcript)
        #expect(finals.allSatisfy { !$0.text.isEmpty })
        #expect(events.contains { if case .endOfUtterance = $0 { true } else { false } })
        #expect(events.contains { if case .partial = $0 { true } else { false } })
        #expect(summary.finalCount == finals.count)
        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(record.violations.isEmpty, "\(record.violations)")
        #expect(record.audio == audio)
        #expect(
            record.textMessagesReceived.last
                == #"{"message":"EndOfStream","last_seq_no":\#(record.audioChunkSizes.count)}"#)
    }

    @Test("temporary tokens from both token endpoints open a session; a used token is refused")
    func temporaryTokens() async throws {
        let emulator = try Self.emulator(secure: true)
        defer { emulator.shutdown() }
        let tls = TLSConfiguration(additionalTrustRoots: [.file(sharedAuthority.caCertificatePath)])
        let token = try await withTimeout {
            try await AssemblyAI.createTemporaryToken(
                apiKey: "emulator-key", expiresIn: 60, url: emulator.assemblyAITokenURL, tls: tls)
        }
        let options = AssemblyAI(
            credentials: .temporaryToken(token), speechModel: .u3RealtimePro, endpoint: .custom(emulator.assemblyAIURL))
        let first = StreamingTranscriber(provider: .assemblyAI(options), configuration: Self.configuration())
        _ = try await Self.run(first, audio: Self.audio(seconds: 0.5))
        let second = StreamingTranscriber(provider: .assemblyAI(options), configuration: Self.configuration())
        let reuse = await transcriptionFailure { _ = try await second.start() }
        #expect(reuse?.code == .authenticationFailed)

        // The endpoint without `?type=rt` (its default type is batch): the client adds it.
        let tokenURL = String(emulator.speechmaticsTokenURL.dropLast("?type=rt".count))
        #expect(tokenURL.hasSuffix("/v1/api_keys"))
        let key = try await withTimeout {
            try await Speechmatics.createTemporaryKey(apiKey: "emulator-key", ttl: 60, url: tokenURL, tls: tls)
        }
        let speechmatics = Speechmatics(credentials: .temporaryToken(key), endpoint: .custom(emulator.speechmaticsURL))
        let session = StreamingTranscriber(provider: .speechmatics(speechmatics), configuration: Self.configuration())
        _ = try await Self.run(session, audio: Self.audio(seconds: 0.5))
        let records = await emulator.waitForSessions(count: 3)
        #expect(records.first?.query.first { $0.name == "token" }?.value != nil)

        let refused = await transcriptionFailure {
            _ = try await AssemblyAI.createTemporaryToken(
                apiKey: "wrong-key", url: emulator.assemblyAITokenURL, tls: tls)
        }
        #expect(refused?.code == .authenticationFailed && refused?.httpStatus == 401)
        let badTTL = await transcriptionFailure {
            _ = try await Speechmatics.createTemporaryKey(
                apiKey: "emulator-key", ttl: 30, url: emulator.speechmaticsTokenURL, tls: tls)
        }
        #expect(badTTL?.code == .invalidConfiguration)
    }

    @Test("a wrong key is refused the way each vendor does it")
    func wrongKey() async throws {
        let emulator = try Self.emulator(secure: false)
        defer { emulator.shutdown() }
        let assemblyAI = StreamingTranscriber(
            provider: .assemblyAI(
                AssemblyAI(
                    credentials: .apiKey("nope"), speechModel: .u3RealtimePro, endpoint: .custom(emulator.assemblyAIURL)
                )))
        let aaiError = try await withTimeout { await transcriptionFailure { _ = try await assemblyAI.start() } }
        #expect(aaiError?.code == .authenticationFailed && aaiError?.closeCode == 1008)
        let speechmatics = StreamingTranscriber(
            provider: .speechmatics(
                Speechmatics(credentials: .apiKey("nope"), endpoint: .custom(emulator.speechmaticsURL))))
        let smError = try await withTimeout { await transcriptionFailure { _ = try await speechmatics.start() } }
        #expect(smError?.code == .authenticationFailed && smError?.httpStatus == 401)
    }

    @Test("audio in another format is converted: 48 kHz stereo float reaches AssemblyAI as 16 kHz mono s16")
    func conversion() async throws {
        let emulator = try Self.emulator(secure: false)
        defer { emulator.shutdown() }
        let options = AssemblyAI(
            credentials: .apiKey("emulator-key"), speechModel: .u3RealtimePro, endpoint: .custom(emulator.assemblyAIURL)
        )
        let transcriber = StreamingTranscriber(provider: .assemblyAI(options))
        let input = AudioFormat.float32(sampleRate: 48000, channelCount: 2)
        let collector = Task { for await _ in transcriber.events {} }
        try await withTimeout {
            try await transcriber.start()
            for index in 0..<20 {  // 2 s in 100 ms buffers
                let samples = [Float](repeating: 0, count: 4800 * 2)
                try await transcriber.send(
                    AudioBuffer(format: input, floatSamples: samples, startFrame: Int64(index * 4800)))
            }
            _ = try await transcriber.stop()
        }
        await collector.value
        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(record.violations.isEmpty, "\(record.violations)")
        #expect(record.audio.count == 2 * 16000 * 2)  // exactly 2 s at 16 kHz s16 mono
    }

    @Test("50 concurrent sessions in one process, each with its whole transcript")
    func concurrentSessions() async throws {
        let emulator = try Self.emulator(secure: true)
        defer { emulator.shutdown() }
        let audio = Self.audio(seconds: Self.script.duration + 1.2)
        let transcripts = try await withTimeout(.seconds(120)) {
            try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<50 {
                    group.addTask {
                        let provider: StreamingTranscriber.Provider =
                            index.isMultiple(of: 2)
                            ? .assemblyAI(
                                AssemblyAI(
                                    credentials: .apiKey("emulator-key"), speechModel: .u3RealtimePro,
                                    endpoint: .custom(emulator.assemblyAIURL)))
                            : .speechmatics(
                                Speechmatics(
                                    credentials: .apiKey("emulator-key"), endpoint: .custom(emulator.speechmaticsURL)))
                        let transcriber = StreamingTranscriber(provider: provider, configuration: Self.configuration())
                        let (events, _) = try await Self.run(transcriber, audio: audio, piece: 16000)
                        return Self.finals(events).map(\.text).joined(separator: " ")
                    }
                }
                var all: [String] = []
                for try await text in group { all.append(text) }
                return all
            }
        }
        #expect(transcripts.count == 50)
        #expect(transcripts.allSatisfy { $0 == Self.script.transcript })
        let records = await emulator.waitForSessions(count: 50)
        #expect(records.allSatisfy { $0.violations.isEmpty })
    }

    @Test(
        "stampsTranscripts: every transcript carries a CLOCK_MONOTONIC send time before its delivery; off by default",
        arguments: [(EmulatorVendor.assemblyAI, true), (.speechmatics, true), (.assemblyAI, false)])
    func stampedTranscripts(vendor: EmulatorVendor, stamps: Bool) async throws {
        let emulator = try Self.emulator(secure: false) { $0.stampsTranscripts = stamps }
        defer { emulator.shutdown() }
        let provider: StreamingTranscriber.Provider
        switch vendor {
        case .assemblyAI:
            provider = .assemblyAI(
                AssemblyAI(
                    credentials: .apiKey("emulator-key"), speechModel: .u3RealtimePro,
                    endpoint: .custom(emulator.assemblyAIURL)))
        case .speechmatics:
            var options = Speechmatics(
                credentials: .apiKey("emulator-key"), endpoint: .custom(emulator.speechmaticsURL))
            options.enablePartials = true
            provider = .speechmatics(options)
        }
        let transcriber = StreamingTranscriber(
            provider: provider, configuration: .init(deliversRawMessages: true))
        let started = Self.monotonicNanoseconds()
        let collector = Task {
            var stamped: [(sent: UInt64?, received: UInt64)] = []
            var raw = (transcripts: 0, otherStamped: 0)
            for await event in transcriber.events {
                let received = Self.monotonicNanoseconds()
                switch event {
                case .partial(let transcript), .final(let transcript):
                    let stamp = try? transcript.raw?.decode(EmulatorStamp.self)
                    stamped.append((stamp?.sentAt.flatMap { UInt64($0) }, received))
                case .raw(let message) where ["Turn", "AddTranscript", "AddPartialTranscript"].contains(message.type):
                    raw.transcripts += 1
                case .raw(let message):
                    if (try? message.decode(EmulatorStamp.self))?.sentAt != nil { raw.otherStamped += 1 }
                default:
                    break
                }
            }
            return (stamped, raw)
        }
        let audio = Self.audio(seconds: Self.script.duration + 1.5)
        try await withTimeout(.seconds(60)) {
            try await transcriber.start()
            var offset = 0
            while offset < audio.count {
                let end = min(audio.count, offset + 3200)
                try await transcriber.send(audio: Array(audio[offset..<end]))
                offset = end
            }
            _ = try await transcriber.stop()
        }
        let (transcripts, raw) = await collector.value
        #expect(transcripts.count >= 3)
        if stamps {
            for (sent, received) in transcripts {
                let sent = try #require(sent, "a transcript without emulator_sent_at_ns")
                #expect(sent >= started && sent <= received)
            }
        } else {
            #expect(transcripts.allSatisfy { $0.sent == nil })
        }
        // Begin, SpeechStarted, RecognitionStarted, AudioAdded, Termination… are never stamped.
        #expect(raw.transcripts > 0)
        #expect(raw.otherStamped == 0)
        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(record.violations.isEmpty, "\(record.violations)")
        #expect(record.transcript == Self.script.transcript)
    }

    static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}

/// The emulator's send time on a transcript message (with `stampsTranscripts`), read from the raw
/// message with `Codable`.
struct EmulatorStamp: Decodable {
    let sentAt: String?

    enum CodingKeys: String, CodingKey {
        case sentAt = "emulator_sent_at_ns"
    }
}
