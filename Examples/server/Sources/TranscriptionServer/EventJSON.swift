import StreamingSTTCore

/// The JSON objects the relay sends to its clients, one per WebSocket text message, in the
/// `transcribe --format jsonl` shape:
///
/// - `{"type":"begin","id":…,"provider":…}`
/// - `{"type":"partial"|"final","text":…,"start":s,"end":s,"words":[{"text","start","end","confidence","speaker"?}],"endOfTurn":bool}`
/// - `{"type":"terminated","audioDuration":s,"sessionDuration":s}`
/// - `{"type":"error","code":…,"message":…,"retryable":bool}`
///
/// Times are seconds from the start of the audio. Other events (end of utterance, speech
/// started, vendor notices, raw messages, reconnection notices) are not forwarded.
public enum EventJSON {
    /// The JSON for `event`, or `nil` for an event that is not forwarded.
    public static func encode(_ event: TranscriptEvent) -> String? {
        switch event {
        case .begin(let session):
            return JSONValue.object([
                ("type", .string("begin")), ("id", .string(session.id)),
                ("provider", .string(session.provider.rawValue)),
            ]).description
        case .partial(let transcript):
            return transcriptJSON("partial", transcript)
        case .final(let transcript):
            return transcriptJSON("final", transcript)
        case .terminated(let summary):
            return JSONValue.object([
                ("type", .string("terminated")), ("audioDuration", .number(summary.audioDuration)),
                ("sessionDuration", .number(summary.sessionDuration)),
            ]).description
        case .error(let error):
            var members: [(key: String, value: JSONValue)] = [
                ("type", .string("error")), ("code", .string(error.code.description)),
                ("message", .string(error.reason.isEmpty ? error.description : error.reason)),
                ("retryable", .bool(error.isRetryable)),
            ]
            if let vendorCode = error.vendorCode { members.append(("vendorCode", .string(vendorCode))) }
            if let status = error.httpStatus { members.append(("httpStatus", .number(Double(status)))) }
            return JSONValue.object(members).description
        case .endOfUtterance, .speechStarted, .info, .warning, .raw, .reconnecting, .reconnected:
            return nil
        }
    }

    /// An error the relay itself reports (`unauthorized`, `too_many_sessions`, …).
    public static func error(code: String, message: String, retryable: Bool) -> String {
        JSONValue.object([
            ("type", .string("error")), ("code", .string(code)), ("message", .string(message)),
            ("retryable", .bool(retryable)),
        ]).description
    }

    private static func transcriptJSON(_ type: String, _ transcript: Transcript) -> String {
        let words = transcript.words.map { word -> JSONValue in
            var members: [(key: String, value: JSONValue)] = [
                ("text", .string(word.text)), ("start", .number(word.start)), ("end", .number(word.end)),
                ("confidence", .number(word.confidence)),
            ]
            if let speaker = word.speaker { members.append(("speaker", .string(speaker))) }
            return .object(members)
        }
        return JSONValue.object([
            ("type", .string(type)), ("text", .string(transcript.text)), ("start", .number(transcript.start)),
            ("end", .number(transcript.end)), ("words", .array(words)), ("endOfTurn", .bool(transcript.isEndOfTurn)),
        ]).description
    }
}
