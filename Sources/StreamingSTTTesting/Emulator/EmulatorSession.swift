import StreamingSTTSupport
import StreamingSTTWebSocket

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Something that happened to a session, consumed in order by the session's loop.
enum SessionEvent: Sendable {
    /// A text message and when it was read.
    case text(String, ContinuousClock.Instant)
    /// A binary message and when it was read.
    case binary([UInt8], ContinuousClock.Instant)
    /// The connection ended (the message sequence finished).
    case closed
    /// A periodic wake-up for deadlines.
    case tick
}

/// A session's events, in order: what the connection read, through a bounded queue whose reader
/// waits while it is full (so the emulator stops reading and the client sees backpressure), and
/// ticks, at most one waiting at a time.
struct SessionEvents: Sendable {
    /// The events; the reader appends with ``HandOffQueue/appendWaiting(_:)``, ticks and the end
    /// of the connection go in without waiting.
    let queue: HandOffQueue<SessionEvent, Never>
    /// A tick is queued or on its way to the session loop.
    private let tickPending = LockedState(false)

    init(capacity: Int) {
        queue = HandOffQueue(capacity: capacity, whenFull: .producerWaits)
    }

    /// The next event; `nil` once the queue is stopped, or when the session's task is cancelled
    /// with nothing queued.
    func next() async -> SessionEvent? {
        switch await queue.next() {
        case .element(let event):
            // A tick arriving between the take and this is dropped: the loop is about to handle
            // this one, which is later.
            if case .tick = event { tickPending.withLock { $0 = false } }
            return event
        case .end, .cancelled, .busy:
            return nil
        }
    }

    /// Adds a tick, unless one is waiting already.
    func tick() {
        let first = tickPending.withLock { pending in
            defer { pending = true }
            return !pending
        }
        if first { queue.append(.tick) }
    }
}

/// Records one session; shared between the emulator (which lists it) and the session.
final class SessionRecorder: Sendable {
    private let state: LockedState<EmulatorSessionRecord>
    private let maxAudioBytes: Int
    private let maxMessages: Int

    init(record: EmulatorSessionRecord, maxAudioBytes: Int, maxMessages: Int) {
        state = LockedState(record)
        self.maxAudioBytes = maxAudioBytes
        self.maxMessages = maxMessages
    }

    var snapshot: EmulatorSessionRecord { state.withLock { $0 } }
    var ended: Bool { state.withLock { $0.ended } }

    func update(_ body: (inout EmulatorSessionRecord) -> Void) { state.withLock { body(&$0) } }

    func received(text: String) {
        state.withLock { record in
            if record.textMessagesReceived.count < maxMessages { record.textMessagesReceived.append(text) }
        }
    }

    func received(audio: [UInt8]) {
        state.withLock { record in
            record.audioByteCount += audio.count
            if record.audio.count + audio.count <= maxAudioBytes { record.audio += audio }
            if record.audioChunkSizes.count < maxMessages { record.audioChunkSizes.append(audio.count) }
        }
    }

    func sent(_ text: String, final: String?) {
        state.withLock { record in
            if record.messagesSent.count < maxMessages { record.messagesSent.append(text) }
            if let final, record.finalTranscripts.count < maxMessages { record.finalTranscripts.append(final) }
        }
    }

    func violation(_ text: String) { state.withLock { $0.violations.append(text) } }
    func note(_ text: String) {
        state.withLock { record in if record.notes.count < 1000 { record.notes.append(text) } }
    }
}

/// What every vendor session shares: the connection, the recorder, the fault list, sending
/// with the `delayReplies` fault, and closing.
final class SessionIO: Sendable {
    let connection: TestWebSocketServer.Connection
    let recorder: SessionRecorder
    let faults: [EmulatorFault]
    let replyDelay: Duration?
    /// Whether transcript messages get `emulator_sent_at_ns` (see
    /// ``TranscriptionEmulator/Configuration/stampsTranscripts``).
    let stampsTranscripts: Bool
    /// The `stopReadingButKeepSending` fault happened: the ticks send (see `applyTickFaults`).
    let sendsWhileStalled = LockedState(false)
    private let closing = LockedState(false)

    /// The message types that ``stampsTranscripts`` stamps (`type` for AssemblyAI, `message` for
    /// Speechmatics).
    static let transcriptTypes: Set<String> = ["Turn", "AddTranscript", "AddPartialTranscript"]

    init(
        connection: TestWebSocketServer.Connection, recorder: SessionRecorder, faults: [EmulatorFault],
        stampsTranscripts: Bool = false
    ) {
        self.connection = connection
        self.recorder = recorder
        self.faults = faults
        self.stampsTranscripts = stampsTranscripts
        var delay: Duration?
        for case .delayReplies(let duration) in faults { delay = (delay ?? .zero) + duration }
        replyDelay = delay
    }

    /// `true` once the emulator has closed or dropped the connection.
    var isClosing: Bool { closing.withLock { $0 } }

    /// Sends a JSON message (recorded first); `final` is the transcript text of a final.
    /// Returns the moment just before the frame was handed to the connection.
    @discardableResult
    func send(_ json: EmulatorJSON, final: String? = nil) async -> ContinuousClock.Instant {
        let stamp =
            stampsTranscripts
            && (json["type"] ?? json["message"]).flatMap(\.stringValue).map(Self.transcriptTypes.contains) == true
        return await send(raw: json.text, final: final, stamp: stamp)
    }

    /// Sends a raw text frame (recorded). Returns the moment just before the frame was handed to
    /// the connection (after any `delayReplies` delay).
    ///
    /// With `stamp`, `text` must be a JSON object: `"emulator_sent_at_ns"` is added as its last
    /// member, read after the delay, just before the frame is recorded and handed over.
    @discardableResult
    func send(raw text: String, final: String? = nil, stamp: Bool = false) async -> ContinuousClock.Instant {
        guard !isClosing else { return .now }
        if let replyDelay { try? await Task.sleep(for: replyDelay) }
        var text = text
        if stamp, text.last == "}" {
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            let nanoseconds = UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
            text.removeLast()
            text += (text.last == "{" ? "" : ",") + "\"emulator_sent_at_ns\":\"\(nanoseconds)\"}"
        }
        recorder.sent(text, final: final)
        let writtenAt = ContinuousClock.now
        try? await connection.send(.text(text))
        return writtenAt
    }

    /// Closes with `code` and `reason` (cut to what a close frame holds) after everything sent.
    func close(code: Int, reason: String) async {
        guard
            closing.withLock({ closing in
                defer { closing = true }
                return !closing
            })
        else { return }
        if let replyDelay { try? await Task.sleep(for: replyDelay) }
        _ = await connection.close(WebSocketCloseFrame(code: UInt16(clamping: code), reason: reason))
    }

    /// Drops TCP without a close frame.
    func drop() {
        closing.withLock { $0 = true }
        connection.dropConnection()
    }

    /// Marks the session as closing without touching the connection (the client closed).
    func markClosing() { closing.withLock { $0 = true } }

    func violation(_ text: String) { recorder.violation(text) }
    func note(_ text: String) { recorder.note(text) }
}

/// Runs a session: a reader task feeding the event queue, a ticker, and `body` consuming events.
/// Returns when `body` has returned and the connection has ended.
///
/// Ticks only drive deadline checks (session expiry, inactivity, the close after
/// `EndOfTranscript`), which the services enforce to the second; a tick every 200 ms keeps them
/// within 0.2 s while costing a quarter of the timer wake-ups of 50 ms (with thousands of sessions
/// in one emulator process, as many timer wake-ups as audio chunks).
func runSession(
    connection: TestWebSocketServer.Connection,
    queueCapacity: Int = 64,
    tick: Duration = .milliseconds(200),
    body: @escaping @Sendable (SessionEvents) async -> Void
) async {
    let events = SessionEvents(capacity: queueCapacity)
    await withTaskGroup(of: Void.self) { group in
        group.addTask {
            do {
                for try await message in connection.messages {
                    let now = ContinuousClock.now
                    switch message {
                    case .text(let text): await events.queue.appendWaiting(.text(text, now))
                    case .binary(let bytes): await events.queue.appendWaiting(.binary(bytes, now))
                    }
                }
            } catch {}
            events.queue.append(.closed)
        }
        group.addTask {
            while !Task.isCancelled {
                try? await Task.sleep(for: tick)
                events.tick()
            }
        }
        await body(events)
        events.queue.stop()
        if connection.webSocket.closure == nil { connection.dropConnection() }
        _ = await connection.closed()
        group.cancelAll()
    }
}

/// The close frame reason for an error text: the text itself, or "See Error message for details"
/// when it does not fit the 123 bytes a close frame allows (AssemblyAI's documented rule).
func closeReason(for text: String) -> String {
    text.utf8.count <= 123 ? text : "See Error message for details"
}
