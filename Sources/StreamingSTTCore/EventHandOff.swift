import StreamingSTTSupport

/// Where a transcriber's events wait for the consumer, and how the messages the service sends
/// reach the transcriber with one thread wake-up each instead of two.
///
/// The event loop's thread puts every received text message in its leg's ``ReceivedMessages``
/// and calls ``messageArrived()``. The messages are decoded on the transcriber (the actor) by
/// whoever is handed the work: the consumer when it is waiting in ``next()`` (woken once, it
/// decodes on its own thread, hopping onto the idle actor without a wake-up, and returns the
/// events), otherwise the transcriber's decoding task (``waitForWork()``), so that the session
/// goes on while nobody reads the events. Handing every message to a decoding task that then
/// yields to the consumer would cost two wake-ups per message.
///
/// Only one decoder holds the work at a time (`decoding`); messages arriving meanwhile wake
/// nobody, the holder decodes them before it lets go (``finishDecoding()``).
///
/// The events, the waiting consumer and the end are a `HandOffState`; the decoding work is handed
/// to its waiting consumer as an element (``HandOffState/handToWaitingConsumer(_:into:)``, and
/// before it waits, through ``HandOffStateHolder/elementBeforeConsumerWaits()``), under the same
/// lock as the decoding flags.
final class EventHandOff: Sendable {
    /// What the consumer is handed: an event, or the work of decoding the received messages.
    private enum Item: Sendable {
        case event(TranscriptEvent)
        case decode
    }

    private struct State: HandOffStateHolder {
        /// The events, the waiting consumer and the end.
        var queue = HandOffState<Item, Never>()
        /// Received messages are waiting in some leg's queue.
        var messagesWaiting = false
        /// A consumer or the decoding task holds the work of decoding them.
        var decoding = false
        var decoder: UnsafeContinuation<Bool, Never>?
        /// Decodes the received messages on the transcriber (set once it started).
        var decode: (@Sendable () async -> Void)?

        /// Takes the decoding work for the caller when there is some and nobody holds it.
        mutating func claimDecoding() -> Bool {
            guard messagesWaiting, !decoding, decode != nil, !queue.isFinished else { return false }
            decoding = true
            return true
        }

        mutating func withHandOffState<Result>(_ body: (inout HandOffState<Item, Never>) -> Result) -> Result {
            body(&queue)
        }

        /// Before waiting, the consumer takes the decoding work if nobody holds it.
        mutating func elementBeforeConsumerWaits() -> Item? {
            claimDecoding() ? .decode : nil
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
        var resumptions = HandOffState<Item, Never>.Resumptions()
        state.withLock { _ = $0.queue.append(.event(event), into: &resumptions) }
        resumptions.resume()
    }

    /// Ends the sequence after the events already queued; the decoding task ends.
    func finish() {
        var resumptions = HandOffState<Item, Never>.Resumptions()
        let decoder = state.withLock { state in
            state.queue.finish(.success(()), into: &resumptions)
            defer { state.decoder = nil }
            return state.decoder
        }
        resumptions.resume()
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
            if state.messagesWaiting && !state.queue.isFinished { return false }
            state.decoding = false
            return true
        }
    }

    /// The decoding task's wait: returns `true` with the work handed to it, `false` once the
    /// sequence has finished.
    func waitForWork() async -> Bool {
        await withUnsafeContinuation { continuation in
            state.withLock { state in
                if state.queue.isFinished {
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
        var resumptions = HandOffState<Item, Never>.Resumptions()
        let decoder = state.withLock { state -> UnsafeContinuation<Bool, Never>? in
            state.messagesWaiting = true
            guard !state.decoding, !state.queue.isFinished, state.decode != nil else { return nil }
            if state.queue.handToWaitingConsumer(.decode, into: &resumptions) {
                state.decoding = true
                return nil
            }
            guard let decoder = state.decoder else { return nil }
            state.decoder = nil
            state.decoding = true
            return decoder
        }
        resumptions.resume()
        decoder?.resume(returning: true)
    }

    // MARK: The consumer's side

    /// Whether a task is waiting in ``next()`` (for tests).
    var consumerIsWaiting: Bool { state.withLock { $0.queue.isConsumerWaiting } }

    /// Whether the decoding task is waiting in ``waitForWork()`` (for tests).
    var decoderIsWaiting: Bool { state.withLock { $0.decoder != nil } }

    /// The next event; `nil` after the last one, when the task is cancelled while waiting, or
    /// when another task is already waiting (one task iterates).
    func next() async -> TranscriptEvent? {
        while true {
            switch await state.nextHandedOff() {
            case .element(.event(let event)): return event
            case .element(.decode): await decode()
            case .end, .busy: return nil
            case .cancelled:
                // An event may have come with the cancellation.
                var resumptions = HandOffState<Item, Never>.Resumptions()
                let item = state.withLock { $0.queue.take(into: &resumptions) }
                resumptions.resume()
                if case .element(.event(let event)) = item { return event }
                return nil
            }
        }
    }
}

/// The text messages one session's connection received, waiting to be decoded on the
/// transcriber. Filled on the event loop's thread, emptied by ``EventHandOff``'s decoder.
final class ReceivedMessages: Sendable {
    private struct State {
        var messages: [String] = []
        /// When the oldest waiting message arrived (one clock read per batch, not per message).
        var firstArrival: ContinuousClock.Instant?
        var discarding = false
    }

    private let state = LockedState(State())

    /// Adds a message; returns `false` (and drops it) once the session has ended.
    func append(_ text: String) -> Bool {
        state.withLock { state in
            guard !state.discarding else { return false }
            if state.messages.isEmpty { state.firstArrival = .now }
            state.messages.append(text)
            return true
        }
    }

    /// Takes every message received so far, oldest first, and when the oldest arrived.
    func takeAll() -> (messages: [String], firstArrival: ContinuousClock.Instant?) {
        state.withLock { state in
            defer {
                state.messages.removeAll()
                state.firstArrival = nil
            }
            return (state.messages, state.firstArrival)
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
