import StreamingSTTSupport
import Testing

/// The error a test finishes its queue with.
private struct Broken: Error, Equatable {
    let reason: String
}

private typealias Queue = HandOffQueue<Int, Broken>

extension Result where Success == Void {
    /// The error of a failed end, or `nil` for a successful one.
    fileprivate var error: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

/// Waits (yielding, never sleeping) until `condition` holds.
private func until(_ what: String, _ condition: @escaping @Sendable () -> Bool) async throws {
    try await withTimeout(.seconds(10), what) {
        while !condition() { await Task.yield() }
    }
}

@Suite("HandOffQueue: producers to one consumer, and the end")
struct HandOffQueueTests {
    @Test("Elements come out in the order they went in, queued or handed to a waiting consumer")
    func order() async throws {
        let queue = Queue()
        for value in 1...3 { #expect(queue.append(value) == .queued) }
        for value in 1...3 { #expect(await queue.next() == .element(value)) }

        let consumer = Task { await queue.next() }
        try await until("the consumer to wait") { queue.isConsumerWaiting }
        #expect(queue.append(4) == .queued)
        #expect(queue.append(5) == .queued)
        #expect(try await withTimeout { await consumer.value } == .element(4))
        #expect(await queue.next() == .element(5))
    }

    @Test("finish() ends the queue after its elements; later appends are refused")
    func finishWithoutError() async throws {
        let queue = Queue()
        queue.append(1)
        queue.finish()
        #expect(queue.append(2) == .refused)
        #expect(queue.isFinished)
        #expect(await queue.next() == .element(1))
        #expect(await queue.next() == .end)
        #expect(await queue.next() == .end)

        let waiting = Queue()
        let consumer = Task { await waiting.next() }
        try await until("the consumer to wait") { waiting.isConsumerWaiting }
        waiting.finish()
        #expect(try await withTimeout { await consumer.value } == .end)
    }

    @Test("finish(.failure) hands the error over after the elements; the first finish wins")
    func finishWithError() async throws {
        let queue = Queue()
        queue.append(1)
        queue.finish(.failure(Broken(reason: "device lost")))
        queue.finish(.success(()))
        #expect(await queue.next() == .element(1))
        #expect(await queue.next() == .failure(Broken(reason: "device lost")))

        let waiting = Queue()
        let consumer = Task { await waiting.next() }
        try await until("the consumer to wait") { waiting.isConsumerWaiting }
        waiting.finish(.failure(Broken(reason: "gone")))
        #expect(try await withTimeout { await consumer.value } == .failure(Broken(reason: "gone")))
    }

    @Test("stop() discards what is queued, ends the wait, refuses producers, and still waits for finish()")
    func stop() async throws {
        let queue = Queue()
        queue.append(1)
        queue.stop()
        #expect(queue.isStopped)
        #expect(await queue.next() == .end)
        #expect(queue.append(2) == .refused)
        #expect(!queue.isFinished)

        let waiting = Queue()
        let consumer = Task { await waiting.next() }
        try await until("the consumer to wait") { waiting.isConsumerWaiting }
        waiting.stop()
        #expect(try await withTimeout { await consumer.value } == .end)
        let end = Task { await waiting.waitUntilFinished() }
        try await until("the end's waiter to wait") { waiting.finishWaiterCount == 1 }
        waiting.finish(.failure(Broken(reason: "closed")))
        #expect(try await withTimeout { await end.value }.error == Broken(reason: "closed"))
    }

    @Test("Cancelling the waiting consumer ends its wait; later elements still arrive")
    func cancelledConsumer() async throws {
        let queue = Queue()
        let consumer = Task { await queue.next() }
        try await until("the consumer to wait") { queue.isConsumerWaiting }
        consumer.cancel()
        #expect(try await withTimeout { await consumer.value } == .cancelled)
        #expect(!queue.isConsumerWaiting)
        queue.append(1)
        #expect(await queue.next() == .element(1))

        // A cancelled task still takes what is queued, and does not wait for more.
        queue.append(2)
        let late = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return (await queue.next(), await queue.next())
        }
        let (first, second) = try await withTimeout { await late.value }
        #expect(first == .element(2))
        #expect(second == .cancelled)
    }

    @Test("A second task waiting at the same time is told the queue is busy")
    func secondConsumer() async throws {
        let queue = Queue()
        #expect(queue.claim())
        #expect(!queue.claim())
        let first = Task { await queue.next() }
        try await until("the consumer to wait") { queue.isConsumerWaiting }
        #expect(try await withTimeout { await queue.next() } == .busy)
        queue.append(1)
        #expect(try await withTimeout { await first.value } == .element(1))
    }

    @Test("Full, dropNewest: the new element is dropped and counted, the queued ones stay in order")
    func dropNewest() async {
        let queue = Queue(capacity: 2, whenFull: .dropNewest)
        #expect(queue.append(1) == .queued)
        #expect(queue.append(2) == .queued)
        #expect(queue.append(3) == .dropped)
        #expect(queue.appendBlocking(4) == .dropped)
        #expect(await queue.appendWaiting(5) == .dropped)
        #expect(queue.droppedCount == 3)
        #expect(await queue.next() == .element(1))
        #expect(queue.append(6) == .queued)
        #expect(await queue.next() == .element(2))
        #expect(await queue.next() == .element(6))
    }

    @Test("Full, producerWaits: an async producer suspends until the consumer makes room, then goes in order")
    func asyncProducerWaits() async throws {
        let queue = Queue(capacity: 1, whenFull: .producerWaits)
        #expect(await queue.appendWaiting(1) == .queued)
        let producer = Task { await queue.appendWaiting(2) }
        try await until("the producer to wait") { queue.waitingProducerCount == 1 }
        #expect(await queue.next() == .element(1))
        #expect(try await withTimeout { await producer.value } == .queued)
        #expect(await queue.next() == .element(2))

        // append(_:), which never waits, queues past the capacity.
        queue.append(3)
        #expect(queue.append(4) == .queued)
        let refused = Task { await queue.appendWaiting(5) }
        try await until("the producer to wait") { queue.waitingProducerCount == 1 }
        queue.stop()
        #expect(try await withTimeout { await refused.value } == .refused)
    }

    @Test("Full, producerWaits: a producer thread blocks until the consumer makes room")
    func threadProducerBlocks() async throws {
        let queue = Queue(capacity: 1, whenFull: .producerWaits)
        #expect(queue.appendBlocking(1) == .queued)
        let producer = Task { try await offThePool { queue.appendBlocking(2) } }
        try await until("the producer thread to block") { queue.waitingProducerCount == 1 }
        #expect(await queue.next() == .element(1))
        #expect(try await withTimeout { try await producer.value } == .queued)
        #expect(await queue.next() == .element(2))

        queue.append(3)
        let refused = Task { try await offThePool { queue.appendBlocking(4) } }
        try await until("the producer thread to block") { queue.waitingProducerCount == 1 }
        queue.finish()
        #expect(try await withTimeout { try await refused.value } == .refused)
        #expect(await queue.next() == .element(3))
        #expect(await queue.next() == .end)
    }

    @Test("Any number of tasks wait for the end; with no elements the queue is a one-shot event")
    func manyWaitersForTheEnd() async throws {
        let event = HandOffQueue<Never, Never>()
        let waiters = (0..<8).map { _ in Task { await event.waitUntilFinished() } }
        try await until("every waiter to wait") { event.finishWaiterCount == 8 }
        #expect(!event.isFinished)
        event.finish()
        event.finish()
        for waiter in waiters { _ = try await withTimeout { await waiter.value } }
        #expect(event.isFinished)
        _ = await event.waitUntilFinished()

        let outcome = HandOffQueue<Never, Broken>()
        let failed = (0..<3).map { _ in Task { await outcome.waitUntilFinished() } }
        try await until("every waiter to wait") { outcome.finishWaiterCount == 3 }
        outcome.finish(.failure(Broken(reason: "refused")))
        for waiter in failed {
            #expect(try await withTimeout { await waiter.value }.error == Broken(reason: "refused"))
        }
        #expect(outcome.finishResult?.error == Broken(reason: "refused"))
    }

    @Test("Over the weight limit the producer is told to pause, and told to resume at half of it")
    func weightLimit() async {
        let resumed = LockedState(0)
        let queue = Queue(weigh: { $0 }, weightLimit: 10)
        #expect(queue.append(6) == .queued)
        #expect(queue.append(5) == .queuedOverWeightLimit)
        #expect(queue.append(1) == .queued)  // told once
        #expect(await queue.next { resumed.withLock { $0 += 1 } } == .element(6))  // 6 left: over half
        #expect(resumed.withLock { $0 } == 0)
        #expect(await queue.next { resumed.withLock { $0 += 1 } } == .element(5))  // 1 left
        #expect(resumed.withLock { $0 } == 1)
        #expect(await queue.next { resumed.withLock { $0 += 1 } } == .element(1))
        #expect(resumed.withLock { $0 } == 1)
    }

    @Test("A consumer resumed under the lock gets the same elements in the same order")
    func resumedUnderTheLock() async throws {
        let queue = Queue(resumesConsumerUnderLock: true)
        let consumer = Task {
            var values: [Int] = []
            while case .element(let value) = await queue.next() { values.append(value) }
            return values
        }
        try await until("the consumer to wait") { queue.isConsumerWaiting }
        for value in 1...100 { queue.append(value) }
        queue.finish()
        #expect(try await withTimeout { await consumer.value } == Array(1...100))
    }
}
