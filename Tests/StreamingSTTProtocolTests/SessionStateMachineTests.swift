import Foundation
import Testing

@testable import StreamingSTTProtocol

/// Each vendor's session machine, without sockets: the same lifecycle rules table-driven over both
/// vendors, then each vendor's own messages and error mapping.
@Suite("Session state machines")
struct SessionStateMachineTests {
    /// One vendor's messages, for the table-driven lifecycle tests.
    struct Dialect: Sendable, CustomStringConvertible {
        let name: String
        let make: @Sendable () -> SessionStateMachine
        /// What the machine sends when the connection opens.
        let opening: [String]
        /// The service's message that starts the session.
        let started: String
        /// A final transcript message whose text is "hello world" (ending at 1.2 s).
        let final: String
        /// The service's last message.
        let last: String
        /// The end message after `chunks` audio messages.
        let endMessage: @Sendable (_ chunks: Int) -> String
        /// A message that reports an error mid-stream.
        let error: String

        var description: String { name }
    }

    static let assemblyAI = Dialect(
        name: "AssemblyAI",
        make: { AssemblyAI(credentials: .apiKey("k"), speechModel: .u3RealtimePro).makeSession() },
        opening: [],
        started: #"{"type":"Begin","id":"s-1","expires_at":1772570132}"#,
        final:
            #"{"type":"Turn","turn_order":0,"end_of_turn":true,"turn_is_formatted":true,"transcript":"hello world","words":[{"text":"hello","start":200,"end":600,"confidence":0.9},{"text":"world","start":700,"end":1200,"confidence":0.9}]}"#,
        last: #"{"type":"Termination","audio_duration_seconds":2,"session_duration_seconds":3}"#,
        endMessage: { _ in #"{"type":"Terminate"}"# },
        error: #"{"type":"Error","error_code":3005,"error":"Session Cancelled: An error occurred"}"#)

    static let speechmatics = Dialect(
        name: "Speechmatics",
        make: {
            var options = Speechmatics(credentials: .apiKey("k"), language: "en")
            options.maxUnacknowledgedChunks = 4
            return options.makeSession()
        },
        opening: [
            #"{"message":"StartRecognition","audio_format":{"type":"raw","encoding":"pcm_s16le","sample_rate":16000},"transcription_config":{"language":"en"}}"#
        ],
        started: #"{"message":"RecognitionStarted","id":"s-1","language_pack_info":{"word_delimiter":" "}}"#,
        final:
            #"{"message":"AddTranscript","metadata":{"transcript":"hello world","start_time":0.2,"end_time":1.2},"results":[{"type":"word","start_time":0.2,"end_time":0.6,"alternatives":[{"content":"hello","confidence":0.9}]},{"type":"word","start_time":0.7,"end_time":1.2,"alternatives":[{"content":"world","confidence":0.9}]}]}"#,
        last: #"{"message":"EndOfTranscript"}"#,
        endMessage: { #"{"message":"EndOfStream","last_seq_no":\#($0)}"# },
        error: #"{"message":"Error","type":"job_error","reason":"the job failed"}"#)

    static let dialects = [assemblyAI, speechmatics]

    /// A machine that has started and sent `chunks` chunks of 3 200 bytes (100 ms).
    func streaming(_ dialect: Dialect, chunks: Int = 0) -> SessionStateMachine {
        var machine = dialect.make()
        _ = machine.connected()
        _ = machine.received(dialect.started)
        for _ in 0..<chunks {
            machine.acknowledged(through: machine.chunksSent)
            machine.audioSent(byteCount: 3200)
        }
        return machine
    }

    static func texts(_ actions: [SessionAction]) -> [String] {
        actions.compactMap { if case .sendText(let text) = $0 { text } else { nil } }
    }

    static func finals(_ actions: [SessionAction]) -> [String] {
        actions.compactMap { if case .deliver(.final(let transcript)) = $0 { transcript.text } else { nil } }
    }

    static func failure(_ actions: [SessionAction]) -> TranscriptionError? {
        actions.lazy.compactMap { if case .failed(let error) = $0 { error } else { nil } }.first
    }

    // MARK: - The lifecycle, for every vendor

    @Test("start → begin: the opening messages, then started and begin", arguments: dialects)
    func start(dialect: Dialect) throws {
        var machine = dialect.make()
        #expect(machine.phase == .connecting)
        #expect(Self.texts(machine.connected()) == dialect.opening)
        #expect(machine.phase == .starting)
        #expect(machine.connected().isEmpty)  // once
        let actions = machine.received(dialect.started)
        guard case .started(let info) = try #require(actions.first) else {
            Issue.record("not started: \(actions)")
            return
        }
        #expect(info.id == "s-1")
        #expect(actions.dropFirst().first == .deliver(.begin(info)))
        #expect(machine.phase == .streaming)
        #expect(machine.info == info)
        // A second start message changes nothing.
        #expect(!machine.received(dialect.started).contains { if case .started = $0 { true } else { false } })
    }

    @Test("audio before the session started is refused", arguments: dialects)
    func audioBeforeBegin(dialect: Dialect) {
        var machine = dialect.make()
        guard case .refuse(let error) = machine.prepareAudio() else {
            Issue.record("audio accepted before connecting")
            return
        }
        #expect(error.code == .notStarted)
        _ = machine.connected()
        guard case .refuse(let later) = machine.prepareAudio() else {
            Issue.record("audio accepted before the service started the session")
            return
        }
        #expect(later.code == .notStarted)
        _ = machine.received(dialect.started)
        #expect(machine.prepareAudio() == .send)
    }

    @Test("stop → end message → last final → finished, with what the service reported", arguments: dialects)
    func gracefulEnd(dialect: Dialect) {
        var machine = streaming(dialect, chunks: 3)
        #expect(Self.texts(machine.endOfAudio()) == [dialect.endMessage(3)])
        #expect(machine.phase == .ending && machine.endMessageSent)
        #expect(machine.endOfAudio().isEmpty)  // once
        guard case .refuse = machine.prepareAudio() else {
            Issue.record("audio accepted after the end message")
            return
        }
        #expect(Self.finals(machine.received(dialect.final)) == ["hello world"])
        #expect(machine.transcribedUntil == 1.2 && machine.producedTranscript)
        let last = machine.received(dialect.last)
        guard case .finished(let end) = last.last else {
            Issue.record("not finished: \(last)")
            return
        }
        #expect(end.raw?.type == (dialect.name == "AssemblyAI" ? "Termination" : "EndOfTranscript"))
        #expect(machine.isEnded)
        // Nothing after the end: a late final is not delivered.
        #expect(machine.received(dialect.final).isEmpty)
        #expect(machine.closed(code: 1000, reason: "").isEmpty)
    }

    @Test("a normal close after the end message finishes the session; before it, it fails", arguments: dialects)
    func closeAfterEnd(dialect: Dialect) throws {
        var ended = streaming(dialect, chunks: 1)
        _ = ended.endOfAudio()
        #expect(ended.closed(code: 1000, reason: "") == [.finished(SessionEnd())])
        var early = streaming(dialect, chunks: 1)
        let error = try #require(Self.failure(early.closed(code: 1000, reason: "")))
        #expect(error.code == .serverClosed && error.isRetryable && error.closeCode == 1000)
    }

    @Test("an error message fails the session; nothing is delivered after it", arguments: dialects)
    func errorMessage(dialect: Dialect) throws {
        var machine = streaming(dialect)
        let error = try #require(Self.failure(machine.received(dialect.error)))
        #expect(error.code == .vendorError && error.isRetryable)
        #expect(machine.isEnded && machine.failure == error)
        #expect(machine.received(dialect.final).isEmpty)
        #expect(machine.closed(code: 1011, reason: "").isEmpty)
        guard case .refuse(let refusal) = machine.prepareAudio() else {
            Issue.record("audio accepted after a failure")
            return
        }
        #expect(refusal == error)
    }

    @Test("a broken connection fails the session with the transport's error", arguments: dialects)
    func connectionFailed(dialect: Dialect) {
        var machine = streaming(dialect)
        let lost = TranscriptionError(.connectionLost, provider: machine.provider, reason: "reset", isRetryable: true)
        #expect(machine.connectionFailed(lost) == [.failed(lost)])
        #expect(machine.connectionFailed(lost).isEmpty)
    }

    @Test("a session that never starts times out; one that started does not", arguments: dialects)
    func startTimeout(dialect: Dialect) throws {
        var silent = dialect.make()
        _ = silent.connected()
        let error = try #require(Self.failure(silent.startTimedOut(after: .seconds(20))))
        #expect(error.code == .timeout && error.isRetryable)
        var started = streaming(dialect)
        #expect(started.startTimedOut(after: .seconds(20)).isEmpty)
    }

    @Test("a final is never delivered twice", arguments: dialects)
    func finalOnce(dialect: Dialect) {
        var machine = streaming(dialect)
        #expect(Self.finals(machine.received(dialect.final)) == ["hello world"])
        _ = machine.endOfAudio()
        _ = machine.received(dialect.last)
        #expect(Self.finals(machine.received(dialect.final)).isEmpty)
    }

    // MARK: - The acknowledgement window (Speechmatics)

    @Test("the window fills, the sender waits for half of it, and it drains")
    func acknowledgementWindow() {
        var machine = streaming(Self.speechmatics)
        for _ in 0..<4 {
            #expect(machine.prepareAudio() == .send)
            machine.audioSent(byteCount: 3200)
        }
        // Four unacknowledged (the window): wait until half of it is free, not for each one.
        #expect(machine.prepareAudio() == .waitForAcknowledgements(through: 2))
        // An AudioAdded read by the decoder counts too.
        #expect(machine.received(#"{"message":"AudioAdded","seq_no":2}"#).isEmpty)
        #expect(machine.chunksAcknowledged == 2)
        #expect(machine.prepareAudio() == .send)
        machine.audioSent(byteCount: 3200)
        machine.audioSent(byteCount: 3200)
        #expect(machine.prepareAudio() == .waitForAcknowledgements(through: 4))
        machine.acknowledged(through: 1)  // never lowers
        #expect(machine.chunksAcknowledged == 2)
        let error = Self.failure(machine.acknowledgementsTimedOut(after: .seconds(120)))
        #expect(error?.code == .timeout && error?.isRetryable == true)
        #expect(error?.reason == "no AudioAdded acknowledgement within 120.0 seconds")
    }

    @Test("a window of one lets one chunk wait, never two")
    func windowOfOne() {
        var options = Speechmatics(credentials: .apiKey("k"))
        options.maxUnacknowledgedChunks = 1
        var machine = options.makeSession()
        _ = machine.connected()
        _ = machine.received(Self.speechmatics.started)
        #expect(machine.prepareAudio() == .send)
        machine.audioSent(byteCount: 10)
        #expect(machine.prepareAudio() == .waitForAcknowledgements(through: 1))
    }

    @Test("AssemblyAI acknowledges nothing: audio always goes")
    func noWindow() {
        var machine = streaming(Self.assemblyAI, chunks: 10_000)
        #expect(machine.prepareAudio() == .send)
        #expect(machine.secondsSent == 1000)
    }

    // MARK: - Control messages

    @Test("forcing the end of a turn: ForceEndpoint, or ForceEndOfUtterance at the audio time sent")
    func forceEndOfTurn() {
        #expect(Self.texts(streaming(Self.assemblyAI, chunks: 5).forceEndOfTurn()) == [#"{"type":"ForceEndpoint"}"#])
        #expect(
            Self.texts(streaming(Self.speechmatics, chunks: 5).forceEndOfTurn()) == [
                #"{"message":"ForceEndOfUtterance","timestamp":0.5}"#
            ])
        #expect(Self.assemblyAI.make().forceEndOfTurn().isEmpty)  // not started
    }

    @Test("keep-alive: AssemblyAI KeepAlive, nothing for Speechmatics")
    func keepAlive() {
        #expect(Self.texts(streaming(Self.assemblyAI).keepAlive()) == [#"{"type":"KeepAlive"}"#])
        #expect(streaming(Self.speechmatics).keepAlive().isEmpty)
    }

    @Test("configuration updates: each vendor's message; the other vendor's fields refused")
    func updates() throws {
        var update = ConfigurationUpdate()
        update.maxTurnSilence = 800
        var assemblyAI = streaming(Self.assemblyAI)
        #expect(
            Self.texts(try assemblyAI.update(update)) == [#"{"type":"UpdateConfiguration","max_turn_silence":800}"#])
        var speechmatics = streaming(Self.speechmatics)
        #expect(throws: TranscriptionError.self) { try speechmatics.update(update) }
        var delay = ConfigurationUpdate()
        delay.maxDelay = 1.5
        #expect(
            Self.texts(try speechmatics.update(delay)) == [
                #"{"message":"SetRecognitionConfig","transcription_config":{"language":"en","max_delay":1.5}}"#
            ])
        #expect(throws: TranscriptionError.self) { try assemblyAI.update(delay) }
    }

    @Test("AssemblyAI format_turns turned on mid-session: the formatted end-of-turn message is the final")
    func formatTurnsUpdate() throws {
        var machine = AssemblyAI(credentials: .apiKey("k"), speechModel: .universalStreamingEnglish).makeSession()
        _ = machine.connected()
        _ = machine.received(Self.assemblyAI.started)
        var update = ConfigurationUpdate()
        update.formatTurns = true
        _ = try machine.update(update)
        let unformatted = machine.received(
            #"{"type":"Turn","turn_order":0,"end_of_turn":true,"turn_is_formatted":false,"transcript":"hi there","words":[]}"#
        )
        #expect(Self.finals(unformatted).isEmpty)
        let formatted = machine.received(
            #"{"type":"Turn","turn_order":0,"end_of_turn":true,"turn_is_formatted":true,"transcript":"Hi there.","words":[]}"#
        )
        #expect(Self.finals(formatted) == ["Hi there."])
    }

    @Test("an unformatted end of turn still pending when the connection breaks is delivered first")
    func flushOnFailure() {
        var options = AssemblyAI(credentials: .apiKey("k"), speechModel: .universalStreamingEnglish)
        options.formatTurns = true
        var machine = options.makeSession()
        _ = machine.connected()
        _ = machine.received(Self.assemblyAI.started)
        _ = machine.received(
            #"{"type":"Turn","turn_order":0,"end_of_turn":true,"turn_is_formatted":false,"transcript":"hi there","words":[]}"#
        )
        let lost = TranscriptionError(.connectionLost, provider: .assemblyAI, isRetryable: true)
        let actions = machine.connectionFailed(lost)
        #expect(Self.finals(actions) == ["hi there"])
        #expect(actions.last == .failed(lost))
    }

    // MARK: - Errors and close codes

    /// An AssemblyAI error code (as an `Error` message and as a close code) and what it becomes.
    struct AssemblyAIError: Sendable, CustomStringConvertible {
        let code: Int
        let text: String
        let kind: TranscriptionError.Code
        let retryable: Bool
        var description: String { "\(code) \(text)" }
    }

    static let assemblyAIErrors: [AssemblyAIError] = [
        .init(code: 1008, text: "Unauthorized connection", kind: .authenticationFailed, retryable: false),
        .init(code: 1008, text: "Too many concurrent sessions", kind: .vendorError, retryable: true),
        .init(code: 3005, text: "Session Cancelled: An error occurred", kind: .vendorError, retryable: true),
        .init(code: 3006, text: "Invalid Message Type", kind: .vendorError, retryable: false),
        .init(code: 3007, text: "Input duration violation", kind: .vendorError, retryable: false),
        .init(code: 3008, text: "Session Expired", kind: .vendorError, retryable: true),
        .init(code: 3009, text: "Too many concurrent sessions", kind: .vendorError, retryable: true),
        .init(code: 1011, text: "internal", kind: .vendorError, retryable: true),
        .init(code: 4001, text: "Not Authorized", kind: .authenticationFailed, retryable: false),
        .init(code: 4002, text: "Insufficient Funds", kind: .authenticationFailed, retryable: false),
        .init(code: 4008, text: "Session Expired", kind: .vendorError, retryable: true),
        .init(code: 4999, text: "something new", kind: .vendorError, retryable: false),
    ]

    @Test("AssemblyAI error messages → the documented error and retry advice", arguments: assemblyAIErrors)
    func assemblyAIErrorMessage(expected: AssemblyAIError) throws {
        var machine = streaming(Self.assemblyAI)
        let error = try #require(
            Self.failure(
                machine.received(#"{"type":"Error","error_code":\#(expected.code),"error":"\#(expected.text)"}"#)))
        #expect(error.code == expected.kind)
        #expect(error.isRetryable == expected.retryable)
        #expect(error.vendorCode == String(expected.code))
        #expect(error.reason == expected.text)
    }

    @Test("AssemblyAI close codes without an Error message", arguments: assemblyAIErrors)
    func assemblyAICloseCode(expected: AssemblyAIError) throws {
        var machine = streaming(Self.assemblyAI)
        let error = try #require(Self.failure(machine.closed(code: UInt16(expected.code), reason: expected.text)))
        // A close without an Error message is the server closing, not a vendor error message.
        #expect(error.code == (expected.kind == .vendorError ? .serverClosed : expected.kind))
        #expect(error.isRetryable == expected.retryable)
        #expect(error.closeCode == UInt16(expected.code))
    }

    /// A Speechmatics error type and close code, and what it becomes.
    struct SpeechmaticsError: Sendable, CustomStringConvertible {
        let type: String
        let close: UInt16
        let kind: TranscriptionError.Code
        let retryable: Bool
        let retryDelay: Duration?
        var description: String { "\(type) (\(close))" }
    }

    static let speechmaticsErrors: [SpeechmaticsError] = [
        .init(type: "not_authorised", close: 4001, kind: .authenticationFailed, retryable: false, retryDelay: nil),
        .init(type: "not_allowed", close: 4003, kind: .vendorError, retryable: false, retryDelay: nil),
        .init(type: "invalid_model", close: 4004, kind: .vendorError, retryable: false, retryDelay: nil),
        .init(type: "quota_exceeded", close: 4005, kind: .vendorError, retryable: true, retryDelay: .seconds(5)),
        .init(type: "timelimit_exceeded", close: 4006, kind: .vendorError, retryable: false, retryDelay: nil),
        .init(type: "job_error", close: 4013, kind: .vendorError, retryable: true, retryDelay: .seconds(5)),
        .init(type: "internal_error", close: 1011, kind: .vendorError, retryable: true, retryDelay: .seconds(5)),
        .init(type: "protocol_error", close: 1003, kind: .vendorError, retryable: false, retryDelay: nil),
        .init(type: "policy_violation", close: 1008, kind: .vendorError, retryable: false, retryDelay: nil),
    ]

    @Test("Speechmatics errors → the documented error, retry advice and retry interval", arguments: speechmaticsErrors)
    func speechmaticsError(expected: SpeechmaticsError) throws {
        var byMessage = streaming(Self.speechmatics)
        let error = try #require(
            Self.failure(byMessage.received(#"{"message":"Error","type":"\#(expected.type)","reason":"why"}"#)))
        #expect(error.code == expected.kind)
        #expect(error.vendorCode == expected.type && error.reason == "why")
        #expect(error.isRetryable == expected.retryable)
        #expect(error.minimumRetryDelay == expected.retryDelay)
        var byClose = streaming(Self.speechmatics)
        let closed = try #require(Self.failure(byClose.closed(code: expected.close, reason: "")))
        #expect(closed.code == (expected.kind == .vendorError ? .serverClosed : expected.kind))
        #expect(closed.vendorCode == expected.type)
        #expect(closed.isRetryable == expected.retryable)
        #expect(closed.closeCode == expected.close)
    }

    @Test(
        "the WebSocket's transient closes are retryable for both vendors", arguments: dialects,
        [1001, 1005, 1012, 1013, 1014] as [UInt16])
    func transientCloses(dialect: Dialect, code: UInt16) throws {
        var machine = streaming(dialect)
        let error = try #require(Self.failure(machine.closed(code: code, reason: "")))
        #expect(error.isRetryable)
    }
}

extension TranscriptionVendor {
    /// A session machine with the defaults.
    func makeSession() -> SessionStateMachine {
        makeSession(deliversRawMessages: false, configurationUpdates: [])
    }
}
