/// Turns the script's audio events into Speechmatics `AudioEventStarted` / `AudioEventEnded`
/// messages as received audio passes their times, for the types `audio_events_config` asks for
/// (every type when it lists none). A pure state machine.
///
/// In a multichannel session each channel has one, for the sounds heard on it
/// (``EmulatorScript/AudioEvent/channel``), and its messages carry `"channel":"<label>"` on the
/// root: the field appears only with channel diarization (protocol note §4.6).
struct SpeechmaticsAudioEvents: Sendable {
    private struct Mark: Sendable {
        var time: Int
        var json: EmulatorJSON
    }

    /// Start and end messages, in time order (a start before an end at the same time).
    private let marks: [Mark]
    private var next = 0

    /// - Parameters:
    ///   - channel: the channel's index and label in a multichannel session; `nil` for one channel.
    init(script: EmulatorScript, types: [String]?, channel: (index: Int, label: String)? = nil) {
        guard let types else {
            marks = []
            return
        }
        let labelled: [(String, EmulatorJSON)] = channel.map { [("channel", .string($0.label))] } ?? []
        func milliseconds(_ seconds: Double) -> Int { Int((seconds * 1000).rounded()) }
        func seconds(_ milliseconds: Int) -> EmulatorJSON { .double(Double(milliseconds) / 1000) }
        var marks: [(mark: Mark, order: Int)] = []
        for event in script.audioEvents where types.isEmpty || types.contains(event.type) {
            if let channel, let heardOn = event.channel, heardOn != channel.index { continue }
            let start = milliseconds(event.start)
            let end = max(start, milliseconds(event.end))
            marks.append(
                (
                    Mark(
                        time: start,
                        json: .obj(
                            [
                                ("message", .string("AudioEventStarted")),
                                (
                                    "event",
                                    .obj([
                                        ("type", .string(event.type)), ("start_time", seconds(start)),
                                        ("confidence", .double(event.confidence)),
                                    ])
                                ),
                            ] + labelled)), 0
                ))
            marks.append(
                (
                    Mark(
                        time: end,
                        json: .obj(
                            [
                                ("message", .string("AudioEventEnded")),
                                ("event", .obj([("type", .string(event.type)), ("end_time", seconds(end))])),
                            ] + labelled)), 1
                ))
        }
        self.marks = marks.enumerated().sorted {
            ($0.element.mark.time, $0.element.order, $0.offset) < ($1.element.mark.time, $1.element.order, $1.offset)
        }.map(\.element.mark)
    }

    /// The messages due once `audio` milliseconds of audio have been received.
    mutating func advance(to audio: Int) -> [EmulatorJSON] {
        var messages: [EmulatorJSON] = []
        while next < marks.count, marks[next].time <= audio {
            messages.append(marks[next].json)
            next += 1
        }
        return messages
    }
}
