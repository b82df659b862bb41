/// Settings for one WebSocket connection.
///
/// Every setting has a default; change what you need:
///
/// ```swift
/// var configuration = WebSocketConfiguration()
/// configuration.additionalHeaders = [("Authorization", apiKey)]
/// configuration.connectTimeout = .seconds(5)
/// ```
public struct WebSocketConfiguration: Sendable {
    /// Sees every received message's bytes on the event loop's thread before it is queued; when it
    /// returns `true` the message is consumed there and never reaches ``WebSocketConnection/messages``.
    /// For a provider's high-rate bookkeeping messages (Speechmatics' `AudioAdded`), which would
    /// otherwise wake the reading task once each. It must be quick and must not block.
    package var inboundFilter: WebSocketInboundFilter?

    /// Turns host names into addresses (tests inject one; see ``HostResolver``).
    package var resolver: HostResolver = .system

    /// How long an attempt to connect to one address of the host may go without reaching its
    /// server before the next address is tried as well (RFC 8305's connection attempt delay).
    package var connectionAttemptDelay: Duration = ConnectionAttempts.attemptDelay

    /// Extra handshake headers, in order (for example `Authorization`). Their values are treated
    /// as secrets: they are never logged or put in an error, and `dump` or a description of the
    /// configuration shows them as `<redacted>`.
    public var additionalHeaders: [(name: String, value: String)] {
        get { headerFields.map { ($0.name, $0.value) } }
        set { headerFields = newValue.map { HeaderField(name: $0.name, value: $0.value) } }
    }
    /// The headers, stored so that reflection never shows a value.
    private var headerFields: [HeaderField]
    /// How long DNS resolution, TCP connect, TLS and the WebSocket handshake may take together,
    /// over every address of the host tried; it holds even when the name lookup hangs.
    public var connectTimeout: Duration
    /// Ping interval and pong timeout used to detect a dead peer.
    public var keepalive: Keepalive
    /// The largest inbound message accepted; a larger one fails the connection with
    /// ``WebSocketError/Code/messageTooLarge`` after closing it with 1009.
    public var maxMessageSize: Int
    /// `send` suspends when more than this many bytes are queued and not yet written to the
    /// socket, until the queue is back at half of it.
    public var maxQueuedOutboundBytes: Int
    /// Reading from the socket pauses while more than this many bytes of received messages wait
    /// for the consumer, so a slow consumer bounds memory instead of growing it.
    public var maxBufferedInboundBytes: Int
    /// TLS settings for `wss://` URLs.
    public var tls: TLSConfiguration

    /// Creates a configuration; every argument has a default.
    public init(
        additionalHeaders: [(name: String, value: String)] = [],
        connectTimeout: Duration = .seconds(10),
        keepalive: Keepalive = .enabled(pingInterval: .seconds(30), pongTimeout: .seconds(10)),
        maxMessageSize: Int = 1 << 20,
        maxQueuedOutboundBytes: Int = 256 << 10,
        maxBufferedInboundBytes: Int = 4 << 20,
        tls: TLSConfiguration = .init()
    ) {
        self.headerFields = additionalHeaders.map { HeaderField(name: $0.name, value: $0.value) }
        self.connectTimeout = connectTimeout
        self.keepalive = keepalive
        self.maxMessageSize = maxMessageSize
        self.maxQueuedOutboundBytes = maxQueuedOutboundBytes
        self.maxBufferedInboundBytes = maxBufferedInboundBytes
        self.tls = tls
    }

    /// Keepalive: a ping every `pingInterval`; no pong within `pongTimeout` fails the connection
    /// with ``WebSocketError/Code/pingTimeout``.
    ///
    /// Only a pong answers: data from the peer does not (a peer that stopped reading may go on
    /// sending), and the pong timeout runs from when the ping was due, even while it cannot be
    /// written because the peer's receive window is full. A peer that stops reading therefore
    /// ends the connection within `pingInterval + pongTimeout` (plus the time to tear it down),
    /// whether the send queue is full or not.
    public struct Keepalive: Sendable, Hashable {
        /// Time between pings; `nil` when keepalive is disabled.
        public var pingInterval: Duration?
        /// Time allowed for the answer.
        public var pongTimeout: Duration

        /// No pings.
        public static let disabled = Keepalive(pingInterval: nil, pongTimeout: .zero)

        /// A ping every `pingInterval`, failing after `pongTimeout` without an answer.
        public static func enabled(pingInterval: Duration, pongTimeout: Duration) -> Keepalive {
            Keepalive(pingInterval: pingInterval, pongTimeout: pongTimeout)
        }
    }
}

/// TLS settings for `wss://` connections.
///
/// By default the certificate chain is verified against the system's trusted roots and the
/// certificate must match the host name. Extra CAs can be trusted in addition:
///
/// ```swift
/// var tls = TLSConfiguration()
/// tls.additionalTrustRoots = [.file("/etc/myorg/ca.pem")]
/// ```
public struct TLSConfiguration: Sendable, Hashable {
    /// A source of trusted CA certificates.
    public enum TrustRoots: Sendable, Hashable {
        /// A PEM file holding one or more certificates.
        case file(String)
        /// PEM text holding one or more certificates.
        case pem(String)
    }

    /// CAs trusted in addition to the system roots.
    public var additionalTrustRoots: [TrustRoots]
    /// When `false`, the certificate chain, its dates and the host name are not checked.
    /// Only ``insecureNoVerification`` sets it; never use it outside tests.
    public private(set) var verifiesCertificates: Bool

    /// Verification against the system roots plus `additionalTrustRoots`.
    public init(additionalTrustRoots: [TrustRoots] = []) {
        self.additionalTrustRoots = additionalTrustRoots
        self.verifiesCertificates = true
    }

    /// Accepts any certificate for any host name: encrypts, but does not authenticate the server.
    /// For tests against self-signed servers only.
    public static var insecureNoVerification: TLSConfiguration {
        var configuration = TLSConfiguration()
        configuration.verifiesCertificates = false
        return configuration
    }
}

/// Decides on the event loop's thread whether a received message is consumed before it is
/// queued: `(bytes, isBinary) -> consumed`. See ``WebSocketConfiguration/inboundFilter``.
package typealias WebSocketInboundFilter = @Sendable (Span<UInt8>, Bool) -> Bool

/// A handshake header whose value reflection, `dump` and descriptions never show.
private struct HeaderField: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    let name: String
    let value: String

    var description: String { "\(name): <redacted>" }
    var debugDescription: String { description }
    var customMirror: Mirror { Mirror(self, children: ["name": name, "value": "<redacted>"], displayStyle: .struct) }
}
