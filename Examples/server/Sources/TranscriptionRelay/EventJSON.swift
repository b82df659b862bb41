import Foundation
import StreamingSTTCore

/// The JSON objects the relay sends to its clients, one per WebSocket text message, in the
/// `transcribe --format jsonl` shape:
///
/// - `{"type":"begin","id":…,"provider":…}`
/// - `{"type":"partial"|"final","text":…,"start":s,"end":s,"words":[{"text","start","end","confidence","speaker"?}],"endOfTurn":bool}`
/// - `{"type":"terminated","audioDuration":s,"sessionDuration":s}`
/// - `{"type":"error","code":…,"message":…,"retryable":bool}`, with `"vendorCode"` and
///   `"httpStatus"` (a number) when the error has them
/// - `{"type":"state","state":"connecting"|"open"|"reconnecting"|"rolling_over"|"stopping"|"ended"}`,
///   with `"attempt"` (from 1) when reconnecting: the library's connection state
///   (`StreamingTranscriber.connectionStates`, ``RelayConnectionState``); `ended` is the last
///   message before the close
/// - `{"type":"lag","lag":s,"maxLag":s,"transcribedUntil":s,"audioSent":s}`: the library's
///   transcript lag (`StreamingTranscriber.statistics`), after each `final`, before
///   `terminated`, and every ``RelayConfiguration/lagReportInterval`` in between when it changed:
///   how far the newest final's end (`transcribedUntil`) trails the audio sent to
///   the vendor (`audioSent`), and the largest lag so far
/// - `{"type":"lagging","lag":s,"bound":s,"transcribedUntil":s,"audioSent":s}`: the library's
///   warning that the lag went above `bound` (``RelayConfiguration/transcriptLagWarning``)
///
/// Times are seconds from the start of the audio, durations seconds. Other events (end of
/// utterance, speech started, vendor notices, raw messages, reconnection notices, speakers,
/// translations, audio events, speaker revisions) are not forwarded. The text is
/// compact, its members in alphabetical order (JSON objects are unordered); a number JSON cannot
/// represent (NaN, infinity) is written as `null`.
public enum EventJSON {
    /// The JSON for `event`, or `nil` for an event that is not forwarded.
    public static func encode(_ event: TranscriptEvent) -> String? {
        switch event {
        case .begin(let session):
            return json(Begin(id: session.id, provider: session.provider.rawValue))
        case .partial(let transcript):
            return json(TranscriptMessage(type: "partial", transcript))
        case .final(let transcript):
            return json(TranscriptMessage(type: "final", transcript))
        case .terminated(let summary):
            return json(
                Terminated(
                    audioDuration: Number(summary.audioDuration), sessionDuration: Number(summary.sessionDuration)))
        case .error(let error):
            return json(
                ErrorMessage(
                    code: error.code.description, message: error.reason.isEmpty ? error.description : error.reason,
                    retryable: error.isRetryable, vendorCode: error.vendorCode, httpStatus: error.httpStatus))
        case .lagging(let lag):
            return json(
                Lagging(
                    lag: Number(lag.lag), bound: Number(lag.bound), transcribedUntil: Number(lag.transcribedUntil),
                    audioSent: Number(lag.audioSent)))
        case .endOfUtterance, .speechStarted, .info, .warning, .raw, .reconnecting, .reconnected, .speakers,
            .translation, .audioEvent, .speakerRevision:
            return nil
        }
    }

    /// The connection state message, `{"state":…,"type":"state"}`, with `"attempt"` when
    /// reconnecting.
    public static func state(_ state: RelayConnectionState) -> String {
        var attempt: Int?
        if case .reconnecting(let number) = state { attempt = number }
        return json(StateMessage(state: state.name, attempt: attempt))
    }

    /// The transcript lag message, `{"audioSent":…,"lag":…,"maxLag":…,"transcribedUntil":…,"type":"lag"}`,
    /// from the session's statistics.
    public static func lag(_ statistics: SessionStatistics) -> String {
        json(
            Lag(
                lag: Number(statistics.transcriptLag), maxLag: Number(statistics.maxTranscriptLag),
                transcribedUntil: Number(statistics.transcribedUntil), audioSent: Number(statistics.audioSecondsSent)))
    }

    /// An error the relay itself reports (`unauthorized`, `too_many_sessions`, …).
    public static func error(code: String, message: String, retryable: Bool) -> String {
        json(ErrorMessage(code: code, message: message, retryable: retryable))
    }

    /// `value` as compact JSON text, members in alphabetical order.
    static func json(_ value: some Encodable) -> String {
        // Encoding cannot fail: the relay's types hold strings, Booleans, integers and `Number`s.
        String(decoding: try! encoder.encode(value), as: UTF8.self)
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        // Sorted: the same event always gives the same text. Slashes as they are (URLs).
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}

// MARK: - The messages

extension EventJSON {
    private struct Begin: Encodable {
        let type = "begin"
        var id: String
        var provider: String
    }

    private struct TranscriptMessage: Encodable {
        /// `partial` or `final`.
        var type: String
        var text: String
        var start: Number
        var end: Number
        var words: [WordMessage]
        var endOfTurn: Bool

        init(type: String, _ transcript: Transcript) {
            self.type = type
            text = transcript.text
            start = Number(transcript.start)
            end = Number(transcript.end)
            words = transcript.words.map(WordMessage.init)
            endOfTurn = transcript.isEndOfTurn
        }
    }

    private struct WordMessage: Encodable {
        var text: String
        var start: Number
        var end: Number
        var confidence: Number
        /// Absent when the vendor labels no speaker.
        var speaker: String?

        init(_ word: Word) {
            text = word.text
            start = Number(word.start)
            end = Number(word.end)
            confidence = Number(word.confidence)
            speaker = word.speaker
        }
    }

    private struct StateMessage: Encodable {
        let type = "state"
        var state: String
        /// Only when reconnecting.
        var attempt: Int?
    }

    private struct Lag: Encodable {
        let type = "lag"
        var lag: Number
        var maxLag: Number
        var transcribedUntil: Number
        var audioSent: Number
    }

    private struct Lagging: Encodable {
        let type = "lagging"
        var lag: Number
        var bound: Number
        var transcribedUntil: Number
        var audioSent: Number
    }

    private struct Terminated: Encodable {
        let type = "terminated"
        var audioDuration: Number
        var sessionDuration: Number
    }

    private struct ErrorMessage: Encodable {
        let type = "error"
        var code: String
        var message: String
        var retryable: Bool
        /// Absent when the vendor gave no code.
        var vendorCode: String?
        /// Absent when the failure was not an HTTP answer.
        var httpStatus: Int?
    }

    /// A number member. JSON has no NaN or infinity, and `JSONEncoder` would fail the whole
    /// message on one, so those are written as `null`.
    private struct Number: Encodable {
        var value: Double

        init(_ value: Double) { self.value = value }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            if value.isFinite {
                try container.encode(value)
            } else {
                try container.encodeNil()
            }
        }
    }
}

/// A relayed session's connection to the vendor: the library's `ConnectionState`
/// (`StreamingTranscriber.connectionStates`) as the relay tells its client (the `state` message
/// of ``EventJSON``). A page shows it.
public enum RelayConnectionState: Sendable, Hashable {
    /// The vendor session is starting (connecting, then waiting for its begin message).
    case connecting
    /// A vendor session receives the audio.
    case open
    /// The connection was lost and the library is opening a new session; `attempt` counts from 1.
    case reconnecting(attempt: Int)
    /// The session nears its time limit: the library is opening the next one; this one still
    /// transcribes.
    case rollingOver
    /// The client (or the relay: duration cap, shutdown) stopped the session; the last finals are
    /// on their way.
    case stopping
    /// The vendor session ended (gracefully or not: an `error` message says why); the close follows.
    case ended

    /// The relay's state for the library's `state`; `nil` for `idle` (never sent: the session
    /// starts as soon as the relay creates it).
    public init?(_ state: ConnectionState) {
        switch state {
        case .idle: return nil
        case .connecting: self = .connecting
        case .open: self = .open
        case .reconnecting(let attempt): self = .reconnecting(attempt: attempt)
        case .rollingOver: self = .rollingOver
        case .stopping: self = .stopping
        case .ended: self = .ended
        }
    }

    /// The name in the `state` message: `connecting`, `open`, `reconnecting`, `rolling_over`,
    /// `stopping` or `ended`.
    public var name: String {
        switch self {
        case .connecting: "connecting"
        case .open: "open"
        case .reconnecting: "reconnecting"
        case .rollingOver: "rolling_over"
        case .stopping: "stopping"
        case .ended: "ended"
        }
    }
}
