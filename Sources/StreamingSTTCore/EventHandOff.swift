import StreamingSTTSupport

/// Where a transcriber's events wait for the consumer, and how the messages the service sends
/// reach the transcriber with one thread wake-up each instead of two.
///
/// The event loop's thread puts every received text message in its leg's ``ReceivedMessages``
/// and calls ``messageArrived()``. The messages are decoded on the transcriber (the actor) by
/// whoever is handed the work: the consumer when it is waiting in ``next()`` (woken once, it
/// decodes on its own thread, hopping onto the idle actor without a wake-up, and returns the
/// events), otherwise the transcriber's decoding task (``waitForWork()``), so that the session
/// goes on while nobody reads the events. Before, the event loop woke a reading task that woke
/// the consumer: two wake-ups per message, most of a message's cost.
///
/// Only one decoder holds the work at a time (`decoding`); messages arriving meanwhile wake
/// nobody, the holder decodes them before it lets go (``finishDecoding()``).
final class EventHandOff: Sendable {
    /// What a consumer waiting in ``next()`` is woken for.
    private enum Wake {
        /// Look again: an event, the end, or the task was cancelled.
        case look
        /// Decode the received messages (the work was handed to this consumer).
        case decode
        /// Another task is waiting for the next event already.
        case alreadyIterated
    }

    private struct State {
        var events = FIFO<TranscriptEvent>()
        var finished = false
        /// Received messages are waiting in some leg's queue.
        var messagesWaiting = false
        /// A consumer or the decoding task holds the work of decoding them.
        var decoding = false
        var consumer: UnsafeContinuation<Wake, Never>?
        var decoder: UnsafeContinuation<Bool, Never>?
        /// Decodes the received messages on the transcriber (set once it started).
        var decode: (@Sendable () async -> Void)?

        /// Takes the decoding work for the caller when there is some and nobody holds it.
        mutating func claimDecoding() -> Bool {
            guard messagesWaiting, !decoding, decode != nil, !finished else { return false }
            decoding = true
            return true
        }
    }

    private let state = LockedState(State())

    /// Sets how received messages are decoded (the transcriber, weakly held).
    func setDecode(_ decode: @escaping @Sendable () async -> Void) {
        state.withLock { $0.decode = decode }
    }

    /// Runs the decoding set with ``setDecode(_:)``; for the holder of the work.
    func decode() async {
        if let decode = state.withLock({ $0.decode }) { await decode() }
    }

    // MARK: The transcriber's side

    /// Queues an event for the consumer.
    func yield(_ event: TranscriptEvent) {
        // Every resume here happens after the lock is let go: a resume can wake a thread (a
        // futex call), and holding the lock meanwhile made the woken consumer wait for it.
        let consumer = state.withLock { state -> UnsafeContinuation<Wake, Never>? in
            guard !state.finished else { return nil }
            state.events.append(event)
            defer { state.consumer = nil }
            return state.consumer
        }
        consumer?.resume(returning: .look)
    }

    /// Ends the sequence after the events already queued; the decoding task ends.
    func finish() {
        let (consumer, decoder) = state.withLock { state in
            state.finished = true
            defer {
                state.consumer = nil
                state.decoder = nil
            }
            return (state.consumer, state.decoder)
        }
        consumer?.resume(returning: .look)
        decoder?.resume(returning: false)
    }

    /// Called when decoding starts: messages arriving from now on need another pass.
    func startDecoding() {
        state.withLock { $0.messagesWaiting = false }
    }

    /// Called when a decoding pass is over. Returns `false` when messages arrived during it (the
    /// caller decodes again, still holding the work), `true` when the work is let go.
    func finishDecoding() -> Bool {
        state.withLock { state in
            if state.messagesWaiting && !state.finished { return false }
            state.decoding = false
            return true
        }
    }

    /// The decoding task's wait: returns `true` with the work handed to it, `false` once the
    /// sequence has finished.
    func waitForWork() async -> Bool {
        await withUnsafeContinuation { continuation in
            state.withLock { state in
                if state.finished {
                    continuation.resume(returning: false)
                } else if state.claimDecoding() {
                    continuation.resume(returning: true)
                } else {
                    state.decoder = continuation
                }
            }
        }
    }

    // MARK: The event loop's side

    /// A message was put in a leg's queue: hands the decoding to the waiting consumer, else to the
    /// decoding task, unless someone holds it already.
    func messageArrived() {
        enum Handed {
            case nobody
            case consumer(UnsafeContinuation<Wake, Never>)
            case decoder(UnsafeContinuation<Bool, Never>)
        }
        let handed = state.withLock { state -> Handed in
            state.messagesWaiting = true
            guard !state.decoding, !state.finished, state.decode != nil else { return .nobody }
            if let consumer = state.consumer {
                state.consumer = nil
                state.decoding = true
                return .consumer(consumer)
            } else if let decoder = state.decoder {
                state.decoder = nil
                state.decoding = true
                return .decoder(decoder)
            }
            return .nobody
        }
        switch handed {
        case .nobody: break
        case .consumer(let consumer): consumer.resume(returning: .decode)
        case .decoder(let decoder): decoder.resume(returning: true)
        }
    }

    // MARK: The consumer's side

    /// Whether a task is waiting in ``next()`` (for tests).
    var consumerIsWaiting: Bool { state.withLock { $0.consumer != nil } }

    /// Whether the decoding task is waiting in ``waitForWork()`` (for tests).
    var decoderIsWaiting: Bool { state.withLock { $0.decoder != nil } }

    private enum Step {
        case event(TranscriptEvent)
        case end
        case decode
        case wait
    }

    private func step(_ state: inout State) -> Step {
        if let event = state.events.popFirst() { return .event(event) }
        if state.finished { return .end }
        if state.claimDecoding() { return .decode }
        return .wait
    }

    /// The next event; `nil` after the last one, when the task is cancelled while waiting, or
    /// when another task is already waiting (one task iterates).
    func next() async -> TranscriptEvent? {
        while true {
            switch state.withLock({ step(&$0) }) {
            case .event(let event): return event
            case .end: return nil
            case .decode:
                await decode()
                continue
            case .wait:
                break
            }
            if Task.isCancelled { return nil }
            let wake = await withTaskCancellationHandler {
                await withUnsafeContinuation { (continuation: UnsafeContinuation<Wake, Never>) in
                    state.withLock { state in
                        if !state.events.isEmpty || state.finished {
                            continuation.resume(returning: .look)
                        } else if state.claimDecoding() {
                            continuation.resume(returning: .decode)
                        } else if state.consumer != nil {
                            continuation.resume(returning: .alreadyIterated)
                        } else {
                            state.consumer = continuation
                        }
                    }
                }
            } onCancel: {
                let consumer = state.withLock { state in
                    defer { state.consumer = nil }
                    return state.consumer
                }
                consumer?.resume(returning: .look)
            }
            switch wake {
            case .decode:
                await decode()
            case .alreadyIterated:
                return nil
            case .look:
                if Task.isCancelled { return state.withLock { $0.events.popFirst() } }
            }
        }
    }
}

/// The text messages one session's connection received, waiting to be decoded on the
/// transcriber. Filled on the event loop's thread, emptied by ``EventHandOff``'s decoder.
final class ReceivedMessages: Sendable {
    private struct State {
        var messages: [String] = []
        var discarding = false
    }

    private let state = LockedState(State())

    /// Adds a message; returns `false` (and drops it) once the session has ended.
    func append(_ text: String) -> Bool {
        state.withLock { state in
            guard !state.discarding else { return false }
            state.messages.append(text)
            return true
        }
    }

    /// Takes every message received so far, oldest first.
    func takeAll() -> [String] {
        state.withLock { state in
            defer { state.messages.removeAll() }
            return state.messages
        }
    }

    /// Drops what is queued and everything received from now on (the session has ended).
    func discard() {
        state.withLock { state in
            state.discarding = true
            state.messages = []
        }
    }
}
