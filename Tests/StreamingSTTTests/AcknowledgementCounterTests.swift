import Testing

@testable import StreamingSTT

/// The Speechmatics acknowledgement counter: monotonic, wakes a waiting sender exactly once when
/// the count passes its mark, and its inbound filter consumes only plain `AudioAdded` messages.
@Suite("AcknowledgementCounter")
struct AcknowledgementCounterTests {
    @Test("The count only goes up")
    func monotonic() {
        let counter = AcknowledgementCounter(scanner: { _ in nil })
        counter.advance(to: 3)
        counter.advance(to: 2)
        #expect(counter.value == 3)
    }

    @Test("A wake is called once, when the count passes the mark; a cancelled one never")
    func wakes() {
        let counter = AcknowledgementCounter(scanner: { _ in nil })
        let calls = LockedState(0)
        counter.wake(past: 2) { calls.withLock { $0 += 1 } }
        counter.advance(to: 2)
        #expect(calls.withLock { $0 } == 0)
        counter.advance(to: 3)
        counter.advance(to: 4)
        #expect(calls.withLock { $0 } == 1)
        counter.wake(past: 1) { calls.withLock { $0 += 10 } }  // already past: at once
        #expect(calls.withLock { $0 } == 11)
        counter.wake(past: 4) { calls.withLock { $0 += 100 } }
        counter.cancelWake()
        counter.advance(to: 9)
        #expect(calls.withLock { $0 } == 11)
    }

    @Test("consume counts plain AudioAdded text messages (the vendor's scanner) and nothing else")
    func consume() throws {
        let scanner = try #require(Speechmatics(credentials: .none).acknowledgementScanner)
        let counter = AcknowledgementCounter(scanner: scanner)
        func offer(_ text: String) -> Bool {
            Array(text.utf8).withUnsafeBytes { counter.consume($0) }
        }
        #expect(offer(#"{"message":"AudioAdded","seq_no":5}"#))
        #expect(counter.value == 5)
        #expect(!offer(#"{"message":"AddTranscript","results":[]}"#))
        #expect(!offer(#"{"message":"AudioAdded","seq_no":7,"x":1}"#))
        #expect(counter.value == 5)
    }
}
