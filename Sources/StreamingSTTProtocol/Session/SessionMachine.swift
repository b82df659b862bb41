/// What a ``SessionStateMachine`` asks its driver to do. Pure values: the machines do no I/O.
package enum SessionAction: Sendable, Equatable {
    /// Send this text message on the session's connection.
    case sendText(String)
    /// Deliver this event to the caller (times in the session's own audio time).
    case deliver(TranscriptEvent)
    /// The service started the session (its `begin` event comes as a ``deliver(_:)`` too).
    case started(SessionInfo)
    /// The service sent its last message, or closed normally after the end message: the session
    /// is over, gracefully.
    case finished(SessionEnd)
    /// The session failed; it is over.
    case failed(TranscriptionError)
}

/// What the machine says about an audio chunk the driver wants to send.
package enum AudioDecision: Sendable, Equatable {
    /// Send it now (then report it with ``SessionStateMachine/audioSent(byteCount:)``).
    case send
    /// Too many chunks wait for their acknowledgement: wait until the service has acknowledged
    /// chunk `through` (then report it with ``SessionStateMachine/acknowledged(through:)`` and
    /// ask again).
    case waitForAcknowledgements(through: Int)
    /// The session cannot take audio (not started yet, or ending): this error says why.
    case refuse(TranscriptionError)
}

/// How a session ended gracefully: the service's last message and what it reported.
package struct SessionEnd: Sendable, Equatable {
    /// The vendor's last message (`nil` when the service closed without one).
    package var raw: RawMessage?
    /// Seconds of audio the service says it processed, when it says (AssemblyAI).
    package var audioDuration: Double?
    /// Seconds the service says the session lasted, when it says (AssemblyAI).
    package var sessionDuration: Double?

    /// Creates an end.
    package init(raw: RawMessage? = nil, audioDuration: Double? = nil, sessionDuration: Double? = nil) {
        self.raw = raw
        self.audioDuration = audioDuration
        self.sessionDuration = sessionDuration
    }
}

/// One vendor message, decoded: what it means for the session.
package enum DecodedMessage: Sendable, Equatable {
    /// An event for the caller.
    case event(TranscriptEvent)
    /// The session has started (the `begin` event comes as an ``event(_:)`` too).
    case started(SessionInfo)
    /// The service acknowledged audio chunk `seq_no` (Speechmatics `AudioAdded`).
    case acknowledged(Int)
    /// The service acknowledged audio message `sequence` of one channel of a multichannel session
    /// (Speechmatics `ChannelAudioAdded`, counted per channel from 1).
    case channelAcknowledged(channel: String, sequence: Int)
    /// The service's last message (`Termination`, `EndOfTranscript`).
    case finished(SessionEnd)
    /// The service reported an error; the session is over.
    case failed(TranscriptionError)
}

/// A vendor's half of a session: its messages both ways and what they mean. The lifecycle around
/// them (order, audio rules, acknowledgement window, ending) is ``SessionStateMachine``'s.
package protocol SessionDialect: Sendable {
    /// The provider this dialect speaks for.
    var provider: ProviderKind { get }
    /// The largest number of audio messages that may wait for their acknowledgement, or `nil`
    /// when the vendor does not acknowledge audio.
    var acknowledgementWindow: Int? { get }
    /// The messages that start a session once the connection is open (Speechmatics
    /// `StartRecognition`); none when the service starts on its own.
    func startMessages() -> [String]
    /// Decodes one text message.
    mutating func decode(_ text: String) -> [DecodedMessage]
    /// What is owed when the session ends without the vendor's last message (a final still held).
    mutating func flush() -> [DecodedMessage]
    /// The error a close code means when no error message came first, or `nil` for a normal close.
    func closeError(code: UInt16, reason: String) -> TranscriptionError?
    /// The message that ends the audio, given how many audio messages were sent.
    func endMessage(audioMessagesSent: Int) -> String
    /// The messages that end the audio: ``endMessage(audioMessagesSent:)`` unless the session is
    /// multichannel (Speechmatics: one `EndOfChannel` per channel).
    func endMessages(audioMessagesSent: Int) -> [String]
    /// The labels of the channels of a multichannel session, in the order their samples are
    /// interleaved on the wire; empty for a single-channel session.
    var channelLabels: [String] { get }
    /// The text messages that carry one interleaved wire chunk of a multichannel session, one per
    /// channel (Speechmatics `AddChannelAudio`), or `nil` when the chunk goes as one binary message.
    func channelAudioMessages(_ chunk: [UInt8]) -> [String]?
    /// The message that ends the current turn at once, given the seconds of audio sent.
    func forceEndOfTurnMessage(audioSecondsSent: Double) -> String
    /// The message that asks for the speakers identified so far (`final: false`) or at the end of
    /// the stream (`final: true`).
    /// - Throws: ``TranscriptionError/Code/invalidConfiguration`` when the vendor has no such request.
    func speakersRequestMessage(final: Bool) throws(TranscriptionError) -> String
    /// The message that keeps an idle session open, or `nil` when the vendor has none.
    func keepAliveMessage() -> String?
    /// The message for a mid-session configuration change, which also changes how later
    /// messages are read where it matters.
    /// - Throws: ``TranscriptionError/Code/invalidConfiguration`` when the vendor cannot make it.
    mutating func update(_ update: ConfigurationUpdate) throws(TranscriptionError) -> String
    /// The error when acknowledgements stop coming for `timeout` while the window is full; in a
    /// multichannel session `channel` is the label of the channel that holds the window.
    func acknowledgementTimeout(after timeout: Duration, channel: String?) -> TranscriptionError
}

extension SessionDialect {
    /// One end message.
    func endMessages(audioMessagesSent: Int) -> [String] { [endMessage(audioMessagesSent: audioMessagesSent)] }
    /// A single channel.
    var channelLabels: [String] { [] }
    /// Binary audio.
    func channelAudioMessages(_ chunk: [UInt8]) -> [String]? { nil }
}
