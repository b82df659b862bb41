/// The lifecycle of one session (one connection) of a vendor's service, as a pure state machine.
///
/// The driver feeds it what happens (the connection opened, a message arrived, the connection
/// closed, the caller wants to send audio or end it) and executes the ``SessionAction``s it
/// returns; it never touches a socket, a task or a clock. The vendor's messages come from its
/// ``SessionDialect``; the rules here are the same for every vendor:
///
/// - connecting → starting (the dialect's start messages go out) → streaming once the service
///   says the session started → ending once the end message went out → ended;
/// - audio is refused until the session started and after the end message;
/// - with an acknowledgement window, at most that many audio messages wait for their
///   acknowledgement: when the window is full, the driver waits until half of it is free (waking
///   the sender at every acknowledgement would cost a wake-up per chunk);
/// - once ended (finished or failed) every further input is ignored: nothing is delivered twice.
package struct SessionStateMachine: Sendable {
    /// Where the session is.
    package enum Phase: Sendable, Hashable {
        /// The connection is being made.
        case connecting
        /// Connected; waiting for the service to start the session.
        case starting
        /// Started: audio goes to the service.
        case streaming
        /// The end message went out; the last transcripts are on their way.
        case ending
        /// Over: finished or failed.
        case ended
    }

    private var dialect: any SessionDialect
    /// The audio on the wire (for the seconds sent).
    package let wire: WireAudio
    /// The dialect's acknowledgement window.
    private let acknowledgementWindow: Int?
    /// Where the session is.
    package private(set) var phase = Phase.connecting
    /// What the service said when it started the session.
    package private(set) var info: SessionInfo?
    /// Audio messages sent.
    package private(set) var chunksSent = 0
    /// The highest acknowledged audio message (0 before the first); in a multichannel session,
    /// the lowest of the channels' (each channel has its own window: the slowest holds the sender).
    package private(set) var chunksAcknowledged = 0
    /// The labels of a multichannel session's channels (empty for a single channel).
    package let channelLabels: [String]
    /// The highest acknowledged audio message of each channel of a multichannel session.
    private var channelAcknowledgements: [String: Int] = [:]
    /// Bytes of audio sent.
    package private(set) var bytesSent = 0
    /// Whether the end message went out.
    package private(set) var endMessageSent = false
    /// How far the service has transcribed: the end of the latest partial or final, in seconds of
    /// this session's audio.
    package private(set) var transcribedUntil = 0.0
    /// Whether the session produced a partial or a final (it works).
    package private(set) var producedTranscript = false
    /// Why the session failed, once it did.
    package private(set) var failure: TranscriptionError?

    /// Creates the machine of a new session.
    package init(dialect: any SessionDialect, wire: WireAudio) {
        self.dialect = dialect
        self.wire = wire
        self.acknowledgementWindow = dialect.acknowledgementWindow
        self.channelLabels = dialect.channelLabels
    }

    /// The provider.
    package var provider: ProviderKind { dialect.provider }

    /// Whether the session is over.
    package var isEnded: Bool { phase == .ended }

    /// Seconds of audio sent.
    package var secondsSent: Double { wire.seconds(ofBytes: bytesSent) }

    /// Seconds of audio sent that the service has not transcribed yet.
    package var untranscribedSeconds: Double { max(0, secondsSent - transcribedUntil) }

    // MARK: - The connection

    /// The connection is open: the messages that start the session.
    package mutating func connected() -> [SessionAction] {
        guard phase == .connecting else { return [] }
        phase = .starting
        return dialect.startMessages().map(SessionAction.sendText)
    }

    /// A text message from the service.
    package mutating func received(_ text: String) -> [SessionAction] {
        guard phase != .ended else { return [] }
        return apply(dialect.decode(text))
    }

    /// Acknowledgements counted outside the machine (read on the transport's thread, without the
    /// JSON parser), up to audio message `sequence`.
    package mutating func acknowledged(through sequence: Int) {
        chunksAcknowledged = max(chunksAcknowledged, sequence)
    }

    /// The connection closed with a close frame (`code`, `reason`), or without one (code 1005).
    package mutating func closed(code: UInt16, reason: String) -> [SessionAction] {
        guard phase != .ended else { return [] }
        var actions = apply(dialect.flush())
        guard phase != .ended else { return actions }
        if let error = dialect.closeError(code: code, reason: reason) {
            actions.append(fail(error))
        } else if endMessageSent {
            phase = .ended
            actions.append(.finished(SessionEnd()))
        } else {
            actions.append(
                fail(
                    TranscriptionError(
                        .serverClosed, provider: provider, reason: "the service closed the session without ending it",
                        closeCode: code, isRetryable: true)))
        }
        return actions
    }

    /// The connection broke (`error` is the transport's failure, already mapped).
    package mutating func connectionFailed(_ error: TranscriptionError) -> [SessionAction] {
        guard phase != .ended else { return [] }
        var actions = apply(dialect.flush())
        if phase != .ended { actions.append(fail(error)) }
        return actions
    }

    /// The service did not start the session within `limit` (a no-op once it started).
    package mutating func startTimedOut(after limit: Duration) -> [SessionAction] {
        guard phase == .connecting || phase == .starting else { return [] }
        return [
            fail(
                TranscriptionError(
                    .timeout, provider: provider, reason: "the service did not start the session within \(limit)",
                    isRetryable: true))
        ]
    }

    /// The driver ended the session itself (a failure elsewhere, a cancellation, or a graceful end
    /// it no longer waits for): later inputs are ignored.
    package mutating func abandon(_ error: TranscriptionError? = nil) {
        guard phase != .ended else { return }
        phase = .ended
        if failure == nil { failure = error }
    }

    // MARK: - Audio

    /// Whether an audio chunk may go now. (`mutating` although it changes nothing: the driver keeps
    /// the machine in a class, and a mutating call works on it in place where a non-mutating one
    /// copies the whole machine, its dialect included, for every chunk.)
    package mutating func prepareAudio() -> AudioDecision {
        switch phase {
        case .connecting, .starting:
            return .refuse(
                TranscriptionError(.notStarted, provider: provider, reason: "the session has not started"))
        case .ending, .ended:
            return .refuse(
                failure
                    ?? TranscriptionError(
                        .sessionEnded, provider: provider, reason: "the session is ending", isRetryable: true))
        case .streaming:
            break
        }
        if let window = acknowledgementWindow, chunksSent - chunksAcknowledged >= window {
            return .waitForAcknowledgements(through: chunksSent - (window - max(1, window / 2)))
        }
        return .send
    }

    /// The text messages that carry `chunk` (interleaved wire audio) in a multichannel session,
    /// one per channel, or `nil` when it goes as one binary message. (`mutating` for the reason
    /// ``prepareAudio()`` is: called for every chunk on the machine the driver keeps in a class; a
    /// non-mutating call copied the whole machine each time, about 1 000 instructions per chunk.)
    package mutating func channelAudioMessages(_ chunk: [UInt8]) -> [String]? {
        channelLabels.isEmpty ? nil : dialect.channelAudioMessages(chunk)
    }

    /// The highest acknowledged audio message of the channel labelled `channel` (0 before the first).
    package func acknowledgedChunks(onChannel channel: String) -> Int { channelAcknowledgements[channel] ?? 0 }

    /// An audio chunk of `byteCount` bytes went out (in a multichannel session: one message per
    /// channel, each channel's count going up by one).
    package mutating func audioSent(byteCount: Int) {
        chunksSent += 1
        bytesSent += byteCount
    }

    /// Acknowledgements stopped coming for `timeout` while the window was full. In a
    /// multichannel session the error names the channel that holds the window: the one least
    /// acknowledged (the first in channel order when several are).
    package mutating func acknowledgementsTimedOut(after timeout: Duration) -> [SessionAction] {
        guard phase != .ended else { return [] }
        let lagging = channelLabels.min { (channelAcknowledgements[$0] ?? 0) < (channelAcknowledgements[$1] ?? 0) }
        return [fail(dialect.acknowledgementTimeout(after: timeout, channel: lagging))]
    }

    /// No more audio: the vendor's end message (nothing unless the session is streaming).
    package mutating func endOfAudio() -> [SessionAction] {
        guard phase == .streaming else { return [] }
        phase = .ending
        endMessageSent = true
        return dialect.endMessages(audioMessagesSent: chunksSent).map(SessionAction.sendText)
    }

    // MARK: - Control

    /// Ends the current turn at once (nothing unless the session is streaming).
    package func forceEndOfTurn() -> [SessionAction] {
        guard phase == .streaming else { return [] }
        return [.sendText(dialect.forceEndOfTurnMessage(audioSecondsSent: secondsSent))]
    }

    /// Asks for the speakers identified so far, or at the end of the stream with `final` (nothing
    /// unless the session is streaming).
    /// - Throws: ``TranscriptionError/Code/invalidConfiguration`` when the vendor has no such request.
    package func requestSpeakers(final: Bool) throws(TranscriptionError) -> [SessionAction] {
        let message = try dialect.speakersRequestMessage(final: final)
        guard phase == .streaming else { return [] }
        return [.sendText(message)]
    }

    /// Keeps an idle session open, where the vendor has a message for it (before the end message).
    package func keepAlive() -> [SessionAction] {
        guard phase == .starting || phase == .streaming, let message = dialect.keepAliveMessage() else { return [] }
        return [.sendText(message)]
    }

    /// A mid-session configuration change: its message (nothing is sent once the session ends,
    /// but later messages are read as it says).
    /// - Throws: ``TranscriptionError/Code/invalidConfiguration`` when the vendor cannot make it.
    package mutating func update(_ update: ConfigurationUpdate) throws(TranscriptionError) -> [SessionAction] {
        let message = try dialect.update(update)
        return phase == .ended ? [] : [.sendText(message)]
    }

    // MARK: - Decoded messages

    private mutating func apply(_ messages: [DecodedMessage]) -> [SessionAction] {
        var actions: [SessionAction] = []
        actions.reserveCapacity(messages.count)
        for message in messages {
            guard phase != .ended else { break }
            switch message {
            case .event(let event):
                switch event {
                case .partial(let transcript), .final(let transcript):
                    producedTranscript = true
                    transcribedUntil = max(transcribedUntil, transcript.end)
                default:
                    break
                }
                actions.append(.deliver(event))
            case .started(let started):
                guard info == nil else { continue }
                info = started
                if phase == .starting || phase == .connecting { phase = .streaming }
                actions.append(.started(started))
            case .acknowledged(let sequence):
                // A multichannel session is acknowledged per channel only.
                if channelLabels.isEmpty { acknowledged(through: sequence) }
            case .channelAcknowledged(let channel, let sequence):
                guard channelLabels.contains(channel) else { continue }  // not a channel of this session
                channelAcknowledgements[channel] = max(channelAcknowledgements[channel] ?? 0, sequence)
                acknowledged(through: channelLabels.map { channelAcknowledgements[$0] ?? 0 }.min() ?? 0)
            case .finished(let end):
                phase = .ended
                actions.append(.finished(end))
            case .failed(let error):
                actions.append(fail(error))
            }
        }
        return actions
    }

    private mutating func fail(_ error: TranscriptionError) -> SessionAction {
        phase = .ended
        failure = error
        return .failed(error)
    }
}
