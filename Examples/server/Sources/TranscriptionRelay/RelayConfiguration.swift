import NIOCore
import StreamingSTTCore

/// Everything the relay server needs: where it listens, who may use it, how much, and how it
/// reaches the vendors. Every setting has a safe default; change what you need.
///
/// ```swift
/// var configuration = RelayConfiguration()
/// configuration.clientTokens = [Secret(clientToken)]
/// configuration.assemblyAI = .init(apiKey: Secret(assemblyAIKey))
/// let app = TranscriptionRelay(configuration: configuration, logger: logger).application()
/// try await app.runService()
/// ```
public struct RelayConfiguration: Sendable {
    /// The address to bind; loopback unless told otherwise.
    public var host: String
    /// The port to bind; 0 lets the kernel choose (tests).
    public var port: Int
    /// The client tokens accepted (`Authorization: Bearer <token>`, or the WebSocket subprotocol
    /// `bearer.<token>` from a browser). Empty: no client authentication (loopback use only), and
    /// no temporary tokens are minted.
    public var clientTokens: [Secret]
    /// Browser origins allowed besides the server's own (`https://app.example.com`). A request
    /// without an `Origin` header (not from a browser) is not affected.
    public var allowedOrigins: [String]
    /// The most transcription sessions at once, for all clients together.
    public var maxSessions: Int
    /// The most transcription sessions at once for one client (one client token, or one address
    /// without authentication).
    public var maxSessionsPerClient: Int
    /// The longest a session may last; it is then stopped gracefully (its last finals are
    /// delivered) and the WebSocket closed with 4408.
    public var maxSessionDuration: Duration
    /// The most temporary tokens one client may mint per minute.
    public var maxTokensPerClientPerMinute: Int
    /// The most sessions one client may start per minute: WebSocket sessions and minted temporary
    /// tokens together (a minted token is a session started at the vendor). Above it the session
    /// is refused (close 4429) or the token request answered 429. Default 10.
    public var maxNewSessionsPerClientPerMinute = 10
    /// The fastest a session may send audio, as a multiple of real time: bytes of the session's
    /// audio format (sample rate × bytes per sample × channels; 32 000 bytes per second for 16 kHz
    /// 16-bit mono) per second. Measured as a token bucket holding ``audioBurst`` of audio, so
    /// that a client catching up after a network stall is not cut off; above it the session ends
    /// with the `audio_rate_exceeded` error and close 4413. Default 1.25.
    public var maxAudioRealTimeFactor = 1.25
    /// How much audio a session may send at once above ``maxAudioRealTimeFactor`` (the bucket's
    /// size, plus one message). Default 2 s.
    public var audioBurst: Duration = .seconds(2)
    /// How long a minted temporary token may wait before its session starts (AssemblyAI 1…600 s;
    /// Speechmatics keys live at least 60 s).
    public var temporaryTokenLifetime: Int
    /// The provider used when the client does not choose one.
    public var defaultProvider: ProviderKind
    /// AssemblyAI access, or `nil` when the server does not offer it.
    public var assemblyAI: VendorAccess?
    /// Speechmatics access, or `nil` when the server does not offer it.
    public var speechmatics: VendorAccess?
    /// TLS settings for the connections to the vendors (an extra CA for an emulator or a proxy).
    public var tls: TLSConfiguration
    /// The largest WebSocket message accepted from a client, in bytes.
    public var maxClientMessageSize: Int
    /// Serve clients without a client token on an address other than loopback. Off by default:
    /// anyone who can reach the server could spend the vendor key.
    public var allowsAnonymousRemoteClients: Bool
    /// `Host` values accepted besides the server's own (`localhost`, `127.0.0.1`, `[::1]` and the
    /// bind address, with the bound port or none): `stt.example.com` (any port) or
    /// `stt.example.com:8443`. A request naming another host is refused with 403, which stops
    /// DNS rebinding (a page whose domain resolves to the server's address). Add the names
    /// clients use when binding a wildcard address or behind a proxy.
    public var allowedHosts: [String] = []
    /// The certificate and key to serve HTTPS and WSS with; `nil` serves plain HTTP and WS.
    public var serverTLS: RelayServerTLS?
    /// Serve plain HTTP and WS on an address other than loopback. Off by default: client tokens,
    /// temporary tokens and audio would cross the network in cleartext.
    public var allowsInsecureBind = false
    /// Proxies whose `X-Forwarded-For` is believed: when the peer is in one of these blocks, the
    /// client's address (its identity without client tokens, and for the per-client limits) is
    /// the rightmost entry of `X-Forwarded-For` that is not a trusted proxy. Empty: the header is
    /// ignored and the peer's address is the client's.
    public var trustedProxies: [IPNetwork] = []
    /// How long a new connection may stay without sending its first request: it is closed then.
    /// (After that request, the HTTP idle timeout and the WebSocket pings watch the connection.)
    public var firstRequestTimeout: Duration = .seconds(30)
    /// Where the relay's routes live: `""` (the default) serves the page at `/` and the WebSocket
    /// at `/v1/listen`; `/stt` serves them at `/stt/` and `/stt/v1/listen`, next to an
    /// application's own routes (``TranscriptionRelay/addRoutes(to:)``). Empty, or `/` followed by
    /// letters, digits and `-._~/`, without a trailing `/`.
    public var pathPrefix = ""
    /// Where the relay serves its Prometheus metrics, under ``pathPrefix`` (`/metrics`); `nil`
    /// (the default) serves none. Needs the registry given to
    /// ``TranscriptionRelay/init(configuration:logger:metricsFactory:prometheusRegistry:)``.
    /// Like every route of the relay it answers only requests naming one of its hosts
    /// (``allowedHosts``: add the name a scraper uses); the metrics carry no key or token.
    public var metricsPath: String?
    /// Where the relay answers health checks, under ``pathPrefix``: `GET` gives 200 and
    /// `{"openSessions":n,"status":"ok"}`, or 503 and `"status":"draining"` once a graceful
    /// shutdown began. `nil` serves none. Default `/healthz`.
    public var healthPath: String? = "/healthz"
    /// The transcript lag above which a session's client gets a `lagging` message (the library's
    /// `StreamingTranscriber.Configuration.transcriptLagWarning`: once each time the lag goes
    /// above it). `nil` (the default) sends none; the `lag` messages come either way.
    public var transcriptLagWarning: Duration?
    /// How often a session's client gets a `lag` message besides the one after each final, when
    /// the lag changed since the last: the page then shows the lag growing while finals do not
    /// come, which is when it matters. `nil` sends them after each final only. Default 1 s.
    public var lagReportInterval: Duration? = .seconds(1)

    /// Creates a configuration; every argument has a default.
    public init(
        host: String = "127.0.0.1",
        port: Int = 8080,
        clientTokens: [Secret] = [],
        allowedOrigins: [String] = [],
        maxSessions: Int = 8,
        maxSessionsPerClient: Int = 2,
        maxSessionDuration: Duration = .seconds(300),
        maxTokensPerClientPerMinute: Int = 10,
        temporaryTokenLifetime: Int = 60,
        defaultProvider: ProviderKind = .assemblyAI,
        assemblyAI: VendorAccess? = nil,
        speechmatics: VendorAccess? = nil,
        tls: TLSConfiguration = .init(),
        maxClientMessageSize: Int = 64 << 10,
        allowsAnonymousRemoteClients: Bool = false
    ) {
        self.host = host
        self.port = port
        self.clientTokens = clientTokens
        self.allowedOrigins = allowedOrigins
        self.maxSessions = maxSessions
        self.maxSessionsPerClient = maxSessionsPerClient
        self.maxSessionDuration = maxSessionDuration
        self.maxTokensPerClientPerMinute = maxTokensPerClientPerMinute
        self.temporaryTokenLifetime = temporaryTokenLifetime
        self.defaultProvider = defaultProvider
        self.assemblyAI = assemblyAI
        self.speechmatics = speechmatics
        self.tls = tls
        self.maxClientMessageSize = maxClientMessageSize
        self.allowsAnonymousRemoteClients = allowsAnonymousRemoteClients
    }

    /// Checks the settings that would make the server unsafe or useless.
    /// - Throws: ``RelayConfigurationError`` saying what to change.
    public func validate() throws(RelayConfigurationError) {
        try validateExposure()
        if clientTokens.contains(where: { $0.isEmpty }) { throw RelayConfigurationError("a client token is empty") }
        for name in allowedHosts where NetworkPolicy.splitAuthority(name) == nil {
            throw RelayConfigurationError("the allowed host \(name) is not a host name or HOST:PORT")
        }
        if let serverTLS { _ = try serverTLS.serverConfiguration() }
        if assemblyAI == nil && speechmatics == nil {
            throw RelayConfigurationError("no provider is configured: give an AssemblyAI or a Speechmatics key")
        }
        if access(for: defaultProvider) == nil {
            throw RelayConfigurationError("the default provider \(defaultProvider) has no key")
        }
        if maxSessions < 1 || maxSessionsPerClient < 1 {
            throw RelayConfigurationError("the session limits must be at least 1")
        }
        if maxSessionDuration <= .zero { throw RelayConfigurationError("the session duration limit must be positive") }
        if firstRequestTimeout <= .zero {
            throw RelayConfigurationError("the first request timeout must be positive")
        }
        if maxNewSessionsPerClientPerMinute < 1 {
            throw RelayConfigurationError("the limit of new sessions per minute must be at least 1")
        }
        if !(maxAudioRealTimeFactor >= 1) || !maxAudioRealTimeFactor.isFinite {
            throw RelayConfigurationError("the audio rate limit must be a finite multiple of real time of at least 1")
        }
        if audioBurst <= .zero { throw RelayConfigurationError("the audio burst must be positive") }
        if let transcriptLagWarning, transcriptLagWarning <= .zero {
            throw RelayConfigurationError("the transcript lag warning must be positive")
        }
        if let lagReportInterval, lagReportInterval <= .zero {
            throw RelayConfigurationError("the lag report interval must be positive")
        }
        for (name, path) in [("metrics", metricsPath), ("health", healthPath)] {
            guard let path else { continue }
            if path.isEmpty || !Self.isPathPrefix(path) {
                throw RelayConfigurationError(
                    "the \(name) path \(path) must be /NAME (letters, digits, -._~/), without a trailing /")
            }
        }
        if !Self.isPathPrefix(pathPrefix) {
            throw RelayConfigurationError(
                "the path prefix \(pathPrefix) must be empty or /NAME (letters, digits, -._~/), without a trailing /")
        }
    }

    /// Whether `prefix` is empty or an absolute path of plain characters without a trailing `/`
    /// (it is written into the page unescaped).
    static func isPathPrefix(_ prefix: String) -> Bool {
        if prefix.isEmpty { return true }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/")
        return prefix.hasPrefix("/") && !prefix.hasSuffix("/") && !prefix.contains("//")
            && prefix.allSatisfy { allowed.contains($0) }
    }

    /// The access for `provider`, if the server offers it.
    public func access(for provider: ProviderKind) -> VendorAccess? {
        switch provider {
        case .assemblyAI: assemblyAI
        case .speechmatics: speechmatics
        default: nil
        }
    }

    /// Checks who could reach the server: an address other than loopback needs a client token
    /// (or ``allowsAnonymousRemoteClients``) and TLS (or ``allowsInsecureBind``).
    /// - Returns: the address to bind: the one checked, so that the address checked is the one
    ///   bound (`localhost` resolved once), or a host name that is not loopback as given.
    @discardableResult
    func validateExposure() throws(RelayConfigurationError) -> String {
        let address = try Self.bindAddress(host)
        if let address, address.isLoopback { return "\(address)" }
        if clientTokens.isEmpty, !allowsAnonymousRemoteClients {
            throw RelayConfigurationError(
                "binding \(host) without a client token would let anyone who can reach it spend the API key: "
                    + "set a client token, or allow anonymous remote clients explicitly")
        }
        if serverTLS == nil, !allowsInsecureBind {
            throw RelayConfigurationError(
                "binding \(host) without TLS would send client tokens and audio in cleartext: "
                    + "give a TLS certificate and key, or allow an insecure bind explicitly")
        }
        return address.map { "\($0)" } ?? host
    }

    /// The address binding `host` listens on, when it is known without asking DNS: `host` itself
    /// when numeric, what `localhost` resolves to (the hosts file); `nil` for any other name,
    /// which is never taken for loopback (`127.evil.example` is a name like any other, and what
    /// a name resolves to can change).
    static func bindAddress(
        _ host: String,
        resolve: (String) throws -> String? = { try SocketAddress.makeAddressResolvingHost($0, port: 0).ipAddress }
    ) throws(RelayConfigurationError) -> IPAddress? {
        if let address = IPAddress(host) { return address }
        guard host.lowercased() == "localhost" else { return nil }
        let resolved: String?
        do {
            resolved = try resolve(host)
        } catch {
            throw RelayConfigurationError("the address to bind, \(host), cannot be resolved")
        }
        guard let resolved, let address = IPAddress(resolved) else {
            throw RelayConfigurationError("the address to bind, \(host), cannot be resolved")
        }
        return address
    }

    /// Whether binding `host` listens on loopback only (`127.0.0.0/8`, `::1`): decided on the
    /// parsed address (`localhost`: the address it resolves to), never on how a name looks.
    public static func isLoopback(_ host: String) -> Bool {
        ((try? bindAddress(host)) ?? nil)?.isLoopback ?? false
    }
}

/// A setting that would make the relay unsafe or useless.
public struct RelayConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What to change.
    public var message: String

    /// Creates an error.
    public init(_ message: String) { self.message = message }

    /// The message.
    public var description: String { message }
}

/// How the server reaches one vendor. The key stays on the server: it is sent only to the vendor.
public struct VendorAccess: Sendable, CustomStringConvertible {
    /// The vendor API key.
    public var apiKey: Secret
    /// The full WebSocket URL of the service; `nil` for the vendor's default.
    public var endpoint: String?
    /// The temporary-token endpoint; `nil` for the vendor's default.
    public var tokenURL: String?

    /// Creates vendor access.
    public init(apiKey: Secret, endpoint: String? = nil, tokenURL: String? = nil) {
        self.apiKey = apiKey
        self.endpoint = endpoint
        self.tokenURL = tokenURL
    }

    /// The endpoints, never the key.
    public var description: String {
        "VendorAccess(apiKey: <redacted>, endpoint: \(endpoint ?? "default"), tokenURL: \(tokenURL ?? "default"))"
    }
}

extension ProviderKind {
    /// The providers the relay offers, by their names (`assemblyai`, `speechmatics`), in any case.
    public init?(relayName name: String) {
        let kind = ProviderKind(rawValue: name.lowercased())
        guard kind == .assemblyAI || kind == .speechmatics else { return nil }
        self = kind
    }
}
