#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What a bounded hand-off queue does with an element that finds it full.
@usableFromInline package enum HandOffWhenFull: Sendable {
    /// The element is dropped and counted (live capture: memory stays bounded, and a consumer that
    /// falls behind shows as a gap).
    case dropNewest
    /// The producer waits for room: ``HandOffQueue/appendWaiting(_:)`` suspends its task,
    /// ``HandOffQueue/appendBlocking(_:)`` blocks its thread. ``HandOffQueue/append(_:)``, which
    /// never waits, queues the element past the capacity (for what must not wait: an end marker, a
    /// tick).
    case producerWaits
}

/// What happened to an element a producer appended.
@usableFromInline package enum HandOffAppendResult: Sendable, Equatable {
    /// Queued, or handed straight to the waiting consumer.
    case queued
    /// Queued, and the queued weight has just gone over the limit: the producer should pause until
    /// the consumer's `next` calls its `whenProducerMayResume`.
    case queuedOverWeightLimit
    /// Dropped and counted: the queue was full (``HandOffWhenFull/dropNewest``).
    case dropped
    /// Refused: the queue was finished or stopped; the producer should stop producing.
    case refused
}

/// The state of a hand-off queue: a FIFO, one consumer, producers waiting for room, the end and
/// the tasks waiting for it. It does no locking and resumes nothing itself: each operation runs
/// under its owner's lock and collects, in ``Resumptions``, what to resume once the lock is let go.
///
/// ``HandOffQueue`` is this state behind a ``LockedState``. A type that needs more state under the
/// same lock (the transcriber's events, whose consumer is also handed the work of decoding) keeps
/// one inside its own `LockedState` (its state a ``HandOffStateHolder``), and its consumer waits
/// with ``LockedState/nextHandedOff(resumingUnderLock:whenProducerMayResume:)``.
///
/// The whole of it is inlinable, so that each queue is compiled for its element type in the module
/// that uses it: generic code left unspecialized looks up the metadata of every generic type it
/// touches at run time, which on a path taken for every message cost more than the rest of the
/// hand-off (the emulator used 2–3 times its CPU). Its types are `@usableFromInline` as well as
/// `package`: without it, Swift 6.3 does not inline their `@inlinable package` members into other
/// modules.
@usableFromInline package struct HandOffState<Element: Sendable, Failure: Error> {
    /// What the consumer gets from `next`.
    @usableFromInline package enum Next {
        /// The oldest element.
        case element(Element)
        /// The queue was finished without an error and every element consumed, or it was stopped.
        case end
        /// The queue was finished with this error and every element consumed.
        case failure(Failure)
        /// The waiting task was cancelled (the queue is left as it is).
        case cancelled
        /// Another task is already waiting: a queue has one consumer.
        case busy
    }

    /// How a producer waiting for room is woken.
    @usableFromInline enum Waker {
        case task(UnsafeContinuation<HandOffAppendResult, Never>)
        case thread(BlockedThread)

        @inlinable func wake(_ result: HandOffAppendResult) {
            switch self {
            case .task(let continuation): continuation.resume(returning: result)
            case .thread(let thread): thread.wake(with: result)
            }
        }
    }

    /// What an operation leaves to resume after the lock is let go: pass one to each operation and
    /// call ``resume()`` after unlocking.
    @usableFromInline package struct Resumptions {
        @usableFromInline var consumer: (UnsafeContinuation<Next, Never>, Next)?
        @usableFromInline var admittedProducer: (Waker, HandOffAppendResult)?
        @usableFromInline var refusedProducers: [Waker] = []
        @usableFromInline var end: Result<Void, Failure>?
        @usableFromInline var finishWaiters: [UnsafeContinuation<Result<Void, Failure>, Never>] = []
        /// The queued weight has fallen to half the limit after a producer was told to pause.
        @usableFromInline package internal(set) var producerMayResume = false

        /// Nothing to resume yet.
        @inlinable package init() {}

        /// Resumes the waiting consumer now, if one is to be resumed (for callers that resume it
        /// under their lock); ``resume()`` then leaves it out.
        @inlinable package mutating func resumeConsumer() {
            guard let (continuation, next) = consumer else { return }
            consumer = nil
            continuation.resume(returning: next)
        }

        /// Resumes everyone collected. Call it after the lock is let go.
        @inlinable package func resume() {
            if let (continuation, next) = consumer { continuation.resume(returning: next) }
            if let (producer, result) = admittedProducer { producer.wake(result) }
            for producer in refusedProducers { producer.wake(.refused) }
            if let end { for waiter in finishWaiters { waiter.resume(returning: end) } }
        }
    }

    @usableFromInline struct WaitingProducer {
        @usableFromInline let element: Element
        @usableFromInline let waker: Waker

        @inlinable init(element: Element, waker: Waker) {
            self.element = element
            self.waker = waker
        }
    }

    @usableFromInline let capacity: Int
    @usableFromInline let whenFull: HandOffWhenFull
    @usableFromInline let weigh: (@Sendable (Element) -> Int)?
    @usableFromInline let weightLimit: Int

    @usableFromInline var elements = FIFO<Element>()
    @usableFromInline var weight = 0
    @usableFromInline var producerPaused = false
    @usableFromInline var waitingProducers = FIFO<WaitingProducer>()
    @usableFromInline var consumer: (continuation: UnsafeContinuation<Next, Never>, wait: UInt64)?
    @usableFromInline var waits: UInt64 = 0
    @usableFromInline var end: Result<Void, Failure>?
    @usableFromInline var finishWaiters: [UnsafeContinuation<Result<Void, Failure>, Never>] = []
    @usableFromInline var stopped = false
    @usableFromInline var dropped = 0
    @usableFromInline var claimed = false

    /// An empty queue.
    /// - Parameters:
    ///   - capacity: elements queued at most (at least 1), or `nil` for no bound.
    ///   - whenFull: what a full queue does with the next element.
    ///   - weigh: each element's weight (a message's bytes), or `nil` to count none.
    ///   - weightLimit: the queued weight over which an append answers
    ///     ``HandOffAppendResult/queuedOverWeightLimit``; the producer may resume at half of it.
    @inlinable package init(
        capacity: Int? = nil,
        whenFull: HandOffWhenFull = .producerWaits,
        weigh: (@Sendable (Element) -> Int)? = nil,
        weightLimit: Int = .max
    ) {
        self.capacity = capacity.map { max(1, $0) } ?? .max
        self.whenFull = whenFull
        self.weigh = weigh
        self.weightLimit = max(1, weightLimit)
    }

    // MARK: Reading the state

    /// Whether ``finish(_:into:)`` was called.
    @inlinable package var isFinished: Bool { end != nil }

    /// How the queue was finished, or `nil` before ``finish(_:into:)``.
    @inlinable package var finishResult: Result<Void, Failure>? { end }

    /// Whether the consumer stopped the queue.
    @inlinable package var isStopped: Bool { stopped }

    /// Whether a consumer is waiting in `next`.
    @inlinable package var isConsumerWaiting: Bool { consumer != nil }

    /// Elements dropped because the queue was full.
    @inlinable package var droppedCount: Int { dropped }

    /// Elements queued and not yet consumed.
    @inlinable package var count: Int { elements.count }

    /// Producers waiting for room.
    @inlinable package var waitingProducerCount: Int { waitingProducers.count }

    /// Tasks waiting for ``finish(_:into:)``.
    @inlinable package var finishWaiterCount: Int { finishWaiters.count }

    // MARK: Producers

    /// Hands `element` to the waiting consumer or queues it; never waits. Past the capacity it is
    /// dropped (``HandOffWhenFull/dropNewest``) or queued anyway (``HandOffWhenFull/producerWaits``).
    @inlinable package mutating func append(
        _ element: Element, into resumptions: inout Resumptions
    ) -> HandOffAppendResult {
        if let result = appendIfRoom(element, into: &resumptions) { return result }
        return enqueue(element)
    }

    /// ``append(_:into:)``, except that it returns `nil` without queueing when the queue is full and
    /// its producers wait.
    @inlinable package mutating func appendIfRoom(
        _ element: Element, into resumptions: inout Resumptions
    ) -> HandOffAppendResult? {
        if stopped || end != nil { return .refused }
        if let (continuation, _) = consumer {
            // A waiting consumer means an empty queue: hand over directly, in order.
            consumer = nil
            resumptions.consumer = (continuation, .element(element))
            return .queued
        }
        if elements.count >= capacity {
            switch whenFull {
            case .dropNewest:
                dropped += 1
                return .dropped
            case .producerWaits:
                return nil
            }
        }
        return enqueue(element)
    }

    /// Hands `element` to the consumer only if it is waiting right now; otherwise does nothing and
    /// returns `false` (work that goes to the consumer when it waits, and elsewhere when it does not).
    @inlinable package mutating func handToWaitingConsumer(
        _ element: Element, into resumptions: inout Resumptions
    ) -> Bool {
        guard let (continuation, _) = consumer, !stopped, end == nil else { return false }
        consumer = nil
        resumptions.consumer = (continuation, .element(element))
        return true
    }

    /// Lines up a producer that found the queue full; its element goes in when there is room.
    @inlinable mutating func lineUp(_ element: Element, waker: Waker) {
        waitingProducers.append(WaitingProducer(element: element, waker: waker))
    }

    @inlinable mutating func enqueue(_ element: Element) -> HandOffAppendResult {
        elements.append(element)
        guard let weigh else { return .queued }
        weight += weigh(element)
        if !producerPaused && weight > weightLimit {
            producerPaused = true
            return .queuedOverWeightLimit
        }
        return .queued
    }

    /// Ends the queue after the elements already queued; the first call wins. Producers still
    /// waiting for room are refused, and the tasks waiting for the end are resumed.
    @inlinable package mutating func finish(_ result: Result<Void, Failure>, into resumptions: inout Resumptions) {
        guard end == nil else { return }
        end = result
        if let (continuation, _) = consumer {
            consumer = nil
            resumptions.consumer = (continuation, Self.next(for: result))
        }
        refuseWaitingProducers(into: &resumptions)
        resumptions.end = result
        resumptions.finishWaiters = finishWaiters
        finishWaiters = []
    }

    @inlinable mutating func refuseWaitingProducers(into resumptions: inout Resumptions) {
        while let producer = waitingProducers.popFirst() { resumptions.refusedProducers.append(producer.waker) }
    }

    @inlinable static func next(for end: Result<Void, Failure>) -> Next {
        switch end {
        case .success: .end
        case .failure(let error): .failure(error)
        }
    }

    // MARK: The consumer

    /// Claims the queue for one consumer: `true` for the first caller only.
    @inlinable package mutating func claim() -> Bool {
        defer { claimed = true }
        return !claimed
    }

    /// Takes the oldest element, or the end once every element is consumed; `nil` when there is
    /// neither (the consumer has to wait). Taking an element makes room for a waiting producer.
    @inlinable package mutating func take(into resumptions: inout Resumptions) -> Next? {
        if stopped { return .end }
        if let element = elements.popFirst() {
            if let weigh {
                weight -= weigh(element)
                if producerPaused && weight <= weightLimit / 2 {
                    producerPaused = false
                    resumptions.producerMayResume = true
                }
            }
            if elements.count < capacity, let producer = waitingProducers.popFirst() {
                resumptions.admittedProducer = (producer.waker, enqueue(producer.element))
            }
            return .element(element)
        }
        return end.map(Self.next(for:))
    }

    /// Stops the queue from the consumer's side: queued elements are discarded, a waiting consumer
    /// gets ``Next/end``, waiting producers are refused, and so are later appends. The tasks waiting
    /// for the end keep waiting for ``finish(_:into:)``.
    @inlinable package mutating func stop(into resumptions: inout Resumptions) {
        stopped = true
        elements = FIFO()
        weight = 0
        if let (continuation, _) = consumer {
            consumer = nil
            resumptions.consumer = (continuation, .end)
        }
        refuseWaitingProducers(into: &resumptions)
    }

    /// A number for the next wait of the consumer, so that its cancellation resumes only that wait.
    @inlinable mutating func newWait() -> UInt64 {
        waits &+= 1
        return waits
    }

    /// Parks the consumer; `false` when another one is waiting already.
    @inlinable mutating func park(_ continuation: UnsafeContinuation<Next, Never>, wait: UInt64) -> Bool {
        guard consumer == nil else { return false }
        consumer = (continuation, wait)
        return true
    }

    /// Unparks the consumer of `wait` if it is still waiting.
    @inlinable mutating func unpark(wait: UInt64) -> UnsafeContinuation<Next, Never>? {
        guard let (continuation, parked) = consumer, parked == wait else { return nil }
        consumer = nil
        return continuation
    }

    /// Adds a task waiting for ``finish(_:into:)``; `false` (and nothing added) once finished.
    @inlinable mutating func waitForFinish(_ continuation: UnsafeContinuation<Result<Void, Failure>, Never>) -> Bool {
        guard end == nil else { return false }
        finishWaiters.append(continuation)
        return true
    }
}

/// The state behind a lock that holds a ``HandOffState``, and what more its consumer may be
/// handed before it waits. ``HandOffState`` is one itself; a type that keeps more state under the
/// same lock conforms to wait with ``LockedState/nextHandedOff(resumingUnderLock:whenProducerMayResume:)``.
@usableFromInline package protocol HandOffStateHolder: SendableMetatype {
    /// The queue's elements.
    associatedtype Element: Sendable
    /// The error the queue can finish with.
    associatedtype Failure: Error

    /// Runs `body` on the hand-off state held.
    mutating func withHandOffState<Result>(_ body: (inout HandOffState<Element, Failure>) -> Result) -> Result

    /// Runs under the lock when the consumer finds nothing to take, just before it waits: an
    /// element returned is handed to it instead (work for the consumer rather than an event).
    mutating func elementBeforeConsumerWaits() -> Element?
}

extension HandOffState: HandOffStateHolder {
    /// Runs `body` on this state.
    @inlinable package mutating func withHandOffState<Result>(_ body: (inout Self) -> Result) -> Result {
        body(&self)
    }

    /// Nothing: the consumer waits.
    @inlinable package mutating func elementBeforeConsumerWaits() -> Element? { nil }
}

extension LockedState where State: HandOffStateHolder {
    /// Waits as the consumer of the hand-off state held in this lock's state: the oldest element,
    /// the end, ``HandOffState/Next/busy`` when another task waits already, or
    /// ``HandOffState/Next/cancelled`` when the task is cancelled while there is nothing to take (a
    /// cancelled task still takes what is there). Before it waits, the state's
    /// ``HandOffStateHolder/elementBeforeConsumerWaits()`` may hand it something instead.
    ///
    /// - Parameters:
    ///   - resumingUnderLock: resume the consumer on cancellation while the lock is held (see
    ///     ``HandOffQueue/init(capacity:whenFull:weigh:weightLimit:resumesConsumerUnderLock:)``).
    ///   - whenProducerMayResume: called after the lock is let go when taking an element brought the
    ///     queued weight down to half the limit after a producer was told to pause.
    @inlinable package func nextHandedOff(
        resumingUnderLock: Bool = false,
        whenProducerMayResume: () -> Void = {}
    ) async -> HandOffState<State.Element, State.Failure>.Next {
        typealias Queue = HandOffState<State.Element, State.Failure>
        var resumptions = Queue.Resumptions()
        let (ready, wait) = withLock { state -> (Queue.Next?, UInt64) in
            if let next = state.withHandOffState({ $0.take(into: &resumptions) }) { return (next, 0) }
            if let element = state.elementBeforeConsumerWaits() { return (.element(element), 0) }
            return (nil, state.withHandOffState { $0.newWait() })
        }
        resumptions.resume()
        if resumptions.producerMayResume { whenProducerMayResume() }
        if let ready { return ready }
        if Task.isCancelled { return .cancelled }
        return await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<Queue.Next, Never>) in
                var resumptions = Queue.Resumptions()
                let ready = withLock { state -> Queue.Next? in
                    if let next = state.withHandOffState({ $0.take(into: &resumptions) }) { return next }
                    if let element = state.elementBeforeConsumerWaits() { return .element(element) }
                    // Checked under the lock: a cancellation after this finds the consumer parked.
                    if Task.isCancelled { return .cancelled }
                    return state.withHandOffState { $0.park(continuation, wait: wait) } ? nil : .busy
                }
                resumptions.resume()
                if resumptions.producerMayResume { whenProducerMayResume() }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            let continuation = withLock { state -> UnsafeContinuation<Queue.Next, Never>? in
                let continuation = state.withHandOffState { $0.unpark(wait: wait) }
                if resumingUnderLock { continuation?.resume(returning: .cancelled) }
                return continuation
            }
            if !resumingUnderLock { continuation?.resume(returning: .cancelled) }
        }
    }
}

/// What ``HandOffQueue/appendBlocking(_:)`` found under the lock: an answer without waiting, or a
/// full queue to wait on.
@usableFromInline package enum BlockingAppend {
    /// Appended, dropped or refused.
    case done(HandOffAppendResult)
    /// Lined up: the thread blocks until it is let in or refused.
    case blocked(BlockedThread)
}

/// A producer thread blocked until its element is admitted or refused: a pthread mutex and
/// condition (which ThreadSanitizer understands) around the answer. One per blocked wait.
@usableFromInline package final class BlockedThread: @unchecked Sendable {
    // Justification for @unchecked: `answer` is only touched between pthread_mutex_lock/unlock of
    // `mutex`.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var answer: HandOffAppendResult?

    /// A thread about to block.
    @usableFromInline package init() {
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        condition.initialize(to: pthread_cond_t())
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Gives the blocked thread its answer and wakes it.
    @usableFromInline package func wake(with answer: HandOffAppendResult) {
        pthread_mutex_lock(mutex)
        self.answer = answer
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Blocks until ``wake(with:)``; returns its answer.
    @usableFromInline package func wait() -> HandOffAppendResult {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while true {
            if let answer { return answer }
            pthread_cond_wait(condition, mutex)
        }
    }
}

extension HandOffState.Next: Sendable {}

extension HandOffState.Next: Equatable where Element: Equatable, Failure: Equatable {}
