/// The wire audio of a transcriber with a ``ReconnectionPolicy``: every chunk that a session may
/// still need, by its position in the whole stream (bytes from the start of the audio).
///
/// Chunks wait here until they are sent, and stay after that until a final covers them, so that a
/// new session can be given what the old one did not finalize. The audio kept is bounded by
/// `capacity`; ``trim(finalizedUpTo:droppableUpTo:)`` drops the oldest chunks beyond it.
package struct AudioBacklog: Sendable {
    private var chunks: [[UInt8]] = []
    private var positions: [Int] = []
    private var head = 0
    /// The position of the oldest chunk kept (``endPosition`` when none is).
    package private(set) var startPosition = 0
    /// The position after the newest chunk: every byte ever appended.
    package private(set) var endPosition = 0
    /// The most bytes kept.
    package let capacity: Int

    package init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    /// Bytes kept.
    package var count: Int { endPosition - startPosition }

    /// Adds the next chunk of the stream.
    package mutating func append(_ chunk: [UInt8]) {
        chunks.append(chunk)
        positions.append(endPosition)
        endPosition += chunk.count
    }

    /// The chunk that starts at `position`, if it is kept.
    package func chunk(at position: Int) -> [UInt8]? {
        var low = head
        var high = positions.count - 1
        while low <= high {
            let middle = (low + high) / 2
            if positions[middle] == position { return chunks[middle] }
            if positions[middle] < position { low = middle + 1 } else { high = middle - 1 }
        }
        return nil
    }

    /// Drops the chunks a final covers entirely (ending at or before `finalized`), then the
    /// oldest chunks while more than `capacity` is kept — but only chunks ending at or before
    /// `droppable` (audio a live session has not been sent yet is kept).
    package mutating func trim(finalizedUpTo finalized: Int, droppableUpTo droppable: Int) {
        while head < chunks.count {
            let end = positions[head] + chunks[head].count
            let covered = end <= finalized
            let overflowing = count > capacity && end <= droppable
            guard covered || overflowing else { break }
            chunks[head] = []
            head += 1
            startPosition = head < positions.count ? positions[head] : endPosition
        }
        if head > 64 && head * 2 >= chunks.count {
            chunks.removeFirst(head)
            positions.removeFirst(head)
            head = 0
        }
    }
}
