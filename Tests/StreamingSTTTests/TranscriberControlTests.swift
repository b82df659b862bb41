import Logging
import StreamingSTT
import StreamingSTTTesting
import StreamingSTTWebSocket
import Testing

@Suite("StreamingTranscriber mid-session controls and secrets")
struct TranscriberControlTests {
    static let script = EmulatorScript(
        text: "We keep talking without a pause so the turn stays open for a long while.", startingAt: 0.1,
        wordDuration: 0.2, gap: 0.05)

    @Test("AssemblyAI: ForceEndpoint ends the turn at once; UpdateConfiguration and KeepAlive are accepted")
    func assemblyAIControls() async throws {
        let emulator = try TranscriptionEmulator(
            configuration: .init(
                script: Self.script, assemblyAI: .init(enforceRealTime: false, terminationDelay: .zero)))
        defer { emulator.shutdown() }
        var options = AssemblyAI(
            credentials: .apiKey("emulator-key"), speechModel: .u3RealtimePro, endpoint: .custom(emulator.assemblyAIURL)
        )
        options.inactivityTimeout = 30
        let transcriber = StreamingTranscriber(provider: .assemblyAI(options))
        let collector = Task {
            var all: [TranscriptEvent] = []
            for await event in transcriber.events { all.append(event) }
            return all
        }
        try await withTimeout {
            try await transcriber.start()
            try await transcriber.send(audio: [UInt8](repeating: 0, count: 32000))  // 1 s: mid-sentence
            var update = ConfigurationUpdate()
            update.maxTurnSilence = 800
            update.keytermsPrompt = ["pause"]
            try await transcriber.updateConfiguration(update)
            try await transcriber.keepAlive()
            try await transcriber.forceEndOfTurn()
            try await transcriber.send(audio: [UInt8](repeating: 0, count: 32000 * 4))
            _ = try await transcriber.stop()
        }
        let events = await collector.value
        let finals = events.compactMap { if case .final(let t) = $0 { t } else { nil } }
        #expect(finals.count >= 2, "the forced end of turn splits the sentence")
        #expect(
            finals.map(\.text).joined(separator: " ").replacing(".", with: "").lowercased()
                == Self.script.transcript.replacing(".", with: "").lowercased())
        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(record.violations.isEmpty, "\(record.violations)")
        #expect(
            record.textMessagesReceived == [
                #"{"type":"UpdateConfiguration","max_turn_silence":800,"keyterms_prompt":["pause"]}"#,
                #"{"type":"KeepAlive"}"#, #"{"type":"ForceEndpoint"}"#, #"{"type":"Terminate"}"#,
            ])
    }

    @Test(
        "Speechmatics: ForceEndOfUtterance gives a forced final and end of utterance; SetRecognitionConfig is accepted")
    func speechmaticsControls() async throws {
        let emulator = try TranscriptionEmulator(configuration: .init(script: Self.script))
        defer { emulator.shutdown() }
        var options = Speechmatics(credentials: .apiKey("emulator-key"), endpoint: .custom(emulator.speechmaticsURL))
        options.conversationConfig = .init(endOfUtteranceSilenceTrigger: 0.5)
        let transcriber = StreamingTranscriber(provider: .speechmatics(options))
        let collector = Task {
            var all: [TranscriptEvent] = []
            for await event in transcriber.events { all.append(event) }
            return all
        }
        try await withTimeout {
            try await transcriber.start()
            try await transcriber.send(audio: [UInt8](repeating: 0, count: 32000))
            var update = ConfigurationUpdate()
            update.maxDelay = 2
            update.enablePartials = true
            try await transcriber.updateConfiguration(update)
            try await transcriber.forceEndOfTurn()
            try await transcriber.send(audio: [UInt8](repeating: 0, count: 32000 * 4))
            _ = try await transcriber.stop()
        }
        let events = await collector.value
        #expect(events.contains { if case .endOfUtterance(let mark) = $0 { mark.isForced } else { false } })
        #expect(events.contains { if case .final(let t) = $0 { t.isForced } else { false } })
        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(record.violations.isEmpty, "\(record.violations)")
        #expect(record.textMessagesReceived.contains { $0.hasPrefix(#"{"message":"SetRecognitionConfig""#) })
        #expect(
            record.textMessagesReceived.contains { $0.hasPrefix(#"{"message":"ForceEndOfUtterance","timestamp":1"#) })
    }

    @Test("a whole session logged at trace level shows neither the API key nor the token")
    func noSecretsInLogs() async throws {
        let key = "sk-live-abcdef0123456789abcdef"
        let emulator = try TranscriptionEmulator(
            configuration: .init(
                apiKeys: [key], script: Self.script, assemblyAI: .init(enforceRealTime: false, terminationDelay: .zero))
        )
        defer { emulator.shutdown() }
        let (logger, logs) = RecordingLogHandler.logger()
        let loop = try WebSocketEventLoop(logger: logger)
        defer { loop.shutdown() }
        let token = try await withTimeout {
            try await AssemblyAI.createTemporaryToken(
                apiKey: Secret(key), url: emulator.assemblyAITokenURL, eventLoop: loop)
        }
        var texts: [String] = []
        for credentials in [Credentials.apiKey(Secret(key)), .temporaryToken(token)] {
            let transcriber = StreamingTranscriber(
                provider: .assemblyAI(
                    AssemblyAI(
                        credentials: credentials, speechModel: .u3RealtimePro, endpoint: .custom(emulator.assemblyAIURL)
                    )),
                configuration: .init(eventLoop: loop), logger: logger)
            let collector = Task {
                var all: [String] = []
                for await event in transcriber.events { all.append("\(event)") }
                return all
            }
            try await withTimeout {
                try await transcriber.start()
                try await transcriber.send(audio: [UInt8](repeating: 0, count: 16000))
                _ = try await transcriber.stop()
            }
            texts += await collector.value
            texts.append("\(transcriber.provider)")
        }
        // A refused session too: its error must not carry the key.
        let refused = StreamingTranscriber(
            provider: .speechmatics(
                Speechmatics(credentials: .apiKey(Secret(key + "x")), endpoint: .custom(emulator.speechmaticsURL))),
            configuration: .init(eventLoop: loop), logger: logger)
        let error = await transcriptionFailure { _ = try await refused.start() }
        texts.append(String(describing: error))
        texts.append(String(reflecting: error))
        texts += logs.all
        #expect(logs.all.count > 5)
        for text in texts {
            #expect(!text.contains(key), "\(text)")
            #expect(!text.contains(token.revealedValue), "\(text)")
        }
        let records = await emulator.waitForSessions(count: 3)
        for record in records {
            for header in record.headers { #expect(!header.value.contains(key)) }
        }
    }
}
