/// A queue that hands elements from producers (tasks, or threads of our own such as an audio
/// reader or the event loop) to one consuming task, and tells anyone interested when it ends.
///
/// - Elements come out in order. A consumer waiting in ``next(whenProducerMayResume:)`` is handed
///   the next element directly; the wait ends with ``HandOffState/Next/cancelled`` when its task
///   is cancelled, and with ``HandOffState/Next/busy`` when another task is waiting already.
/// - ``finish(_:)`` ends the queue after the elements already queued, with or without an error;
///   the first call wins. ``waitUntilFinished()`` waits for it, with any number of waiters: with
///   `Element == Never` the queue is a one-shot event (a device released, a thread done).
/// - ``stop()`` ends it from the consumer's side: queued elements are discarded, and producers are
///   refused from then on.
/// - With a capacity, a full queue either drops the new element and counts it
///   (``HandOffWhenFull/dropNewest``) or makes its producer wait (``HandOffWhenFull/producerWaits``):
///   ``appendWaiting(_:)`` suspends the producer's task, ``appendBlocking(_:)`` blocks the producer's
///   thread (never a Swift task's), and the element goes in, in order, once there is room.
/// - With a weight (a message's bytes), an append that takes the queued weight over the limit
///   answers ``HandOffAppendResult/queuedOverWeightLimit`` (the producer pauses, e.g. stops reading
///   a socket), and the consumer's `next` calls `whenProducerMayResume` once it is back at half.
///
/// The state is ``HandOffState`` behind a ``LockedState``. Continuations are resumed after the
/// lock is let go (a resume can wake a thread, which would then wait for the lock), unless
/// `resumesConsumerUnderLock` asks otherwise. Like its state, it is inlinable, so that each queue
/// is compiled for its element type.
@usableFromInline package final class HandOffQueue<Element: Sendable, Failure: Error>: Sendable {
    /// What the consumer gets from ``next(whenProducerMayResume:)``.
    @usableFromInline package typealias Next = HandOffState<Element, Failure>.Next

    @usableFromInline typealias State = HandOffState<Element, Failure>

    @usableFromInline let state: LockedState<State>
    @usableFromInline let resumesConsumerUnderLock: Bool

    /// An empty queue.
    /// - Parameters:
    ///   - capacity: elements queued at most (at least 1), or `nil` for no bound.
    ///   - whenFull: what a full queue does with the next element.
    ///   - weigh: each element's weight, or `nil` to count none.
    ///   - weightLimit: the queued weight over which an append answers
    ///     ``HandOffAppendResult/queuedOverWeightLimit``.
    ///   - resumesConsumerUnderLock: resume the waiting consumer while the lock is held. The
    ///     consumer takes the same lock before it waits again, which orders its next wait after
    ///     this resume in a way ThreadSanitizer can see (when the consumer had not suspended yet,
    ///     the runtime orders the two with an atomic it cannot see).
    package init(
        capacity: Int? = nil,
        whenFull: HandOffWhenFull = .producerWaits,
        weigh: (@Sendable (Element) -> Int)? = nil,
        weightLimit: Int = .max,
        resumesConsumerUnderLock: Bool = false
    ) {
        state = LockedState(
            HandOffState(capacity: capacity, whenFull: whenFull, weigh: weigh, weightLimit: weightLimit))
        self.resumesConsumerUnderLock = resumesConsumerUnderLock
    }

    // MARK: Producers

    /// Hands `element` to the consumer or queues it, without waiting: when the queue is full it is
    /// dropped (``HandOffWhenFull/dropNewest``) or queued past the capacity
    /// (``HandOffWhenFull/producerWaits``, for what must not wait).
    @discardableResult
    @inlinable package func append(_ element: Element) -> HandOffAppendResult {
        var resumptions = State.Resumptions()
        let result = state.withLock { state in
            let result = state.append(element, into: &resumptions)
            if resumesConsumerUnderLock { resumptions.resumeConsumer() }
            return result
        }
        resumptions.resume()
        return result
    }

    /// Appends `element`; when the queue is full and its producers wait, suspends until the
    /// consumer makes room (or stops or finishes the queue: ``HandOffAppendResult/refused``).
    /// Cancellation does not end the wait.
    @discardableResult
    @inlinable package func appendWaiting(_ element: Element) async -> HandOffAppendResult {
        if let result = appendIfRoom(element) { return result }
        return await withUnsafeContinuation { continuation in
            var resumptions = State.Resumptions()
            let result = state.withLock { state -> HandOffAppendResult? in
                guard let result = state.appendIfRoom(element, into: &resumptions) else {
                    state.lineUp(element, waker: .task(continuation))
                    return nil
                }
                if resumesConsumerUnderLock { resumptions.resumeConsumer() }
                return result
            }
            resumptions.resume()
            if let result { continuation.resume(returning: result) }
        }
    }

    /// Appends `element`; when the queue is full and its producers wait, blocks the calling thread
    /// until the consumer makes room (or stops or finishes the queue: ``HandOffAppendResult/refused``).
    /// Only for a thread of our own (a reader of a device or a pipe), never from a Swift task.
    @discardableResult
    @inlinable package func appendBlocking(_ element: Element) -> HandOffAppendResult {
        var resumptions = State.Resumptions()
        let outcome = state.withLock { state -> BlockingAppend in
            if let result = state.appendIfRoom(element, into: &resumptions) {
                if resumesConsumerUnderLock { resumptions.resumeConsumer() }
                return .done(result)
            }
            let thread = BlockedThread()
            state.lineUp(element, waker: .thread(thread))
            return .blocked(thread)
        }
        resumptions.resume()
        switch outcome {
        case .done(let result): return result
        case .blocked(let thread):
            assert(withUnsafeCurrentTask { $0 == nil }, "appendBlocking(_:) blocks a thread; never call it from a task")
            return thread.wait()
        }
    }

    /// ``HandOffState/appendIfRoom(_:into:)`` under the lock.
    @inlinable func appendIfRoom(_ element: Element) -> HandOffAppendResult? {
        var resumptions = State.Resumptions()
        let result = state.withLock { state in
            let result = state.appendIfRoom(element, into: &resumptions)
            if resumesConsumerUnderLock { resumptions.resumeConsumer() }
            return result
        }
        resumptions.resume()
        return result
    }

    /// Ends the queue after the elements already queued: the consumer gets them, then
    /// ``HandOffState/Next/end`` or the error. The first call wins; later appends are refused, and
    /// so are producers still waiting for room. Resumes every ``waitUntilFinished()``.
    @inlinable package func finish(_ result: Result<Void, Failure> = .success(())) {
        var resumptions = State.Resumptions()
        state.withLock { state in
            state.finish(result, into: &resumptions)
            if resumesConsumerUnderLock { resumptions.resumeConsumer() }
        }
        resumptions.resume()
    }

    /// Whether the consumer stopped the queue (a producer thread checks it between reads).
    @inlinable package var isStopped: Bool { state.withLock { $0.isStopped } }

    /// Elements dropped because the queue was full (``HandOffWhenFull/dropNewest``).
    @inlinable package var droppedCount: Int { state.withLock { $0.droppedCount } }

    // MARK: The consumer

    /// Claims the queue for one consumer: `true` for the first caller only (a sequence that can be
    /// iterated once gives its first iterator the elements).
    @inlinable package func claim() -> Bool {
        state.withLock { $0.claim() }
    }

    /// The oldest element; once the queue is finished and emptied, ``HandOffState/Next/end`` or
    /// ``HandOffState/Next/failure(_:)``; ``HandOffState/Next/end`` once stopped. A wait ends with
    /// ``HandOffState/Next/cancelled`` when the task is cancelled, and a second waiting task gets
    /// ``HandOffState/Next/busy``.
    /// - Parameter whenProducerMayResume: with a weight limit, called (after the lock is let go)
    ///   when taking an element brought the queued weight down to half the limit after an append
    ///   answered ``HandOffAppendResult/queuedOverWeightLimit``.
    @inlinable package func next(whenProducerMayResume: () -> Void = {}) async -> Next {
        await state.nextHandedOff(
            resumingUnderLock: resumesConsumerUnderLock, whenProducerMayResume: whenProducerMayResume)
    }

    /// Stops the queue from the consumer's side: queued elements are discarded, a waiting
    /// ``next(whenProducerMayResume:)`` returns ``HandOffState/Next/end`` (as do later ones), and
    /// producers are refused from then on, waiting ones included. ``waitUntilFinished()`` still
    /// waits for ``finish(_:)`` (the producer's own end, such as its device closed).
    @inlinable package func stop() {
        var resumptions = State.Resumptions()
        state.withLock { state in
            state.stop(into: &resumptions)
            if resumesConsumerUnderLock { resumptions.resumeConsumer() }
        }
        resumptions.resume()
    }

    // MARK: The end

    /// Whether ``finish(_:)`` was called.
    @inlinable package var isFinished: Bool { state.withLock { $0.isFinished } }

    /// How the queue was finished, or `nil` before ``finish(_:)``.
    @inlinable package var finishResult: Result<Void, Failure>? { state.withLock { $0.finishResult } }

    /// Returns once ``finish(_:)`` has been called, with its result; any number of tasks can wait.
    /// Cancellation does not end the wait.
    @inlinable package func waitUntilFinished() async -> Result<Void, Failure> {
        if let end = finishResult { return end }
        return await withUnsafeContinuation { continuation in
            let end = state.withLock { state -> Result<Void, Failure>? in
                state.waitForFinish(continuation) ? nil : state.finishResult
            }
            if let end { continuation.resume(returning: end) }
        }
    }

    // MARK: For tests

    /// Whether a consumer is waiting in ``next(whenProducerMayResume:)``.
    package var isConsumerWaiting: Bool { state.withLock { $0.isConsumerWaiting } }

    /// Producers waiting for room (suspended or blocked).
    package var waitingProducerCount: Int { state.withLock { $0.waitingProducerCount } }

    /// Tasks waiting in ``waitUntilFinished()``.
    package var finishWaiterCount: Int { state.withLock { $0.finishWaiterCount } }
}
