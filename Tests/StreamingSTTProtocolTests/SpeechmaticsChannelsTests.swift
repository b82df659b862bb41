import Testing

@testable import StreamingSTTProtocol

/// Speechmatics multichannel without sockets: `diarization` `channel` / `channel_and_speaker` with
/// `channel_diarization_labels`, each channel's audio as `AddChannelAudio` (base64), one
/// acknowledgement window per channel (`ChannelAudioAdded` counted per channel from 1), the end as
/// one `EndOfChannel` per channel, and `channel` read from transcripts and ends of utterance.
///
/// The messages follow the protocol note (§3.3, §3.5, §4.2, §12) and, where it is silent, the
/// official Python SDK `speechmatics-rt` 1.2.1 (`AsyncMultiChannelClient`: base64
/// `AddChannelAudio` round-robin, then one `EndOfChannel{channel, last_seq_no}` per channel with
/// that channel's count, and no `EndOfStream`).
@Suite("Speechmatics channels")
struct SpeechmaticsChannelsTests {
    static func options(
        _ diarization: Speechmatics.Diarization?, labels: [String], window: Int = 512
    ) -> Speechmatics {
        var options = Speechmatics(credentials: .apiKey("k"), language: "en")
        options.diarization = diarization
        options.channelDiarizationLabels = labels
        options.maxUnacknowledgedChunks = window
        return options
    }

    /// A configuration and the `transcription_config` it sends.
    struct Encoding: Sendable, CustomStringConvertible {
        let diarization: Speechmatics.Diarization
        let labels: [String]
        let json: String
        var description: String { json }
    }

    @Test(
        "channel diarization and its labels are sent exactly",
        arguments: [
            Encoding(
                diarization: .channel, labels: ["left", "right"],
                json: #"{"language":"en","diarization":"channel","channel_diarization_labels":["left","right"]}"#),
            Encoding(
                diarization: .channelAndSpeaker, labels: ["Agent", "Caller"],
                json:
                    #"{"language":"en","diarization":"channel_and_speaker","channel_diarization_labels":["Agent","Caller"]}"#
            ),
            Encoding(
                diarization: .channel, labels: ["only"],
                json: #"{"language":"en","diarization":"channel","channel_diarization_labels":["only"]}"#),
        ])
    func encoding(_ entry: Encoding) throws {
        let options = Self.options(entry.diarization, labels: entry.labels)
        try options.validate()
        #expect(options.transcriptionConfig.description == entry.json)
        #expect(options.audioChannelLabels == entry.labels)
        #expect(options.wireAudio.channelCount == entry.labels.count)
        #expect(options.wireAudio.bytesPerFrame == 2 * entry.labels.count)
    }

    @Test("a single-channel session has one wire channel and sends binary audio")
    func mono() {
        for diarization in [nil, .none, .speaker] as [Speechmatics.Diarization?] {
            let options = Self.options(diarization, labels: [])
            #expect(options.audioChannelLabels.isEmpty)
            #expect(options.wireAudio.channelCount == 1)
            var machine = options.makeSession()
            _ = machine.connected()
            _ = machine.received(#"{"message":"RecognitionStarted","id":"s"}"#)
            let messages = machine.channelAudioMessages([1, 2, 3, 4])
            #expect(messages == nil)
            #expect(
                SessionStateMachineTests.texts(machine.endOfAudio()) == [#"{"message":"EndOfStream","last_seq_no":0}"#]
            )
        }
    }

    @Test(
        "what the service refuses is refused before connecting",
        arguments: [
            (Speechmatics.Diarization.channel, []),
            (.channelAndSpeaker, []),
            (.channel, ["a", "a"]),
            (.channel, ["a", ""]),
            (.speaker, ["a", "b"]),
            (.none, ["a"]),
        ] as [(Speechmatics.Diarization, [String])])
    func refused(_ diarization: Speechmatics.Diarization, _ labels: [String]) {
        #expect(throws: TranscriptionError.self) { try Self.options(diarization, labels: labels).validate() }
    }

    @Test("channel_diarization_labels is a typed option: no passthrough may set it")
    func passthroughRefused() {
        var options = Self.options(.channel, labels: ["a", "b"])
        options.additionalTranscriptionConfig = ["channel_diarization_labels": #"["x"]"#]
        #expect(throws: TranscriptionError.self) { try options.validate() }
    }

    static func streaming(_ options: Speechmatics) -> SessionStateMachine {
        var machine = options.makeSession()
        _ = machine.connected()
        _ = machine.received(
            #"{"message":"RecognitionStarted","id":"s-1","channel_ids":["left","right"],"language_pack_info":{"word_delimiter":" "}}"#
        )
        return machine
    }

    /// An interleaved chunk and the `AddChannelAudio` messages it becomes.
    struct Split: Sendable, CustomStringConvertible {
        let encoding: Speechmatics.Encoding
        let labels: [String]
        let chunk: [UInt8]
        let messages: [String]
        var description: String { "\(encoding) \(labels)" }
    }

    @Test(
        "an interleaved chunk becomes one AddChannelAudio per channel, in label order, base64",
        arguments: [
            // s16: L=0x0001,0x0203  R=0xFFFE,0x0405 → left bytes 01 00 03 02 ("AQADAg=="), right FE FF 05 04 ("/v8FBA==").
            Split(
                encoding: .pcmS16LE, labels: ["left", "right"], chunk: [1, 0, 0xFE, 0xFF, 3, 2, 5, 4],
                messages: [
                    #"{"message":"AddChannelAudio","channel":"left","data":"AQADAg=="}"#,
                    #"{"message":"AddChannelAudio","channel":"right","data":"/v8FBA=="}"#,
                ]),
            // mu-law, three channels of one byte per frame.
            Split(
                encoding: .mulaw, labels: ["a", "b", "c"], chunk: [0x61, 0x62, 0x63, 0x64, 0x65, 0x66],
                messages: [
                    #"{"message":"AddChannelAudio","channel":"a","data":"YWQ="}"#,
                    #"{"message":"AddChannelAudio","channel":"b","data":"YmU="}"#,
                    #"{"message":"AddChannelAudio","channel":"c","data":"Y2Y="}"#,
                ]),
            // f32: four bytes a sample.
            Split(
                encoding: .pcmF32LE, labels: ["x", "y"], chunk: [0, 0, 0x80, 0x3F, 0, 0, 0x80, 0xBF],
                messages: [
                    #"{"message":"AddChannelAudio","channel":"x","data":"AACAPw=="}"#,
                    #"{"message":"AddChannelAudio","channel":"y","data":"AACAvw=="}"#,
                ]),
        ])
    func split(_ entry: Split) {
        var options = Self.options(.channel, labels: entry.labels)
        options.encoding = entry.encoding
        var machine = Self.streaming(options)
        let messages = machine.channelAudioMessages(entry.chunk)
        #expect(messages == entry.messages)
    }

    @Test("each channel has its own acknowledgement window: the slowest channel holds the sender")
    func windows() {
        var machine = Self.streaming(Self.options(.channel, labels: ["left", "right"], window: 4))
        for _ in 0..<4 {
            #expect(machine.prepareAudio() == .send)
            machine.audioSent(byteCount: 3200)
        }
        #expect(machine.prepareAudio() == .waitForAcknowledgements(through: 2))
        // The left channel caught up; the right one did not: still waiting.
        #expect(machine.received(#"{"message":"ChannelAudioAdded","channel":"left","seq_no":4}"#).isEmpty)
        #expect(machine.acknowledgedChunks(onChannel: "left") == 4)
        #expect(machine.acknowledgedChunks(onChannel: "right") == 0)
        #expect(machine.chunksAcknowledged == 0)
        #expect(machine.prepareAudio() == .waitForAcknowledgements(through: 2))
        // A plain AudioAdded means nothing in a multichannel session; an unknown label neither.
        _ = machine.received(#"{"message":"AudioAdded","seq_no":4}"#)
        _ = machine.received(#"{"message":"ChannelAudioAdded","channel":"centre","seq_no":4}"#)
        #expect(machine.chunksAcknowledged == 0)
        #expect(machine.received(#"{"seq_no":2,"channel":"right","message":"ChannelAudioAdded"}"#).isEmpty)
        #expect(machine.acknowledgedChunks(onChannel: "right") == 2)
        #expect(machine.chunksAcknowledged == 2)
        #expect(machine.prepareAudio() == .send)
        // Never lowered.
        _ = machine.received(#"{"message":"ChannelAudioAdded","channel":"left","seq_no":1}"#)
        #expect(machine.acknowledgedChunks(onChannel: "left") == 4)
    }

    @Test("the end of audio is one EndOfChannel per channel, with that channel's count")
    func endOfChannel() {
        var machine = Self.streaming(Self.options(.channelAndSpeaker, labels: ["left", "right"]))
        for _ in 0..<3 { machine.audioSent(byteCount: 3200) }
        #expect(
            SessionStateMachineTests.texts(machine.endOfAudio()) == [
                #"{"message":"EndOfChannel","channel":"left","last_seq_no":3}"#,
                #"{"message":"EndOfChannel","channel":"right","last_seq_no":3}"#,
            ])
        #expect(machine.prepareAudio() != .send)
        let actions = machine.received(#"{"message":"EndOfTranscript"}"#)
        #expect(actions.contains { if case .finished = $0 { true } else { false } })
    }

    /// A server message and the channel its event carries.
    struct Channelled: Sendable, CustomStringConvertible {
        let message: String
        let channel: String?
        var description: String { message }
    }

    static let word =
        #""results":[{"type":"word","start_time":0.5,"end_time":0.8,"alternatives":[{"content":"hello","confidence":0.9}]}]"#

    @Test(
        "transcripts and ends of utterance carry the channel from the message root",
        arguments: [
            Channelled(
                message:
                    #"{"message":"AddTranscript","channel":"right","metadata":{"transcript":"hello ","start_time":0.5,"end_time":0.8},"#
                    + word + "}",
                channel: "right"),
            Channelled(
                message:
                    #"{"message":"AddPartialTranscript","channel":"left","metadata":{"transcript":"hello","start_time":0.5,"end_time":0.8},"#
                    + word + "}",
                channel: "left"),
            // Before 2022 (speechmatics-python 5.0.0: "Moved channel field to root") it was on each result.
            Channelled(
                message:
                    #"{"message":"AddTranscript","metadata":{"transcript":"hello","start_time":0.5,"end_time":0.8},"results":[{"type":"word","channel":"left","start_time":0.5,"end_time":0.8,"alternatives":[{"content":"hello","confidence":0.9}]}]}"#,
                channel: "left"),
            Channelled(
                message:
                    #"{"message":"AddTranscript","metadata":{"transcript":"hello","start_time":0.5,"end_time":0.8},"#
                    + word + "}",
                channel: nil),
            Channelled(
                message: #"{"message":"EndOfUtterance","channel":"left","metadata":{"start_time":1.2,"end_time":1.2}}"#,
                channel: "left"),
            Channelled(
                message: #"{"message":"EndOfUtterance","metadata":{"start_time":1.2,"end_time":1.2}}"#, channel: nil),
        ])
    func decoding(_ entry: Channelled) {
        var decoder = SpeechmaticsDecoder()
        let events = decoder.decode(entry.message).compactMap { message -> TranscriptEvent? in
            if case .event(let event) = message { event } else { nil }
        }
        #expect(events.count == 1)
        switch events.first {
        case .final(let transcript), .partial(let transcript):
            #expect(transcript.channel == entry.channel)
        case .endOfUtterance(let end):
            #expect(end.channel == entry.channel)
        default:
            Issue.record("unexpected \(events)")
        }
    }

    @Test("ChannelAudioAdded is an acknowledgement of one channel, not an event")
    func acknowledgementDecoded() {
        var decoder = SpeechmaticsDecoder()
        #expect(
            decoder.decode(#"{"message":"ChannelAudioAdded","channel":"New_York","seq_no":10}"#) == [
                .channelAcknowledged(channel: "New_York", sequence: 10)
            ])
        // Without its required fields it is not understood: delivered raw.
        let broken = decoder.decode(#"{"message":"ChannelAudioAdded","seq_no":10}"#)
        #expect(broken.count == 1)
        if case .event(.raw) = broken.first {} else { Issue.record("\(broken)") }
    }

    /// Channel acknowledgements received before the timeout, and what the error names.
    struct Lagging: Sendable, CustomStringConvertible {
        let acknowledgements: [String]
        let reason: String
        var description: String { reason }
    }

    @Test(
        "an acknowledgement timeout in a multichannel session names ChannelAudioAdded and the channel that holds the window",
        arguments: [
            Lagging(
                acknowledgements: [#"{"message":"ChannelAudioAdded","channel":"left","seq_no":4}"#],
                reason: "no ChannelAudioAdded acknowledgement on channel right within 2.0 seconds"),
            Lagging(
                acknowledgements: [#"{"message":"ChannelAudioAdded","channel":"right","seq_no":3}"#],
                reason: "no ChannelAudioAdded acknowledgement on channel left within 2.0 seconds"),
            // Both behind by as much: the first in channel order.
            Lagging(
                acknowledgements: [], reason: "no ChannelAudioAdded acknowledgement on channel left within 2.0 seconds"),
            Lagging(
                acknowledgements: [
                    #"{"message":"ChannelAudioAdded","channel":"left","seq_no":1}"#,
                    #"{"message":"ChannelAudioAdded","channel":"right","seq_no":2}"#,
                ], reason: "no ChannelAudioAdded acknowledgement on channel left within 2.0 seconds"),
        ])
    func acknowledgementTimeout(_ entry: Lagging) {
        var machine = Self.streaming(Self.options(.channel, labels: ["left", "right"], window: 4))
        for _ in 0..<4 {
            _ = machine.prepareAudio()
            machine.audioSent(byteCount: 3200)
        }
        for acknowledgement in entry.acknowledgements { _ = machine.received(acknowledgement) }
        let actions = machine.acknowledgementsTimedOut(after: .seconds(2))
        guard let error = actions.lazy.compactMap({ if case .failed(let error) = $0 { error } else { nil } }).first
        else {
            Issue.record("no failure: \(actions)")
            return
        }
        #expect(error.code == .timeout && error.isRetryable)
        #expect(error.reason == entry.reason)
    }
}
