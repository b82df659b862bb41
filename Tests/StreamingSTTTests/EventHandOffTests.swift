import StreamingSTTSupport
import Testing

@testable import StreamingSTT
@testable import StreamingSTTCore

/// Which task ran the decoding (set by the tests' tasks).
private enum Runner {
    @TaskLocal static var name = "unknown"
}

/// Records who decoded and what.
private final class DecodeLog: Sendable {
    private let names = LockedState<[String]>([])
    func record(_ name: String) { names.withLock { $0.append(name) } }
    var all: [String] { names.withLock { $0 } }
}

/// Waits (yielding, never sleeping) until the consumer is parked in `next()`.
private func untilConsumerWaits(_ handOff: EventHandOff) async throws {
    try await withTimeout(.seconds(10), "the consumer to wait") {
        while !handOff.consumerIsWaiting { await Task.yield() }
    }
}

/// Waits (yielding, never sleeping) until the decoding task is parked in `waitForWork()`.
private func untilDecoderWaits(_ handOff: EventHandOff) async throws {
    try await withTimeout(.seconds(10), "the decoding task to wait") {
        while !handOff.decoderIsWaiting { await Task.yield() }
    }
}

/// A hand-off whose decoding turns each arrived message into one `info` event, as the
/// transcriber's does with the leg queues, and notes which task did it.
private func makeHandOff(log: DecodeLog, pending: LockedState<Int>) -> EventHandOff {
    let handOff = EventHandOff()
    handOff.setDecode { [weak handOff] in  // weak, as the transcriber's is: no cycle
        guard let handOff else { return }
        repeat {
            handOff.startDecoding()
            let count = pending.withLock { count in
                defer { count = 0 }
                return count
            }
            for _ in 0..<count {
                log.record(Runner.name)
                handOff.yield(.info(VendorNotice(type: "decoded", reason: Runner.name)))
            }
        } while !handOff.finishDecoding()
    }
    return handOff
}

/// The transcriber's decoding task, named "decoding task" for the log.
private func startDecodingTask(_ handOff: EventHandOff) -> Task<Void, Never> {
    Task {
        await Runner.$name.withValue("decoding task") {
            while await handOff.waitForWork() { await handOff.decode() }
        }
    }
}

private func arrive(_ handOff: EventHandOff, _ pending: LockedState<Int>) {
    pending.withLock { $0 += 1 }
    handOff.messageArrived()
}

@Suite("EventHandOff: how received messages reach the consumer")
struct EventHandOffTests {
    @Test("A waiting consumer is woken to decode the message itself; the decoding task is not")
    func waitingConsumerDecodes() async throws {
        let log = DecodeLog()
        let pending = LockedState(0)
        let handOff = makeHandOff(log: log, pending: pending)
        let decodingTask = startDecodingTask(handOff)
        let consumer = Task {
            await Runner.$name.withValue("consumer") { await handOff.next() }
        }
        try await untilConsumerWaits(handOff)
        arrive(handOff, pending)
        let event = try await withTimeout(.seconds(10), "the event") { await consumer.value }
        guard case .info(let notice) = event else {
            Issue.record("expected the decoded event, got \(String(describing: event))")
            return
        }
        #expect(notice.reason == "consumer")
        #expect(log.all == ["consumer"])
        handOff.finish()
        await decodingTask.value
    }

    @Test("Without a waiting consumer the decoding task decodes, and the events wait for the consumer")
    func decodingTaskDecodesWhileNobodyReads() async throws {
        let log = DecodeLog()
        let pending = LockedState(0)
        let handOff = makeHandOff(log: log, pending: pending)
        let decodingTask = startDecodingTask(handOff)
        try await untilDecoderWaits(handOff)
        for _ in 0..<3 { arrive(handOff, pending) }
        var reasons: [String] = []
        for _ in 0..<3 {
            let event = try await withTimeout(.seconds(10), "an event") { await handOff.next() }
            if case .info(let notice) = event { reasons.append(notice.reason) }
        }
        #expect(reasons == ["decoding task", "decoding task", "decoding task"])
        handOff.finish()
        await decodingTask.value
        #expect(await handOff.next() == nil)
    }

    @Test("Events queued before finish() are delivered, then nil; a second waiting task gets nil")
    func finishAndSecondIterator() async throws {
        let handOff = EventHandOff()
        let first = Task { await handOff.next() }
        try await untilConsumerWaits(handOff)
        let second = try await withTimeout(.seconds(10), "the second iterator") { await handOff.next() }
        #expect(second == nil)
        handOff.yield(.info(VendorNotice(type: "one", reason: "")))
        handOff.yield(.info(VendorNotice(type: "two", reason: "")))
        handOff.finish()
        handOff.yield(.info(VendorNotice(type: "after the end", reason: "")))
        let firstEvent = try await withTimeout(.seconds(10), "the first event") { await first.value }
        #expect(firstEvent == .info(VendorNotice(type: "one", reason: "")))
        #expect(await handOff.next() == .info(VendorNotice(type: "two", reason: "")))
        #expect(await handOff.next() == nil)
    }

    @Test("Cancelling the waiting consumer ends its wait with nil; later events still arrive")
    func cancelledConsumer() async throws {
        let handOff = EventHandOff()
        let consumer = Task { await handOff.next() }
        try await untilConsumerWaits(handOff)
        consumer.cancel()
        let event = try await withTimeout(.seconds(10), "the cancelled wait") { await consumer.value }
        #expect(event == nil)
        handOff.yield(.info(VendorNotice(type: "later", reason: "")))
        #expect(await handOff.next() == .info(VendorNotice(type: "later", reason: "")))
    }
}
