/// Which speech-to-text service a session talks to: ``assemblyAI`` or ``speechmatics``.
///
/// A struct with a static member per service rather than an enum, so that adding a service does
/// not break code that switches over the known ones: switch with a `default`.
public struct ProviderKind: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    /// The service's name in lower case (`assemblyai`, `speechmatics`).
    public let rawValue: String

    /// A service by name; ``assemblyAI`` and ``speechmatics`` are the ones this library speaks.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// `assemblyai` or `speechmatics`.
    public var description: String { rawValue }
}
