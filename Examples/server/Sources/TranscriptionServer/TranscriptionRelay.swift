import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import ServiceLifecycle
import StreamingSTTCore
import Synchronization

/// A Hummingbird server that relays browser microphone audio to a speech-to-text vendor.
///
/// - `GET /v1/listen` (WebSocket): the client sends 16 kHz mono s16le PCM as binary messages,
///   optionally preceded by a text message `{"type":"start","provider":"speechmatics"}`, and
///   `{"type":"stop"}` to end gracefully; it receives the transcript events as JSON text messages
///   (``EventJSON``). The vendor key stays on the server.
/// - `POST /v1/token?provider=assemblyai`: mints a temporary token for a client that connects to
///   the vendor directly (authenticated clients only).
/// - `GET /`: a page that captures the microphone and shows the live transcript.
///
/// The server is not an open relay: it binds loopback by default, can require a client token,
/// limits sessions per client and in total, caps each session's duration, and never sends or
/// logs the vendor key. Every request must name one of the server's own hosts (`Host`, against
/// DNS rebinding); a WebSocket is upgraded only once its host, origin and client token are
/// accepted, so a refused client gets an HTTP 401 or 403, not a WebSocket.
public struct TranscriptionRelay: Sendable {
    /// The server's settings.
    public let configuration: RelayConfiguration
    let logger: Logger
    let limiter: SessionLimiter
    let authenticator: ClientAuthenticator
    let hosts: HostAllowList
    let registry = SessionRegistry()

    /// Close codes the relay uses besides the standard ones (4000–4999 are the application's).
    public enum CloseCode {
        /// A valid client token is required (refused before the upgrade since the handshake
        /// checks it: an HTTP 401 now; kept for clients that know it).
        public static let unauthorized: UInt16 = 4401
        /// The page's origin may not use this server (an HTTP 403 before the upgrade now; kept
        /// for clients that know it).
        public static let forbiddenOrigin: UInt16 = 4403
        /// The session reached ``RelayConfiguration/maxSessionDuration``.
        public static let sessionTimeLimit: UInt16 = 4408
        /// Too many sessions, for this client or in total; try again later.
        public static let tooManySessions: UInt16 = 4429
        /// The server is shutting down (after the session's last events when one was running).
        public static let goingAway: UInt16 = 1001
    }

    /// Creates the relay.
    /// - Parameters:
    ///   - configuration: where to listen, who may connect, the limits and the vendors.
    ///   - logger: receives the server's and the sessions' logs; never a key or a token.
    public init(configuration: RelayConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.limiter = SessionLimiter(
            maxSessions: configuration.maxSessions, maxSessionsPerClient: configuration.maxSessionsPerClient,
            maxTokensPerMinute: configuration.maxTokensPerClientPerMinute)
        self.authenticator = ClientAuthenticator(
            tokens: configuration.clientTokens, allowedOrigins: configuration.allowedOrigins)
        self.hosts = HostAllowList(configuration: configuration)
    }

    /// Sessions relaying now.
    public var activeSessions: Int { limiter.activeSessions }

    /// The application and the service that drains the sessions on graceful shutdown, in the
    /// order a `ServiceGroup` needs them (it shuts them down in reverse: sessions first).
    /// - Parameters:
    ///   - drainTimeout: how long a graceful shutdown waits for the sessions to end.
    ///   - onServerRunning: called with the bound port once the server listens.
    public func services(
        drainTimeout: Duration = .seconds(30), onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> [any Service] {
        [application(onServerRunning: onServerRunning), RelaySessionDrainer(registry: registry, timeout: drainTimeout)]
    }

    /// The Hummingbird application alone (a graceful shutdown of it alone closes the WebSockets at
    /// once; run ``services(drainTimeout:onServerRunning:)`` in a `ServiceGroup` to drain them).
    /// - Parameter onServerRunning: called with the bound port once the server listens.
    public func application(
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router(context: RelayRequestContext.self)
        router.add(middleware: HostCheck(relay: self))
        let page = Self.indexPage()
        router.get("/") { _, _ -> Response in
            guard let page else { return Response(status: .notFound) }
            return Response(
                status: .ok,
                headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(string: page)))
        }
        router.post("/v1/token") { request, context in
            await self.mintToken(request, context: context)
        }
        router.on("/v1/token", method: .options) { request, context in
            self.tokenPreflight(request, context: context)
        }
        // A handshake refused before the upgrade (wrong host, origin or token) arrives here as a
        // plain GET (`UpgradeAdmissionHandler`): the client gets the HTTP status; a real plain GET, 426.
        router.get("/v1/listen") { request, context -> Response in
            if case .failure(let refusal) = self.admit(request, context: context) { return refusal.response }
            return Self.json(
                .upgradeRequired,
                EventJSON.error(
                    code: "websocket_required", message: "this endpoint is a WebSocket", retryable: false))
        }

        let webSocketRouter = Router(context: RelayRequestContext.self)
        webSocketRouter.ws("/v1/listen") { request, context in
            // Refused before this already (`UpgradeAdmissionHandler`); a second look costs nothing.
            guard case .success = self.admit(request, context: context) else { return .dontUpgrade }
            // A browser carries its token as a subprotocol; the handshake must select one it offered.
            let offered = request.headers[values: .secWebSocketProtocol].flatMap { $0.split(separator: ",") }
                .map { $0.trimmingCharacters(in: .whitespaces) }
            return offered.contains(ClientAuthenticator.subprotocol)
                ? .upgrade([.secWebSocketProtocol: ClientAuthenticator.subprotocol]) : .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            await self.relay(inbound: inbound, outbound: outbound, context: context)
        }

        let webSocketResponder = webSocketRouter.buildResponder()
        let channelConfiguration = HTTP1WebSocketUpgradeChannel.Configuration(
            http1: .init(idleTimeout: .seconds(60)),
            ws: .init(
                maxFrameSize: configuration.maxClientMessageSize, autoPing: .enabled(timePeriod: .seconds(30)),
                closeTimeout: .seconds(5)))
        // HTTP/1 with the WebSocket upgrade, where a refused handshake gets its 401/403.
        var server = HTTPServerBuilder { responder in
            AdmittingUpgradeChannel(
                base: HTTP1WebSocketUpgradeChannel(
                    responder: responder, webSocketResponder: webSocketResponder, configuration: channelConfiguration),
                relay: self)
        }
        // The exposure rules hold here too, for a caller that skipped `validate()`: the server then
        // fails to start. The address checked is the address bound.
        var bindHost = configuration.host
        do {
            bindHost = try configuration.validateExposure()
            if let serverTLS = configuration.serverTLS {
                server = try .tls(server, tlsConfiguration: serverTLS.serverConfiguration())
            }
        } catch {
            server = HTTPServerBuilder { _ in throw error }
        }
        return Application(
            router: router,
            server: server,
            configuration: .init(address: .hostname(bindHost, port: configuration.port), serverName: nil),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger
        )
    }

    /// The bundled page, `Public/index.html`.
    static func indexPage() -> String? {
        guard let url = Bundle.module.url(forResource: "index", withExtension: "html", subdirectory: "Public") else {
            return nil
        }
        return try? String(contentsOf: url, encoding: .utf8)
    }

    // MARK: - WebSocket relay

    func relay(
        inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter,
        context: WebSocketRouterContext<RelayRequestContext>
    ) async {
        let request = context.request
        func reject(_ code: String, _ message: String, close: UInt16, retryable: Bool = false) async {
            logger.info("websocket client rejected", metadata: ["stt.reject": "\(code)"])
            try? await outbound.write(.text(EventJSON.error(code: code, message: message, retryable: retryable)))
            try? await outbound.close(WebSocketErrorCode(codeNumber: Int(close)), reason: code)
        }
        // Checked before the upgrade already; a second look costs nothing.
        let client: ClientIdentity
        switch admit(request, context: context.requestContext) {
        case .success(let identity): client = identity
        case .failure(let refusal):
            return await reject(refusal.code, refusal.message, close: refusal.closeCode)
        }
        do {
            try limiter.acquire(client)
        } catch {
            let message =
                error == .clientLimit
                ? "this client already has \(configuration.maxSessionsPerClient) sessions"
                : "the server is at its limit of \(configuration.maxSessions) sessions"
            return await reject("too_many_sessions", message, close: CloseCode.tooManySessions, retryable: true)
        }
        defer { limiter.release(client) }
        var sessionLogger = logger
        sessionLogger[metadataKey: "stt.client"] = "\(client.name)"
        let session = RelaySession(configuration: configuration, outbound: outbound, logger: sessionLogger)
        guard registry.register(session) else {
            return await reject(
                "server_shutting_down", "the server is shutting down", close: CloseCode.goingAway, retryable: true)
        }
        defer { registry.unregister(session) }
        await session.run(inbound: inbound)
    }

    // MARK: - Temporary tokens

    func mintToken(_ request: Request, context: RelayRequestContext) async -> Response {
        var response = await mintTokenResponse(request, context: context)
        // CORS: a page from an allowed origin may read the answer (never `*`).
        if let origin = corsOrigin(request) {
            response.headers[.accessControlAllowOrigin] = origin
            response.headers[.vary] = "Origin"
        }
        return response
    }

    /// `OPTIONS /v1/token`: the CORS preflight of a page from another origin. Allowed origins get
    /// their permission (POST with `Authorization`); others get 403 and no CORS header.
    func tokenPreflight(_ request: Request, context: RelayRequestContext) -> Response {
        guard request.headers[.origin] != nil else {
            return Response(status: .noContent, headers: [.allow: "POST, OPTIONS"])
        }
        guard let origin = corsOrigin(request) else {
            return Self.json(
                .forbidden, EventJSON.error(code: "forbidden_origin", message: "origin not allowed", retryable: false))
        }
        return Response(
            status: .noContent,
            headers: [
                .accessControlAllowOrigin: origin, .accessControlAllowMethods: "POST",
                .accessControlAllowHeaders: "Authorization, Content-Type", .accessControlMaxAge: "600",
                .vary: "Origin",
            ])
    }

    /// The request's `Origin` when it is a browser origin allowed to use the server.
    func corsOrigin(_ request: Request) -> String? {
        let origins = request.headers[values: .origin]
        guard origins.count == 1, let origin = origins.first,
            origin.hasPrefix("http://") || origin.hasPrefix("https://"),
            authenticator.originAllowed(request.headers, authority: request.head.authority)
        else { return nil }
        return origin
    }

    private func mintTokenResponse(_ request: Request, context: RelayRequestContext) async -> Response {
        guard authenticator.originAllowed(request.headers, authority: request.head.authority) else {
            return Self.json(
                .forbidden, EventJSON.error(code: "forbidden_origin", message: "origin not allowed", retryable: false))
        }
        guard authenticator.requiresToken else {
            return Self.json(
                .forbidden,
                EventJSON.error(
                    code: "tokens_disabled",
                    message:
                        "temporary tokens are minted only for authenticated clients: start the server with --client-token",
                    retryable: false))
        }
        guard let client = authenticator.identify(request.headers, remoteAddress: nil) else {
            var response = Self.json(
                .unauthorized,
                EventJSON.error(code: "unauthorized", message: "a valid client token is required", retryable: false))
            response.headers[.wwwAuthenticate] = "Bearer"
            return response
        }
        let name = request.uri.queryParameters["provider"].map(String.init)
        guard let provider = name.map({ ProviderKind(relayName: $0) }) ?? configuration.defaultProvider,
            let access = configuration.access(for: provider)
        else {
            return Self.json(
                .notFound,
                EventJSON.error(
                    code: "provider_unavailable", message: "this server does not offer that provider", retryable: false)
            )
        }
        guard limiter.allowToken(for: client) else {
            return Self.json(
                .tooManyRequests,
                EventJSON.error(
                    code: "too_many_tokens", message: "too many temporary tokens this minute", retryable: true))
        }
        let lifetime = configuration.temporaryTokenLifetime
        do throws(TranscriptionError) {
            let token: Secret
            let url: String
            switch provider {
            case .assemblyAI:
                let defaults = AssemblyAI(credentials: .none, speechModel: .u3RealtimePro)
                let sessionCap = Int(configuration.maxSessionDuration.components.seconds)
                token = try await AssemblyAI.createTemporaryToken(
                    apiKey: access.apiKey, expiresIn: min(max(lifetime, 1), 600),
                    maxSessionDuration: min(max(sessionCap, 60), 10800),
                    url: access.tokenURL ?? Self.assemblyAITokenURL,
                    tls: configuration.tls)
                url = access.endpoint ?? defaults.endpoint.url
            case .speechmatics:
                let defaults = Speechmatics(credentials: .none)
                token = try await Speechmatics.createTemporaryKey(
                    apiKey: access.apiKey, ttl: max(lifetime, 60), url: access.tokenURL ?? Self.speechmaticsTokenURL,
                    tls: configuration.tls)
                url = access.endpoint ?? defaults.endpoint.url
            default:
                return Self.json(
                    .notFound,
                    EventJSON.error(
                        code: "provider_unavailable", message: "this server does not offer that provider",
                        retryable: false))
            }
            logger.info(
                "temporary token minted", metadata: ["stt.client": "\(client.name)", "stt.provider": "\(provider)"])
            let body = TemporaryToken(
                provider: provider.rawValue, token: token.revealedValue, expiresIn: lifetime, url: url)
            return Self.json(.ok, EventJSON.json(body))
        } catch {
            logger.warning(
                "temporary token request failed",
                metadata: ["stt.client": "\(client.name)", "stt.provider": "\(provider)", "stt.error": "\(error)"])
            return Self.json(
                .badGateway,
                EventJSON.error(code: error.code.description, message: error.reason, retryable: error.isRetryable))
        }
    }

    /// The body of a minted token: `{"provider":…,"token":…,"expiresIn":s,"url":…}`.
    private struct TemporaryToken: Encodable {
        var provider: String
        var token: String
        /// Seconds.
        var expiresIn: Int
        /// The vendor's WebSocket endpoint to use the token on.
        var url: String
    }

    /// The vendors' token endpoints (the defaults of `createTemporaryToken` / `createTemporaryKey`).
    static let assemblyAITokenURL = "https://streaming.assemblyai.com/v3/token"
    static let speechmaticsTokenURL = "https://mp.speechmatics.com/v1/api_keys?type=rt"

    static func json(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
