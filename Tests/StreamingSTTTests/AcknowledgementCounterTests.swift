import Testing

@testable import StreamingSTT
@testable import StreamingSTTCore

/// The acknowledgement counter: monotonic, wakes the waiting sender when the count reaches its
/// mark, and consumes only plain `AudioAdded` messages.
@Suite("AcknowledgementCounter")
struct AcknowledgementCounterTests {
    @Test("The count only goes up")
    func monotonic() {
        let counter = AcknowledgementCounter(scanner: { _ in nil })
        counter.advance(to: 3)
        counter.advance(to: 2)
        #expect(counter.value == 3)
    }

    @Test("A waiting task returns once the count reaches its mark, at once when it already has")
    func reached() async {
        let counter = AcknowledgementCounter(scanner: { _ in nil })
        counter.advance(to: 4)
        await counter.reached(3)  // already reached
        async let waiting: Void = counter.reached(6)
        counter.advance(to: 5)
        counter.advance(to: 6)
        await waiting
        #expect(counter.value == 6)
    }

    @Test("Cancelling the waiting task ends its wait")
    func cancelled() async {
        let counter = AcknowledgementCounter(scanner: { _ in nil })
        let waiting = Task { await counter.reached(100) }
        waiting.cancel()
        await waiting.value
        #expect(counter.value == 0)
    }

    @Test("consume counts plain AudioAdded text messages (the vendor's scanner) and nothing else")
    func consume() throws {
        let scanner = try #require(Speechmatics(credentials: .none).acknowledgementScanner)
        let counter = AcknowledgementCounter(scanner: scanner)
        func offer(_ text: String) -> Bool {
            let bytes = Array(text.utf8)
            return counter.consume(bytes.span)
        }
        #expect(offer(#"{"message":"AudioAdded","seq_no":5}"#))
        #expect(counter.value == 5)
        #expect(!offer(#"{"message":"AddTranscript","results":[]}"#))
        #expect(!offer(#"{"message":"AudioAdded","seq_no":7,"x":1}"#))
        #expect(counter.value == 5)
    }
}
