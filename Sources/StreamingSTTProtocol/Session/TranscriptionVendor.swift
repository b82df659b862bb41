/// Everything a transcriber needs to know about one vendor's service, made from that vendor's
/// options: how to connect, what the audio looks like on the wire, how each session speaks
/// (``makeSession(deliversRawMessages:configurationUpdates:)``), and the limits the transcriber
/// plans around. Pure: no I/O.
///
/// Each vendor's options type conforms (``AssemblyAI``, ``Speechmatics``); the transcriber sees only
/// this protocol, so a new vendor needs no change to it.
package protocol TranscriptionVendor: Sendable, Hashable {
    /// Which provider.
    var kind: ProviderKind { get }
    /// The audio sent on the wire.
    var wireAudio: WireAudio { get }
    /// How audio is cut into messages.
    var chunking: AudioChunking { get }
    /// The longest session the service allows (rollover starts a new one before it).
    var maximumSessionDuration: Duration { get }
    /// Whether audio given to a session must not run ahead of real time (the service closes a
    /// session that receives audio faster): audio replayed after a reconnection is paced.
    var limitsAudioToRealTime: Bool { get }
    /// How often to keep a started session that gets no audio yet (a rollover's next session)
    /// alive, or `nil` when it needs nothing.
    var standbyKeepAliveInterval: Duration? { get }
    /// Reads the service's audio acknowledgements from raw message bytes without the JSON parser
    /// (they come once per audio chunk), or `nil` when the service sends none.
    var acknowledgementScanner: AcknowledgementScanner? { get }

    /// Checks every option, and the duration of the audio messages, against the service's limits.
    /// - Throws: ``TranscriptionError/Code/invalidConfiguration``; nothing was sent.
    func validate(audioChunkDuration: Duration) throws(TranscriptionError)
    /// Advice about the whole configuration (logged as warnings, not thrown).
    func configurationWarnings(reconnects: Bool, suppliesCredentials: Bool) -> [String]
    /// Checks a mid-session configuration change before anything is sent.
    /// - Throws: ``TranscriptionError/Code/invalidConfiguration``.
    func validate(_ update: ConfigurationUpdate) throws(TranscriptionError)
    /// The same options with other credentials (each session's, from a supplier).
    func replacingCredentials(_ credentials: Credentials) -> Self
    /// The same options carrying multichannel audio with these channel labels in one session
    /// (Speechmatics channel diarization), or `nil` when the service has no multichannel protocol
    /// (the transcriber then opens one session per channel).
    func carryingChannels(_ labels: [String]) -> Self?
    /// Where and how a new session connects.
    func connectRequest() -> ConnectRequest
    /// The protocol of a new session: the changes in `configurationUpdates` were made earlier in
    /// the stream and apply to it too.
    func makeSession(deliversRawMessages: Bool, configurationUpdates: [ConfigurationUpdate]) -> SessionStateMachine
}

/// Reads an acknowledgement's sequence number from a message's UTF-8 bytes, or returns `nil` when
/// the message is anything else (it then goes to the decoder).
package typealias AcknowledgementScanner = @Sendable (Span<UInt8>) -> Int?

/// Where a session connects and the credentials it presents. The credentials are ``Secret``s
/// (a header value, a query parameter), so that a dump or a description of the request never
/// shows them; ``revealedURL`` and the headers' revealed values are read only to put them on the wire.
package struct ConnectRequest: Sendable, Hashable {
    /// The WebSocket URL without the credential.
    package var url: String
    /// A credential sent as a query parameter (AssemblyAI `token`, Speechmatics `jwt`), added
    /// after the URL's own query.
    package var credentialQueryItem: QueryCredential?
    /// Extra handshake headers, each holding a credential (`Authorization`).
    package var headers: [SecretHeader]
    /// Further secret query parameters (AssemblyAI `webhook_auth_header_value`), added after the
    /// credential.
    package var secretQueryItems: [QueryCredential]

    /// Creates a request.
    package init(
        url: String, credentialQueryItem: QueryCredential? = nil, headers: [SecretHeader] = [],
        secretQueryItems: [QueryCredential] = []
    ) {
        self.url = url
        self.credentialQueryItem = credentialQueryItem
        self.headers = headers
        self.secretQueryItems = secretQueryItems
    }

    /// Whether the request presents a credential (it must then go encrypted or to loopback; see
    /// ``CredentialTransport``).
    package var carriesCredentials: Bool { credentialQueryItem != nil || !headers.isEmpty || !secretQueryItems.isEmpty }

    /// The URL as sent, the credential included. Never log it.
    package var revealedURL: String {
        let items = (credentialQueryItem.map { [$0] } ?? []) + secretQueryItems
        guard !items.isEmpty else { return url }
        let separator = url.contains("?") ? (url.hasSuffix("?") || url.hasSuffix("&") ? "" : "&") : "?"
        return url + separator + QueryEncoding.encode(items.map { ($0.name, $0.value.value) })
    }

    /// A credential sent as a query parameter.
    package struct QueryCredential: Sendable, Hashable {
        /// The parameter's name (`token`, `jwt`).
        package var name: String
        /// Its value.
        package var value: Secret

        /// Creates a parameter.
        package init(name: String, value: Secret) {
            self.name = name
            self.value = value
        }
    }

}

/// The service a transcriber talks to and its options: ``assemblyAI(_:)`` or ``speechmatics(_:)``.
///
/// ```swift
/// let transcriber = StreamingTranscriber(provider: .assemblyAI(options))
/// ```
public struct TranscriptionProvider: Sendable, Hashable {
    package let vendor: any TranscriptionVendor

    package init(_ vendor: some TranscriptionVendor) {
        self.vendor = vendor
    }

    /// Which provider.
    public var kind: ProviderKind { vendor.kind }

    /// The options, if they are of type `Options` (``AssemblyAI`` or ``Speechmatics``).
    public func options<Options>(as type: Options.Type) -> Options? {
        vendor as? Options
    }

    /// Equal when both are the same provider with equal options.
    public static func == (lhs: TranscriptionProvider, rhs: TranscriptionProvider) -> Bool {
        AnyHashable(lhs.vendor) == AnyHashable(rhs.vendor)
    }

    /// Hashes the options.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(AnyHashable(vendor))
    }
}
