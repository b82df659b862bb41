/// Places the events of a transcriber's sessions on the whole stream: times count from the start
/// of the first session's audio, and turn orders keep going up across sessions. Pure.
package struct StreamTimeline: Sendable {
    /// The highest turn order delivered.
    private var highestTurn = -1
    /// For each session after the first, its own turn orders and the stream's for them.
    private var turnMaps: [Int: [Int: Int]] = [:]

    /// Creates an empty timeline.
    package init() {}

    /// The event of session `session`, whose audio starts `offset` seconds into the stream, with
    /// the stream's times and turn orders, and the session's number on transcripts.
    package mutating func place(_ event: TranscriptEvent, session: Int, offset: Double) -> TranscriptEvent {
        switch event {
        case .partial(let transcript):
            return .partial(place(transcript, session: session, offset: offset))
        case .final(let transcript):
            return .final(place(transcript, session: session, offset: offset))
        case .endOfUtterance(var mark):
            mark.time += offset
            return .endOfUtterance(mark)
        case .speechStarted(var mark):
            mark.time += offset
            return .speechStarted(mark)
        case .translation(var translation):
            guard offset != 0 else { return event }
            for index in translation.segments.indices {
                translation.segments[index].start += offset
                translation.segments[index].end += offset
            }
            translation.start += offset
            translation.end += offset
            return .translation(translation)
        case .audioEvent(var mark):
            mark.time += offset
            return .audioEvent(mark)
        case .speakerRevision(var revision):
            // Revised turns are turns already delivered: the stream's turn orders for them.
            for index in revision.turns.indices {
                if session > 0, let turn = turnMaps[session]?[revision.turns[index].turnOrder] {
                    revision.turns[index].turnOrder = turn
                }
                for word in revision.turns[index].words.indices {
                    revision.turns[index].words[word].start += offset
                    revision.turns[index].words[word].end += offset
                }
            }
            return .speakerRevision(revision)
        default:
            return event
        }
    }

    /// Forgets the turn orders of a session that ended.
    package mutating func forget(session: Int) {
        turnMaps[session] = nil
    }

    private mutating func place(_ transcript: Transcript, session: Int, offset: Double) -> Transcript {
        var moved = transcript
        moved.sessionIndex = session
        if session > 0 {
            if let turn = turnMaps[session]?[transcript.turnOrder] {
                moved.turnOrder = turn
            } else {
                highestTurn += 1
                turnMaps[session, default: [:]][transcript.turnOrder] = highestTurn
                moved.turnOrder = highestTurn
            }
        } else {
            highestTurn = max(highestTurn, transcript.turnOrder)
        }
        guard offset != 0 else { return moved }
        moved.start += offset
        moved.end += offset
        for index in moved.words.indices {
            moved.words[index].start += offset
            moved.words[index].end += offset
        }
        return moved
    }
}
