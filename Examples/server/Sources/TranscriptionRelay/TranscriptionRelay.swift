import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HummingbirdWebSocket
import Logging
import Metrics
import NIOCore
import NIOWebSocket
import Prometheus
import ServiceLifecycle
import StreamingSTTCore
import Synchronization

/// A Hummingbird server that relays browser microphone audio to a speech-to-text vendor.
///
/// - `GET /v1/listen` (WebSocket): the client sends 16 kHz mono s16le PCM as binary messages,
///   optionally preceded by a text message `{"type":"start","provider":"speechmatics"}`, and
///   `{"type":"stop"}` to end gracefully; it receives the transcript events as JSON text messages
///   (``EventJSON``). The vendor key stays on the server.
/// - `POST /v1/token?provider=assemblyai[&maxSessionDuration=s]`: mints a temporary token for a
///   client that connects to the vendor directly (authenticated clients only); it counts as a
///   session of that client for its lifetime and never outlives the duration cap.
/// - `GET /`: a page that captures the microphone and shows the live transcript.
///
/// The server is not an open relay: it binds loopback by default, can require a client token,
/// limits sessions per client and in total and session starts per client per minute, caps each
/// session's duration and audio rate, and never sends or logs the vendor key. Every request must
/// name one of the server's own hosts (`Host`, against DNS rebinding); a WebSocket is upgraded
/// only once its host, origin and client token are accepted, so a refused client gets an HTTP
/// 401 or 403, not a WebSocket.
public struct TranscriptionRelay: Sendable {
    /// The server's settings.
    public let configuration: RelayConfiguration
    let logger: Logger
    let limiter: SessionLimiter
    let authenticator: ClientAuthenticator
    let hosts: HostAllowList
    let registry = SessionRegistry()
    /// The page, its paths under the prefix; `nil` when the bundle lacks it.
    let page: String?
    /// The relay's own metrics.
    let metrics: RelayMetrics
    /// What ``RelayConfiguration/metricsPath`` serves.
    let prometheusRegistry: PrometheusCollectorRegistry?
    /// Measures the rate limits and the minted tokens' slots.
    let clock: any RelayClock

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
        /// The client sent audio faster than ``RelayConfiguration/maxAudioRealTimeFactor`` allows.
        public static let audioRateExceeded: UInt16 = 4413
        /// The server is shutting down (after the session's last events when one was running).
        public static let goingAway: UInt16 = 1001
    }

    /// Creates the relay.
    ///
    /// The relay never bootstraps the process's `MetricsSystem`: that is the application's choice.
    /// It records its own metrics (``RelayMetrics``) and the library's metrics of the sessions it
    /// relays (`stt_sessions_started_total` and the rest, `Docs/Observability.md`) with
    /// `metricsFactory`, else into `prometheusRegistry`, else with the `MetricsSystem`'s factory
    /// (a no-op until the application bootstraps one). Serving ``RelayConfiguration/metricsPath``
    /// needs `prometheusRegistry`: it answers what is recorded there, and whatever else the
    /// application records into it.
    /// - Parameters:
    ///   - configuration: where to listen, who may connect, the limits and the vendors.
    ///   - logger: receives the server's and the sessions' logs; never a key or a token.
    ///   - metricsFactory: where the relay records its metrics, if not into `prometheusRegistry`.
    ///   - prometheusRegistry: the registry the metrics path serves.
    public init(
        configuration: RelayConfiguration, logger: Logger, metricsFactory: (any MetricsFactory)? = nil,
        prometheusRegistry: PrometheusCollectorRegistry? = nil
    ) {
        self.init(
            configuration: configuration, logger: logger, clock: SystemRelayClock(), metricsFactory: metricsFactory,
            prometheusRegistry: prometheusRegistry)
    }

    /// Creates the relay measuring its limits with `clock` (a test's manual clock).
    package init(
        configuration: RelayConfiguration, logger: Logger, clock: any RelayClock,
        metricsFactory: (any MetricsFactory)? = nil, prometheusRegistry: PrometheusCollectorRegistry? = nil
    ) {
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
        self.prometheusRegistry = prometheusRegistry
        self.metrics = RelayMetrics(
            factory: metricsFactory ?? prometheusRegistry.map { PrometheusMetricsFactory(registry: $0) }
                ?? MetricsSystem.factory)
        self.limiter = SessionLimiter(
            maxSessions: configuration.maxSessions, maxSessionsPerClient: configuration.maxSessionsPerClient,
            maxNewSessionsPerMinute: configuration.maxNewSessionsPerClientPerMinute,
            maxTokensPerMinute: configuration.maxTokensPerClientPerMinute, clock: clock)
        self.authenticator = ClientAuthenticator(
            tokens: configuration.clientTokens, allowedOrigins: configuration.allowedOrigins)
        self.hosts = HostAllowList(configuration: configuration)
        self.page = Self.indexPage(pathPrefix: configuration.pathPrefix)
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

    /// The service that, on graceful shutdown, stops the running sessions gracefully (their last
    /// finals reach the clients, then close 1001) before the HTTP server stops. An application that
    /// mounts the relay lists it after its `Application` in its `ServiceGroup`.
    /// - Parameter timeout: how long a graceful shutdown waits for the sessions to end.
    public func sessionDrainer(timeout: Duration = .seconds(30)) -> RelaySessionDrainer {
        RelaySessionDrainer(registry: registry, timeout: timeout)
    }

    /// The Hummingbird application alone (a graceful shutdown of it alone closes the WebSockets at
    /// once; run ``services(drainTimeout:onServerRunning:)`` in a `ServiceGroup` to drain them).
    /// - Parameter onServerRunning: called with the bound port once the server listens.
    public func application(
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        // One router for the HTTP requests and the WebSocket handshakes, as a mounting app has.
        let router = Router(context: RelayRequestContext.self)
        addRoutes(to: router)
        var server = http1WebSocketUpgrade(webSocketRouter: router)
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

    // MARK: - Mounting

    /// Adds the relay's routes to an application's router, under
    /// ``RelayConfiguration/pathPrefix``: the page (`GET <prefix>/`), the WebSocket
    /// (`GET <prefix>/v1/listen`) and the temporary tokens (`POST <prefix>/v1/token`).
    ///
    /// The WebSocket needs the upgrade on the application's server: pass the same router to
    /// ``http1WebSocketUpgrade(webSocketRouter:)`` as the application's `server`. Every route
    /// checks the `Host` (``RelayConfiguration/allowedHosts``); the WebSocket also the origin,
    /// the client token and the limits. The application's own routes are not affected.
    ///
    /// Any WebSocket request context works. One that also conforms to Hummingbird's
    /// `RemoteAddressRequestContext` (as ``RelayRequestContext`` does) gives a relay without
    /// client tokens each client's address for the per-client limits; with another context every
    /// anonymous client counts as one.
    public func addRoutes<Context: RequestContext & WebSocketRequestContext>(to router: Router<Context>) {
        let routes = router.group(RouterPath(configuration.pathPrefix)).add(middleware: HostCheck<Context>(relay: self))
        let page = self.page
        routes.get("/") { _, _ -> Response in
            guard let page else { return Response(status: .notFound) }
            return Response(
                status: .ok,
                headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(string: page)))
        }
        if let path = configuration.healthPath {
            routes.get(RouterPath(path)) { _, _ in self.health() }
        }
        if let path = configuration.metricsPath, let registry = prometheusRegistry {
            routes.get(RouterPath(path)) { _, _ -> Response in
                Response(
                    status: .ok,
                    headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                    body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
            }
        }
        routes.post("v1/token") { request, context in
            await self.mintToken(request, context: context)
        }
        routes.on("v1/token", method: .options) { request, context in
            self.tokenPreflight(request, context: context)
        }
        // The gate answers what is not an admitted handshake: a refused one (its 401/403, also
        // when the handshake reached the router as a plain GET after `UpgradeAdmissionHandler`)
        // and a plain GET (426); the route behind it upgrades.
        routes.group("v1/listen").add(middleware: ListenGate<Context>(relay: self))
            .ws { request, _ in
                // A browser carries its token as a subprotocol; the handshake must select one it offered.
                let offered = request.headers[values: .secWebSocketProtocol].flatMap { $0.split(separator: ",") }
                    .map { $0.trimmingCharacters(in: .whitespaces) }
                return offered.contains(ClientAuthenticator.subprotocol)
                    ? .upgrade([.secWebSocketProtocol: ClientAuthenticator.subprotocol]) : .upgrade([:])
            } onUpgrade: { inbound, outbound, context in
                await self.relay(inbound: inbound, outbound: outbound, context: context)
            }
    }

    /// The HTTP/1 server with the WebSocket upgrade for an application that mounts the relay
    /// (its `Application(router:server:…)`): Hummingbird's
    /// `.http1WebSocketUpgrade(webSocketRouter:configuration:)`, with the relay's WebSocket
    /// settings (``RelayConfiguration/maxClientMessageSize``, pings every 30 s) and its handshake
    /// admission: a handshake to the relay's WebSocket that the relay refuses reaches the router
    /// as a plain request, which answers 401 or 403 with the reason (Hummingbird would answer an
    /// empty 400). It also closes a connection that sends no request within
    /// ``RelayConfiguration/firstRequestTimeout``, or none before a graceful shutdown.
    /// - Parameter webSocketRouter: the router the relay's routes were added to.
    public func http1WebSocketUpgrade<Context: RequestContext & WebSocketRequestContext>(
        webSocketRouter: Router<Context>
    ) -> HTTPServerBuilder {
        let webSocketResponder = webSocketRouter.buildResponder()
        let channelConfiguration = HTTP1WebSocketUpgradeChannel.Configuration(
            http1: .init(idleTimeout: .seconds(60)),
            ws: .init(
                maxFrameSize: configuration.maxClientMessageSize, autoPing: .enabled(timePeriod: .seconds(30)),
                closeTimeout: .seconds(5)))
        return HTTPServerBuilder { responder in
            AdmittingUpgradeChannel(
                base: HTTP1WebSocketUpgradeChannel(
                    responder: responder, webSocketResponder: webSocketResponder, configuration: channelConfiguration),
                relay: self)
        }
    }

    /// The health answer: 200 `{"openSessions":n,"status":"ok"}`, or 503 with `"status":"draining"`
    /// once a graceful shutdown began.
    func health() -> Response {
        struct Health: Encodable {
            var status: String
            var openSessions: Int
        }
        let draining = registry.isDraining
        return Self.json(
            draining ? .serviceUnavailable : .ok,
            EventJSON.json(Health(status: draining ? "draining" : "ok", openSessions: activeSessions)))
    }

    /// The path of the WebSocket: ``RelayConfiguration/pathPrefix`` + `/v1/listen`.
    var listenPath: String { configuration.pathPrefix + "/v1/listen" }

    /// The bundled page, `Public/index.html`, its relay paths under `pathPrefix`.
    static func indexPage(pathPrefix: String) -> String? {
        guard let url = Bundle.module.url(forResource: "index", withExtension: "html", subdirectory: "Public"),
            let page = try? String(contentsOf: url, encoding: .utf8)
        else { return nil }
        // `validate()` allows only path characters in the prefix; the page reads it from a meta tag.
        return page.replacingOccurrences(of: "__RELAY_PATH_PREFIX__", with: pathPrefix)
    }

    // MARK: - WebSocket relay

    func relay<Context: RequestContext & WebSocketRequestContext>(
        inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter,
        context: WebSocketRouterContext<Context>
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
            metrics.sessionRefused(refusal.code)
            return await reject(refusal.code, refusal.message, close: refusal.closeCode)
        }
        do {
            try limiter.acquire(client)
        } catch {
            metrics.sessionRefused(RelayMetrics.reason(error.reason))
            let (code, message) = refusal(error)
            return await reject(code, message, close: CloseCode.tooManySessions, retryable: true)
        }
        defer { limiter.release(client) }
        var sessionLogger = logger
        sessionLogger[metadataKey: "stt.client"] = "\(client.name)"
        let session = RelaySession(
            configuration: configuration, outbound: outbound, logger: sessionLogger, clock: clock, metrics: metrics)
        guard registry.register(session) else {
            metrics.sessionRefused("shutting_down")
            return await reject(
                "server_shutting_down", "the server is shutting down", close: CloseCode.goingAway, retryable: true)
        }
        defer { registry.unregister(session) }
        metrics.openSessions.increment()
        defer { metrics.openSessions.decrement() }
        await session.run(inbound: inbound)
    }

    /// The error code and message for a session or token refused by the limits.
    func refusal(_ error: SessionLimiter.Refusal) -> (code: String, message: String) {
        switch error.reason {
        case .clientLimit:
            ("too_many_sessions", "this client already has \(configuration.maxSessionsPerClient) sessions")
        case .totalLimit:
            ("too_many_sessions", "the server is at its limit of \(configuration.maxSessions) sessions")
        case .sessionRate:
            (
                "too_many_new_sessions",
                "this client started \(configuration.maxNewSessionsPerClientPerMinute) sessions in the last minute"
            )
        }
    }

    // MARK: - Temporary tokens

    func mintToken(_ request: Request, context: some RequestContext) async -> Response {
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
    func tokenPreflight(_ request: Request, context: some RequestContext) -> Response {
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

    private func mintTokenResponse(_ request: Request, context: some RequestContext) async -> Response {
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
        // The vendor ends a token's session at the duration cap: AssemblyAI by the token's
        // max_session_duration_seconds (60…10800), Speechmatics by the key's ttl (at least 60).
        let sessionCap = Int(configuration.maxSessionDuration.components.seconds)
        guard sessionCap >= Self.shortestTokenSession else {
            return Self.json(
                .forbidden,
                EventJSON.error(
                    code: "token_duration_unsupported",
                    message:
                        "the session duration cap (\(sessionCap) s) is below the shortest session a vendor token allows "
                        + "(\(Self.shortestTokenSession) s), so no temporary token is minted",
                    retryable: false))
        }
        var sessionSeconds = sessionCap
        if let value = request.uri.queryParameters["maxSessionDuration"] {
            guard let requested = Int(String(value)), requested > 0 else {
                return Self.json(
                    .badRequest,
                    EventJSON.error(
                        code: "invalid_request", message: "maxSessionDuration must be a positive number of seconds",
                        retryable: false))
            }
            sessionSeconds = max(min(requested, sessionCap), Self.shortestTokenSession)
        }
        let lifetime = configuration.temporaryTokenLifetime
        let expiresIn: Int
        let holdSeconds: Int
        switch provider {
        case .assemblyAI:
            sessionSeconds = min(sessionSeconds, 10800)
            expiresIn = min(max(lifetime, 1), 600)
            holdSeconds = expiresIn + sessionSeconds  // the longest wait, then the longest session
        default:
            sessionSeconds = min(max(lifetime, Self.shortestTokenSession), sessionSeconds, 86400)
            expiresIn = sessionSeconds
            holdSeconds = sessionSeconds
        }
        let heldUntil: Duration
        do {
            heldUntil = try limiter.hold(client, for: .seconds(holdSeconds))
        } catch {
            let (code, message) = refusal(error)
            var response = Self.json(.tooManyRequests, EventJSON.error(code: code, message: message, retryable: true))
            if let retryAfter = error.retryAfter {
                response.headers[.retryAfter] = "\(max(1, Int(AudioRateLimit.seconds(retryAfter).rounded(.up))))"
            }
            return response
        }
        do throws(TranscriptionError) {
            let token: Secret
            let url: String
            switch provider {
            case .assemblyAI:
                let defaults = AssemblyAI(credentials: .none, speechModel: .u3RealtimePro)
                token = try await AssemblyAI.createTemporaryToken(
                    apiKey: access.apiKey, expiresIn: expiresIn, maxSessionDuration: sessionSeconds,
                    url: access.tokenURL ?? Self.assemblyAITokenURL,
                    tls: configuration.tls)
                url = access.endpoint ?? defaults.endpoint.url
            case .speechmatics:
                let defaults = Speechmatics(credentials: .none)
                token = try await Speechmatics.createTemporaryKey(
                    apiKey: access.apiKey, ttl: sessionSeconds, url: access.tokenURL ?? Self.speechmaticsTokenURL,
                    tls: configuration.tls)
                url = access.endpoint ?? defaults.endpoint.url
            default:
                limiter.cancelHold(client, until: heldUntil)
                return Self.json(
                    .notFound,
                    EventJSON.error(
                        code: "provider_unavailable", message: "this server does not offer that provider",
                        retryable: false))
            }
            logger.info(
                "temporary token minted", metadata: ["stt.client": "\(client.name)", "stt.provider": "\(provider)"])
            let body = TemporaryToken(
                provider: provider.rawValue, token: token.revealedValue, expiresIn: expiresIn,
                maxSessionDuration: sessionSeconds, url: url)
            return Self.json(.ok, EventJSON.json(body))
        } catch {
            limiter.cancelHold(client, until: heldUntil)
            logger.warning(
                "temporary token request failed",
                metadata: ["stt.client": "\(client.name)", "stt.provider": "\(provider)", "stt.error": "\(error)"])
            return Self.json(
                .badGateway,
                EventJSON.error(code: error.code.description, message: error.reason, retryable: error.isRetryable))
        }
    }

    /// The body of a minted token:
    /// `{"provider":…,"token":…,"expiresIn":s,"maxSessionDuration":s,"url":…}`.
    private struct TemporaryToken: Encodable {
        var provider: String
        var token: String
        /// Seconds the token may wait before its session starts (for Speechmatics, the key's ttl).
        var expiresIn: Int
        /// Seconds its session may last at most (never above the relay's duration cap).
        var maxSessionDuration: Int
        /// The vendor's WebSocket endpoint to use the token on.
        var url: String
    }

    /// The shortest session a vendor token can be limited to, in seconds (AssemblyAI
    /// `max_session_duration_seconds` and Speechmatics `ttl` both start at 60).
    static let shortestTokenSession = 60

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
