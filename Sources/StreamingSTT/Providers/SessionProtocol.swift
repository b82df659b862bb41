/// What decoding one vendor message asks the session to do. Pure values: the decoders do no I/O.
package enum SessionOutput: Sendable, Equatable {
    /// Deliver an event to the caller.
    case event(TranscriptEvent)
    /// The session has started (the `begin` event is delivered too).
    case started(SessionInfo)
    /// Speechmatics acknowledged audio chunk `seq_no`.
    case acknowledged(Int)
    /// The service's last message (`Termination`, `EndOfTranscript`) arrived.
    case finished(JSONValue)
    /// The service reported an error; the session is over.
    case failed(TranscriptionError)
}

/// A vendor's inbound protocol: decodes text frames into ``SessionOutput``s and interprets close
/// codes. One value per session; it keeps the little state the mapping needs.
package protocol SessionDecoder: Sendable {
    /// Decodes one text frame.
    mutating func decode(_ text: String) -> [SessionOutput]
    /// Outputs owed when the session ends without the vendor's last message (a pending final).
    mutating func flush() -> [SessionOutput]
    /// The error a close code without a preceding `Error` message means, or `nil` for a normal close.
    func closeError(_ frame: WebSocketCloseFrame) -> TranscriptionError?
    /// Whether every message should also be delivered as ``TranscriptEvent/raw(_:)``.
    var deliversRawMessages: Bool { get set }
    /// A configuration change sent to the session (some change how messages are read).
    mutating func apply(_ update: ConfigurationUpdate)
}

extension SessionDecoder {
    package mutating func apply(_ update: ConfigurationUpdate) {}

    /// Parses a frame, or returns the warning that it was not JSON.
    static func parse(_ text: String, provider: ProviderKind) -> ParsedFrame {
        do {
            return .json(try JSONValue(parsing: text))
        } catch {
            return .malformed(
                .warning(
                    VendorNotice(
                        type: "malformed_message",
                        reason: "the service sent a message that is not valid JSON (\(error))",
                        raw: .string(String(text.prefix(1024))))))
        }
    }
}

/// A text frame, parsed.
enum ParsedFrame {
    /// Valid JSON.
    case json(JSONValue)
    /// Not JSON: the warning to deliver instead.
    case malformed(TranscriptEvent)
}

extension JSONValue {
    /// A number given either as a number or as a numeric string.
    var looseDouble: Double? {
        switch self {
        case .number(let value): value
        case .string(let text): Double(text)
        default: nil
        }
    }
}
