/// A secret string (API key or token) that never shows itself.
///
/// `print`, string interpolation, `dump` and `debugPrint` all show `<redacted>`; the value is
/// only read where it goes on the wire.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable,
    ExpressibleByStringLiteral
{
    package let value: String

    /// Wraps a secret value.
    public init(_ value: String) { self.value = value }

    /// Wraps a secret literal (tests only: never put a real key in source).
    public init(stringLiteral value: String) { self.value = value }

    /// `<redacted>`.
    public var description: String { "<redacted>" }
    /// `<redacted>`.
    public var debugDescription: String { "<redacted>" }
    /// No children: reflection shows nothing of the value.
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }

    /// The secret itself, for where it must go (for example a temporary token handed to a
    /// browser). Never log or print it.
    public var revealedValue: String { value }

    /// Whether the secret is empty.
    public var isEmpty: Bool { value.isEmpty }
}

/// How a session authenticates.
public enum Credentials: Sendable, Hashable {
    /// A long-lived API key (AssemblyAI: raw `Authorization` header; Speechmatics: `Bearer`).
    case apiKey(Secret)
    /// A temporary token minted with the key (AssemblyAI `token=` query parameter; Speechmatics
    /// `jwt=` query parameter). AssemblyAI tokens are good for one session.
    case temporaryToken(Secret)
    /// No credentials (a Speechmatics on-premises container).
    case none
}

/// An HTTP header whose value is a ``Secret`` (`Authorization`): a dump or a description of a
/// request holding it shows `<redacted>`.
package struct SecretHeader: Sendable, Hashable {
    /// The header's name.
    package var name: String
    /// Its value.
    package var value: Secret

    /// Creates a header.
    package init(_ name: String, _ value: Secret) {
        self.name = name
        self.value = value
    }
}

extension [SecretHeader] {
    /// The headers as sent. Never log their values.
    package var revealed: [(name: String, value: String)] { map { ($0.name, $0.value.value) } }
}
