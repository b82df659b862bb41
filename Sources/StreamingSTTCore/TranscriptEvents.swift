/// The events of a ``StreamingTranscriber`` session, as an `AsyncSequence`.
///
/// Nothing is ever dropped: events wait in memory until they are read, so read them
/// continuously. The sequence ends after
/// ``/StreamingSTTProtocol/TranscriptEvent/terminated(_:)`` or
/// ``/StreamingSTTProtocol/TranscriptEvent/error(_:)``. Iterate it from one task.
public struct TranscriptEvents: AsyncSequence, Sendable {
    /// An event.
    public typealias Element = TranscriptEvent
    /// The sequence never throws: failures arrive as
    /// ``/StreamingSTTProtocol/TranscriptEvent/error(_:)``.
    public typealias Failure = Never

    let handOff: EventHandOff

    /// Creates the iterator.
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(handOff: handOff) }

    /// Iterates the events.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let handOff: EventHandOff

        /// The next event, or `nil` after the last one (or when the iterating task is cancelled).
        public mutating func next() async -> TranscriptEvent? { await handOff.next() }

        /// The next event, or `nil` after the last one (or when the iterating task is cancelled).
        public mutating func next(isolation actor: isolated (any Actor)?) async -> TranscriptEvent? {
            await handOff.next()
        }
    }
}

@available(*, unavailable)
extension TranscriptEvents.AsyncIterator: Sendable {}
