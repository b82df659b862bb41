/// Where every byte of a transcriber's wire audio stands, by its position in the whole stream
/// (bytes from the start of the audio): produced, covered by a final, kept for replay, given to a
/// session, or lost. Pure; the driver records what happened and asks what to replay.
///
/// Without a reconnection policy it only counts the stream; with one it also keeps an
/// ``AudioBacklog`` of the audio a new session may still need.
package struct AudioLedger: Sendable {
    /// The audio kept for replay (only with a reconnection policy).
    package private(set) var backlog: AudioBacklog?
    /// Bytes of wire audio produced so far: the position of the next chunk.
    package private(set) var streamPosition = 0
    /// The position up to which finals have covered the audio.
    package private(set) var finalizedPosition = 0
    /// Where the audio of the latest session to receive audio started: audio before it was given
    /// to a session (or counted as lost).
    package private(set) var accountedPosition = 0
    /// Audio that no session transcribes, in bytes.
    package private(set) var lostBytes = 0

    /// Creates a ledger that keeps up to `replayCapacity` bytes for replay, or none when `nil`.
    package init(replayCapacity: Int?) {
        backlog = replayCapacity.map(AudioBacklog.init(capacity:))
    }

    /// Whether audio is kept for replay.
    package var keepsAudio: Bool { backlog != nil }

    /// The next chunk of the stream was produced.
    package mutating func append(_ chunk: [UInt8]) {
        streamPosition += chunk.count
        backlog?.append(chunk)
    }

    /// The chunk kept at `position`, if any.
    package func chunk(at position: Int) -> [UInt8]? { backlog?.chunk(at: position) }

    /// The oldest position kept (the stream's end when nothing is).
    package var oldestKeptPosition: Int { backlog?.startPosition ?? streamPosition }

    /// A final covered the audio up to `position`.
    package mutating func finalized(upTo position: Int) {
        finalizedPosition = max(finalizedPosition, position)
    }

    /// Drops what finals cover and what is over capacity, keeping what the session receiving the
    /// audio has not been sent yet (`unsentFrom`; `nil` while no session receives audio: then
    /// nothing not yet finalized may be dropped except over capacity).
    package mutating func trim(unsentFrom position: Int?) {
        backlog?.trim(finalizedUpTo: finalizedPosition, droppableUpTo: position ?? .max)
    }

    /// A new session takes over after an outage: it is given the audio from the oldest kept
    /// position. Returns that position and the bytes lost (neither finalized nor kept).
    package mutating func resume() -> (start: Int, lost: Int) {
        let start = oldestKeptPosition
        let lost = max(0, start - max(finalizedPosition, accountedPosition))
        lostBytes += lost
        accountedPosition = start
        return (start, lost)
    }

    /// A rollover moved the audio to the next session at `position`.
    package mutating func rolledOver(at position: Int) {
        accountedPosition = position
    }

    /// A session ended by a rollover sent its last finals: everything it was sent before the next
    /// session's start (`handedOverAt`) is covered.
    package mutating func drained(sentUpTo sent: Int, handedOverAt start: Int) {
        finalizedPosition = max(finalizedPosition, min(sent, start))
    }

    /// A session ended by a rollover failed before its last finals: what it was sent before the
    /// next session's start and no final covered is lost.
    package mutating func drainFailed(sentUpTo sent: Int, handedOverAt start: Int) {
        lostBytes += max(0, min(sent, start) - finalizedPosition)
    }
}
