import StreamingSTT
import StreamingSTTSupport
import StreamingSTTTesting
import StreamingSTTWebSocket
import Testing

/// Sessions against small hand-scripted servers (independent of the emulator and of the client's
/// decoders): ordering, stop, timeouts, failures, flow control.
@Suite("StreamingTranscriber over scripted servers")
struct TranscriberSessionTests {
    static let begin = #"{"type":"Begin","id":"session-1","expires_at":1772570132}"#

    static func turn(_ order: Int, _ text: String, final: Bool) -> String {
        #"{"type":"Turn","turn_order":\#(order),"turn_is_formatted":\#(final),"end_of_turn":\#(final),"transcript":"\#(text)","end_of_turn_confidence":\#(final ? 1 : 0),"words":[{"start":100,"end":400,"text":"\#(text)","confidence":0.9,"word_is_final":\#(final)}]}"#
    }

    static func assemblyAI(_ server: TestWebSocketServer, key: String = "test-key") -> StreamingTranscriber.Provider {
        .assemblyAI(
            AssemblyAI(
                credentials: .apiKey(Secret(key)), speechModel: .u3RealtimePro,
                endpoint: .custom(server.url(path: "/v3/ws"))))
    }

    /// Collects every event until the sequence ends.
    static func collect(_ transcriber: StreamingTranscriber) -> Task<[TranscriptEvent], Never> {
        Task {
            var all: [TranscriptEvent] = []
            for await event in transcriber.events { all.append(event) }
            return all
        }
    }

    typealias Connection = TestWebSocketServer.Connection

    /// A scripted Speechmatics service: `started` answers StartRecognition, `audio` each chunk
    /// (with its sequence number), `ended` answers EndOfStream; by default at once with
    /// RecognitionStarted, AudioAdded and EndOfTranscript.
    static func speechmaticsServer(
        started: @escaping @Sendable (Connection) async throws -> Void = { try await recognitionStarted($0) },
        audio: @escaping @Sendable (Connection, Int) async throws -> Void = { try await acknowledge($1, on: $0) },
        ended: @escaping @Sendable (Connection) async throws -> Void = { try await endOfTranscript($0) }
    ) throws -> TestWebSocketServer {
        try TestWebSocketServer { connection in
            var sequence = 0
            for try await message in connection.messages {
                switch message {
                case .text(let text) where text.contains("StartRecognition"): try await started(connection)
                case .text(let text) where text.contains("EndOfStream"): try await ended(connection)
                case .binary:
                    sequence += 1
                    try await audio(connection, sequence)
                default: break
                }
            }
        }
    }

    static func recognitionStarted(_ connection: Connection) async throws {
        try await connection.send(.text(#"{"message":"RecognitionStarted","id":"scripted"}"#))
    }

    static func acknowledge(_ sequence: Int, on connection: Connection) async throws {
        try await connection.send(.text(#"{"message":"AudioAdded","seq_no":\#(sequence)}"#))
    }

    static func endOfTranscript(_ connection: Connection) async throws {
        try await connection.send(.text(#"{"message":"EndOfTranscript"}"#))
    }

    @Test("AssemblyAI: begin, partial, finals (including those after Terminate), terminated — in order")
    func assemblyAIHappyPath() async throws {
        let chunkSizes = LockedBox<[Int]>([])
        let texts = LockedBox<[String]>([])
        let server = try TestWebSocketServer { connection in
            try await connection.send(.text(Self.begin))
            var audio = 0
            var sentFirst = false
            for try await message in connection.messages {
                switch message {
                case .binary(let bytes):
                    chunkSizes.mutate { $0.append(bytes.count) }
                    audio += bytes.count
                    if audio >= 16000, !sentFirst {
                        sentFirst = true
                        try await connection.send(.text(Self.turn(0, "hello", final: false)))
                        try await connection.send(.text(Self.turn(0, "Hello.", final: true)))
                    }
                case .text(let text):
                    texts.mutate { $0.append(text) }
                    if text.contains("Terminate") {
                        try await connection.send(.text(Self.turn(1, "Goodbye.", final: true)))
                        try await connection.send(
                            .text(#"{"type":"Termination","audio_duration_seconds":1,"session_duration_seconds":2}"#))
                        await connection.close()
                    }
                }
            }
        }
        defer { server.shutdown() }
        let transcriber = StreamingTranscriber(provider: Self.assemblyAI(server))
        let events = Self.collect(transcriber)
        let summary = try await withTimeout {
            let info = try await transcriber.start()
            #expect(info.id == "session-1")
            // One second of 16 kHz s16le audio, in 100 ms pieces, plus a 10 ms tail.
            for _ in 0..<10 { try await transcriber.send(audio: [UInt8](repeating: 1, count: 3200)) }
            try await transcriber.send(audio: [UInt8](repeating: 1, count: 320))
            return try await transcriber.stop()
        }
        let all = await events.value
        let kinds = all.map { event -> String in
            switch event {
            case .begin: "begin"
            case .partial(let t): "partial:\(t.text)"
            case .final(let t): "final:\(t.text)"
            case .terminated: "terminated"
            default: "other"
            }
        }
        #expect(kinds == ["begin", "partial:hello", "final:Hello.", "final:Goodbye.", "terminated"])
        #expect(summary.audioDuration == 1 && summary.sessionDuration == 2 && summary.finalCount == 2)
        let sizes = chunkSizes.value
        #expect(sizes.dropLast().allSatisfy { $0 == 1600 })  // 50 ms chunks
        #expect(sizes.last == 1600 + 320)  // the 10 ms tail merged into the last chunk, never padded
        #expect(sizes.reduce(0, +) == 32320)
        #expect(texts.value == [#"{"type":"Terminate"}"#])
        let handshake = try #require(server.handshakes.first)
        #expect(handshake.header("authorization") == "test-key")
        #expect(handshake.queryValues("speech_model") == ["u3-rt-pro"])
    }

    @Test("AssemblyAI: Error then close before Begin fails start with the vendor's auth error, once")
    func closedBeforeBegin() async throws {
        let server = try TestWebSocketServer { connection in
            try await connection.send(
                .text(
                    #"{"type":"Error","error_code":1008,"error":"Unauthorized Connection: Missing Authorization header"}"#
                ))
            await connection.close(WebSocketCloseFrame(code: 1008, reason: "Unauthorized Connection"))
        }
        defer { server.shutdown() }
        let transcriber = StreamingTranscriber(provider: Self.assemblyAI(server))
        let events = Self.collect(transcriber)
        let error = await transcriptionFailure { _ = try await transcriber.start() }
        #expect(error?.code == .authenticationFailed)
        #expect(error?.vendorCode == "1008")
        #expect(!(error?.isRetryable ?? true))
        let all = try await withTimeout { await events.value }
        #expect(all.count == 1)
        #expect(all.first == .error(error!))
    }

    @Test("a server that never sends Begin: start times out, bounded")
    func neverBegins() async throws {
        let server = try TestWebSocketServer { connection in _ = await connection.closed() }
        defer { server.shutdown() }
        let transcriber = StreamingTranscriber(
            provider: Self.assemblyAI(server), configuration: .init(startTimeout: .milliseconds(300)))
        let clock = ContinuousClock()
        let start = clock.now
        let error = try await withTimeout { await transcriptionFailure { _ = try await transcriber.start() } }
        #expect(error?.code == .timeout)
        #expect(clock.now - start < .seconds(30))  // bounded, with room for a loaded machine
    }

    @Test("a server that never sends Termination: stop times out, and finals sent before are delivered")
    func neverTerminates() async throws {
        let server = try TestWebSocketServer { connection in
            try await connection.send(.text(Self.begin))
            for try await message in connection.messages {
                if case .text = message { try await connection.send(.text(Self.turn(0, "Last words.", final: true))) }
            }
        }
        defer { server.shutdown() }
        let transcriber = StreamingTranscriber(
            provider: Self.assemblyAI(server), configuration: .init(stopTimeout: .seconds(2)))
        let events = Self.collect(transcriber)
        let error = try await withTimeout { () async throws -> TranscriptionError? in
            try await transcriber.start()
            try await transcriber.send(audio: [UInt8](repeating: 0, count: 3200))
            return await transcriptionFailure { _ = try await transcriber.stop() }
        }
        #expect(error?.code == .timeout)
        let all = await events.value
        #expect(all.contains { if case .final(let t) = $0 { t.text == "Last words." } else { false } })
        #expect(all.last == .error(error!))
    }

    @Test("stop waits while the service works through audio sent faster than real time, finals arriving")
    func stopWaitsForBacklog() async throws {
        // After EndOfStream the service is still transcribing: silence for 1.5 s (3 s of audio
        // were sent, none transcribed yet), then a final every 0.6 s, EndOfTranscript 3.3 s after EndOfStream. stopTimeout is 2 s
        // (room for a sanitizer-slowed machine between finals; without the backlog rule it ends at 2 s).
        // The sleeps are the slow service under test, not waits for an event.
        let server = try Self.speechmaticsServer(ended: { connection in
            try await Task.sleep(for: .milliseconds(1500))
            for index in 0..<4 {
                if index > 0 { try await Task.sleep(for: .milliseconds(600)) }
                let start = Double(index) * 0.7
                try await connection.send(
                    .text(
                        #"{"message":"AddTranscript","results":[{"type":"word","start_time":\#(start),"end_time":\#(start + 0.5),"alternatives":[{"content":"word\#(index)","confidence":0.9}]}],"metadata":{"start_time":\#(start),"end_time":\#(start + 0.5),"transcript":"word\#(index) "}}"#
                    ))
            }
            try await Self.endOfTranscript(connection)
        })
        defer { server.shutdown() }
        let options = Speechmatics(credentials: .apiKey("sm-key"), endpoint: .custom(server.url(path: "/v2")))
        let transcriber = StreamingTranscriber(
            provider: .speechmatics(options), configuration: .init(stopTimeout: .seconds(2)))
        let events = Self.collect(transcriber)
        let summary = try await withTimeout {
            try await transcriber.start()
            try await transcriber.send(audio: [UInt8](repeating: 0, count: 96_000))
            return try await transcriber.stop()
        }
        #expect(summary.finalCount == 4)
        let finals = await events.value.compactMap { if case .final(let t) = $0 { t.text } else { nil } }
        #expect(finals == ["word0", "word1", "word2", "word3"])
    }

    @Test("AssemblyAI: forceEndOfTurn sends the audio held back for merging first, then ForceEndpoint")
    func forceEndOfTurnSendsHeldAudio() async throws {
        let log = LockedBox<[String]>([])
        let server = try TestWebSocketServer { connection in
            try await connection.send(.text(Self.begin))
            for try await message in connection.messages {
                switch message {
                case .binary(let bytes): log.mutate { $0.append("audio \(bytes.count)") }
                case .text(let text):
                    log.mutate { $0.append(text) }
                    if text.contains("Terminate") {
                        try await connection.send(
                            .text(#"{"type":"Termination","audio_duration_seconds":1,"session_duration_seconds":1}"#))
                        await connection.close()
                    }
                }
            }
        }
        defer { server.shutdown() }
        let transcriber = StreamingTranscriber(provider: Self.assemblyAI(server))
        try await withTimeout {
            try await transcriber.start()
            try await transcriber.send(audio: [UInt8](repeating: 0, count: 4800))  // 150 ms: three chunks
            try await transcriber.forceEndOfTurn()
            try await transcriber.send(audio: [UInt8](repeating: 0, count: 3200))
            _ = try await transcriber.stop()
        }
        #expect(
            log.value == [
                "audio 1600", "audio 1600", "audio 1600", #"{"type":"ForceEndpoint"}"#, "audio 1600", "audio 1600",
                #"{"type":"Terminate"}"#,
            ])
    }

    @Test("Speechmatics: audio sent while start() still waits for RecognitionStarted goes out after it")
    func speechmaticsSendDuringStart() async throws {
        let log = LockedBox<[String]>([])
        let started = LockedBox(false)
        let server = try Self.speechmaticsServer(
            started: { connection in
                // A slow start (the behaviour under test), while the server goes on reading: the
                // client's audio call is made meanwhile.
                Task {
                    try await Task.sleep(for: .milliseconds(300))
                    started.mutate { $0 = true }
                    try await Self.recognitionStarted(connection)
                }
            },
            audio: { connection, sequence in
                log.mutate { $0.append(started.value ? "audio" : "audio-too-early") }
                try await Self.acknowledge(sequence, on: connection)
            })
        defer { server.shutdown() }
        let options = Speechmatics(credentials: .apiKey("sm-key"), endpoint: .custom(server.url(path: "/v2")))
        let transcriber = StreamingTranscriber(provider: .speechmatics(options))
        try await withTimeout {
            let starting = Task { try await transcriber.start() }
            // Until start() has connected, send reports notStarted; from then on it must wait.
            while true {
                do {
                    try await transcriber.send(audio: [UInt8](repeating: 0, count: 3200))
                    break
                } catch let error as TranscriptionError where error.code == .notStarted {
                    await Task.yield()
                }
            }
            try await starting.value
            _ = try await transcriber.stop()
        }
        #expect(log.value == ["audio", "audio"])
    }

    @Test("Speechmatics: with a window of one chunk, never two unacknowledged")
    func speechmaticsWindowOfOne() async throws {
        let outstanding = LockedBox(0)
        let most = LockedBox(0)
        let server = try Self.speechmaticsServer(audio: { connection, sequence in
            let now = outstanding.mutate { value -> Int in
                value += 1
                return value
            }
            most.mutate { $0 = max($0, now) }
            // Acknowledged a little later (a slow service, the behaviour under test), while the
            // server goes on reading.
            Task {
                try await Task.sleep(for: .milliseconds(20))
                outstanding.mutate { $0 -= 1 }
                try await Self.acknowledge(sequence, on: connection)
            }
        })
        defer { server.shutdown() }
        var options = Speechmatics(credentials: .apiKey("sm-key"), endpoint: .custom(server.url(path: "/v2")))
        options.maxUnacknowledgedChunks = 1
        let transcriber = StreamingTranscriber(provider: .speechmatics(options))
        try await withTimeout {
            try await transcriber.start()
            try await transcriber.send(audio: [UInt8](repeating: 0, count: 16_000))  // 10 chunks
            _ = try await transcriber.stop()
        }
        #expect(most.value == 1)
    }

    @Test("a vendor error mid-stream arrives after every final sent before it")
    func errorMidStream() async throws {
        let server = try TestWebSocketServer { connection in
            try await connection.send(.text(Self.begin))
            for try await message in connection.messages {
                guard case .binary = message else { continue }
                try await connection.send(.text(Self.turn(0, "One.", final: true)))
                try await connection.send(.text(Self.turn(1, "Two.", final: true)))
                try await connection.send(
                    .text(#"{"type":"Error","error_code":3005,"error":"Session Cancelled: An error occurred"}"#))
                await connection.close(WebSocketCloseFrame(code: 3005, reason: "Session Cancelled"))
                return
            }
        }
        defer { server.shutdown() }
        let transcriber = StreamingTranscriber(provider: Self.assemblyAI(server))
        let events = Self.collect(transcriber)
        let sendFailure = try await withTimeout {
            try await transcriber.start()
            // The service fails the session at the first chunk: this send may see it already.
            return await transcriptionFailure { try await transcriber.send(audio: [UInt8](repeating: 0, count: 6400)) }
        }
        let all = try await withTimeout { await events.value }
        let finals = all.compactMap { if case .final(let t) = $0 { t.text } else { nil } }
        #expect(finals == ["One.", "Two."])
        guard case .error(let error) = all.last else { Issue.record("no error last"); return }
        #expect(error.code == .vendorError && error.vendorCode == "3005" && error.isRetryable)
        #expect(sendFailure == nil || sendFailure == error)
        #expect(all.filter { if case .error = $0 { true } else { false } }.count == 1)
        let later = await transcriptionFailure { try await transcriber.send(audio: [0, 0]) }
        #expect(later == error)
    }

    @Test("handshake rejections map to authentication and retryable server errors", arguments: [401, 403, 429, 500])
    func handshakeStatus(status: Int) async throws {
        let server = try TestWebSocketServer(handshakePolicy: .rejectAll(status: status))
        defer { server.shutdown() }
        let transcriber = StreamingTranscriber(provider: Self.assemblyAI(server))
        let error = try await withTimeout { await transcriptionFailure { _ = try await transcriber.start() } }
        #expect(error?.httpStatus == status)
        #expect(error?.code == (status == 401 || status == 403 ? .authenticationFailed : .handshakeRejected))
        #expect(error?.isRetryable == (status == 429 || status == 500))
    }

    @Test("TCP loss mid-stream: finals first, then connectionLost (retryable)")
    func connectionDrop() async throws {
        let server = try TestWebSocketServer { connection in
            try await connection.send(.text(Self.begin))
            for try await message in connection.messages {
                guard case .binary = message else { continue }
                try await connection.send(.text(Self.turn(0, "Before the drop.", final: true)))
                connection.dropConnection()
                return
            }
        }
        defer { server.shutdown() }
        let transcriber = StreamingTranscriber(provider: Self.assemblyAI(server))
        let events = Self.collect(transcriber)
        try await withTimeout {
            try await transcriber.start()
            // The server drops the connection after the first chunk: later sends may fail.
            try? await transcriber.send(audio: [UInt8](repeating: 0, count: 6400))
        }
        let all = try await withTimeout { await events.value }
        #expect(all.contains { if case .final(let t) = $0 { t.text == "Before the drop." } else { false } }, "\(all)")
        guard case .error(let error) = all.last else { Issue.record("no error"); return }
        #expect(error.code == .connectionLost && error.isRetryable)
    }

    @Test("cancel ends the session at once with a cancelled error; misuse is a typed error")
    func cancelAndMisuse() async throws {
        let server = try TestWebSocketServer { connection in
            try await connection.send(.text(Self.begin))
            _ = await connection.closed()
        }
        defer { server.shutdown() }
        let transcriber = StreamingTranscriber(provider: Self.assemblyAI(server))
        #expect(await transcriptionFailure { try await transcriber.send(audio: [0, 0]) }?.code == .notStarted)
        let events = Self.collect(transcriber)
        try await withTimeout { try await transcriber.start() }
        #expect(await transcriptionFailure { try await transcriber.start() }?.code == .alreadyStarted)
        await transcriber.cancel()
        let all = try await withTimeout { await events.value }
        guard case .error(let error) = all.last else { Issue.record("no error"); return }
        #expect(error.code == .cancelled)
    }

    @Test("invalid configuration is rejected before anything is sent")
    func invalidConfiguration() async throws {
        let server = try TestWebSocketServer()
        defer { server.shutdown() }
        var options = AssemblyAI(
            credentials: .apiKey("k"), speechModel: .u3RealtimePro, endpoint: .custom(server.url()))
        options.vadThreshold = 7
        let transcriber = StreamingTranscriber(provider: .assemblyAI(options))
        #expect(await transcriptionFailure { _ = try await transcriber.start() }?.code == .invalidConfiguration)
        #expect(server.handshakes.isEmpty)
    }

    @Test("Speechmatics: StartRecognition first, no audio before RecognitionStarted, last_seq_no = chunks sent")
    func speechmaticsOrder() async throws {
        let log = LockedBox<[String]>([])
        let server = try TestWebSocketServer { connection in
            var started = false
            var sequence = 0
            for try await message in connection.messages {
                switch message {
                case .text(let text):
                    log.mutate { $0.append(text) }
                    if text.contains("StartRecognition") {
                        try await connection.send(
                            .text(#"{"message":"Info","type":"concurrent_session_usage","reason":"1 of 2"}"#))
                        started = true
                        try await connection.send(
                            .text(
                                #"{"message":"RecognitionStarted","id":"sm-1","language_pack_info":{"word_delimiter":" "}}"#
                            ))
                    } else if text.contains("EndOfStream") {
                        try await connection.send(
                            .text(
                                #"{"message":"AddTranscript","results":[{"type":"word","start_time":0.1,"end_time":0.4,"alternatives":[{"content":"Hello","confidence":0.9}]},{"type":"punctuation","attaches_to":"previous","is_eos":true,"start_time":0.4,"end_time":0.4,"alternatives":[{"content":".","confidence":1}]}],"metadata":{"start_time":0.1,"end_time":0.4,"transcript":"Hello. "}}"#
                            ))
                        try await connection.send(.text(#"{"message":"EndOfTranscript"}"#))
                    }
                case .binary:
                    log.mutate { $0.append(started ? "audio" : "audio-too-early") }
                    sequence += 1
                    try await connection.send(.text(#"{"message":"AudioAdded","seq_no":\#(sequence)}"#))
                }
            }
        }
        defer { server.shutdown() }
        let options = Speechmatics(credentials: .apiKey("sm-key"), endpoint: .custom(server.url(path: "/v2")))
        let transcriber = StreamingTranscriber(provider: .speechmatics(options))
        let events = Self.collect(transcriber)
        let summary = try await withTimeout {
            try await transcriber.start()
            for _ in 0..<5 { try await transcriber.send(audio: [UInt8](repeating: 0, count: 3200)) }
            return try await transcriber.stop()
        }
        let entries = log.value
        #expect(entries.first?.hasPrefix(#"{"message":"StartRecognition""#) == true)
        #expect(!entries.contains("audio-too-early"))
        #expect(entries.filter { $0 == "audio" }.count == 10)
        #expect(entries.last == #"{"message":"EndOfStream","last_seq_no":10}"#)
        #expect(summary.finalCount == 1 && summary.sessionID == "sm-1")
        #expect(abs(summary.audioDuration - 0.5) < 1e-9)
        let all = await events.value
        #expect(all.contains { if case .final(let t) = $0 { t.text == "Hello." } else { false } })
        #expect(all.contains { if case .info(let n) = $0 { n.type == "concurrent_session_usage" } else { false } })
        #expect(server.handshakes.first?.header("authorization") == "Bearer sm-key")
    }

    @Test("Speechmatics: the sender waits when the window of unacknowledged chunks is full")
    func speechmaticsWindow() async throws {
        let release = Promise<Void>()
        let received = LockedBox(0)
        let atWindow = Promise<Int>()
        let server = try TestWebSocketServer { connection in
            var pending = 0
            for try await message in connection.messages {
                switch message {
                case .text(let text) where text.contains("StartRecognition"):
                    try await connection.send(.text(#"{"message":"RecognitionStarted","id":"w"}"#))
                case .text(let text) where text.contains("EndOfStream"):
                    try await connection.send(.text(#"{"message":"EndOfTranscript"}"#))
                case .binary:
                    let count = received.mutate { value -> Int in
                        value += 1
                        return value
                    }
                    pending += 1
                    if count == 4 {
                        atWindow.fulfill(count)
                        await release.value
                    }
                    if count >= 4 {
                        for _ in 0..<pending {
                            try await connection.send(
                                .text(#"{"message":"AudioAdded","seq_no":\#(count - pending + 1)}"#))
                            pending -= 1
                        }
                    }
                default: break
                }
            }
        }
        defer { server.shutdown() }
        var options = Speechmatics(credentials: .apiKey("k"), endpoint: .custom(server.url(path: "/v2")))
        options.maxUnacknowledgedChunks = 4
        let transcriber = StreamingTranscriber(provider: .speechmatics(options))
        try await withTimeout { try await transcriber.start() }
        let sender = Task {
            for _ in 0..<4 { try await transcriber.send(audio: [UInt8](repeating: 0, count: 3200)) }
        }
        _ = try await withTimeout { await atWindow.value }
        // Four chunks are out and unacknowledged: the sender must now be waiting, not sending.
        try await withTimeout { await transcriber.waitUntilBlockedOnAcknowledgements() }
        #expect(received.value == 4)
        release.fulfill(())
        try await withTimeout { try await sender.value }
        _ = try await withTimeout { try await transcriber.stop() }
        #expect(received.value == 8)  // 4 × 100 ms of audio in 50 ms chunks
    }
}

/// The error `body` throws, as a TranscriptionError.
func transcriptionFailure(_ body: () async throws -> Void) async -> TranscriptionError? {
    do {
        try await body()
        return nil
    } catch let error as TranscriptionError {
        return error
    } catch {
        return TranscriptionError(.protocolViolation, reason: "unexpected \(error)")
    }
}

/// A value behind a lock, for test servers.
final class LockedBox<Value: Sendable>: Sendable {
    private let state: LockedState<Value>
    init(_ value: Value) { state = LockedState(value) }
    var value: Value { state.withLock { $0 } }
    @discardableResult
    func mutate<Result>(_ body: (inout Value) -> Result) -> Result { state.withLock { body(&$0) } }
}
