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
/// - `{"type":"state","state":"connecting"|"open"|"reconnecting"|"ended"}`: the session's
///   connection to the vendor as the relay sees it (``RelayConnectionState``): `connecting` when
///   the vendor session starts, `open` with `begin` and after a reconnection, `reconnecting` while
///   the library reconnects, `ended` as the last message before the close
///
/// Times are seconds from the start of the audio. Other events (end of utterance, speech
/// started, vendor notices, raw messages, reconnection notices, speakers, translations, audio
/// events, speaker revisions) are not forwarded. The text is
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
        case .endOfUtterance, .speechStarted, .info, .warning, .raw, .reconnecting, .reconnected, .speakers,
            .translation, .audioEvent, .speakerRevision, .lagging:
            return nil
        }
    }

    /// The connection state message, `{"state":…,"type":"state"}`.
    public static func state(_ state: RelayConnectionState) -> String {
        json(StateMessage(state: state.rawValue))
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

/// A relayed session's connection to the vendor, as the relay sees it from the events it relays
/// (the `state` message of ``EventJSON``). A page shows it; it changes only with the events below.
public enum RelayConnectionState: String, Sendable, Hashable, CaseIterable {
    /// The vendor session is starting (connecting, then waiting for its begin message).
    case connecting
    /// The vendor session began (`begin`), or a reconnection succeeded (`reconnected`).
    case open
    /// The connection was lost or is rolling over, and the library is reconnecting (`reconnecting`).
    case reconnecting
    /// The vendor session ended (after `terminated`, or an `error`); the close follows.
    case ended

    /// The state `event` moves the session to; `nil` when it does not change it.
    public init?(after event: TranscriptEvent) {
        switch event {
        case .begin, .reconnected: self = .open
        case .reconnecting: self = .reconnecting
        default: return nil
        }
    }
}
