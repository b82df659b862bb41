/// A vendor message, parsed: its JSON, or the warning to deliver instead when it is not JSON.
package enum ParsedMessage {
    /// Valid JSON.
    case success(JSONValue)
    /// Not JSON: the warning event that reports it (with the first 1 024 characters of the text).
    case failure(TranscriptEvent)
}

extension JSONValue {
    /// Parses a message of `provider`'s service.
    package static func parseMessage(_ text: String, provider: ProviderKind) -> ParsedMessage {
        do {
            return .success(try JSONValue(parsing: text))
        } catch {
            return .failure(
                .warning(
                    VendorNotice(
                        type: "malformed_message",
                        reason: "the service sent a message that is not valid JSON (\(error))",
                        raw: RawMessage(provider: provider, type: "", text: String(text.prefix(1024))))))
        }
    }

    /// A number given either as a number or as a numeric string.
    package var looseDouble: Double? {
        switch self {
        case .number(let value): value
        case .string(let text): Double(text)
        default: nil
        }
    }
}
