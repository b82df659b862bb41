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
///
/// Times are seconds from the start of the audio. Other events (end of utterance, speech
/// started, vendor notices, raw messages, reconnection notices) are not forwarded. The text is
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
        case .endOfUtterance, .speechStarted, .info, .warning, .raw, .reconnecting, .reconnected, .speakers, .lagging:
            return nil
        }
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
