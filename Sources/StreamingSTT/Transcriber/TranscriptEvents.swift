/// The events of a ``StreamingTranscriber`` session, as an `AsyncSequence`.
///
/// Nothing is ever dropped: events wait in memory until they are read, so read them
/// continuously. The sequence ends after ``TranscriptEvent/terminated(_:)`` or
/// ``TranscriptEvent/error(_:)``. Iterate it from one task.
public struct TranscriptEvents: AsyncSequence, Sendable {
    /// An event.
    public typealias Element = TranscriptEvent
    /// The sequence never throws: failures arrive as ``TranscriptEvent/error(_:)``.
    public typealias Failure = Never

    let stream: AsyncStream<TranscriptEvent>

    /// Creates the iterator.
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: stream.makeAsyncIterator()) }

    /// Iterates the events.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncStream<TranscriptEvent>.AsyncIterator

        /// The next event, or `nil` after the last one.
        public mutating func next() async -> TranscriptEvent? { await base.next() }

        /// The next event, or `nil` after the last one.
        public mutating func next(isolation actor: isolated (any Actor)?) async -> TranscriptEvent? {
            await base.next(isolation: actor)
        }
    }
}

@available(*, unavailable)
extension TranscriptEvents.AsyncIterator: Sendable {}
