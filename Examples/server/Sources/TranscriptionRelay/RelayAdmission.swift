import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1

/// Why a request is refused before any WebSocket upgrade or token: its HTTP answer, and the
/// error event and close code for the rare refusal after an upgrade.
struct RelayRefusal: Error, Sendable {
    let status: HTTPResponse.Status
    let code: String
    let message: String
    let closeCode: UInt16

    static let forbiddenHost = RelayRefusal(
        status: .forbidden, code: "forbidden_host", message: "this server does not answer for that host name",
        closeCode: TranscriptionRelay.CloseCode.forbiddenOrigin)
    static let forbiddenOrigin = RelayRefusal(
        status: .forbidden, code: "forbidden_origin", message: "pages from this origin may not use this server",
        closeCode: TranscriptionRelay.CloseCode.forbiddenOrigin)
    static let unauthorized = RelayRefusal(
        status: .unauthorized, code: "unauthorized", message: "a valid client token is required",
        closeCode: TranscriptionRelay.CloseCode.unauthorized)

    /// The HTTP answer: the status and an ``EventJSON`` error (`WWW-Authenticate: Bearer` on 401).
    var response: Response {
        var response = TranscriptionRelay.json(
            status, EventJSON.error(code: code, message: message, retryable: false))
        if status == .unauthorized { response.headers[.wwwAuthenticate] = "Bearer" }
        return response
    }
}

extension TranscriptionRelay {
    /// `X-Forwarded-For`, read only from a trusted proxy.
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!

    /// Whether the request names one of the server's hosts (`Host`, against DNS rebinding).
    func hostAllowed(_ request: Request, context: some RequestContext) -> Bool {
        hosts.allows(request.head.authority, boundPort: Self.addresses(of: context).local?.port)
    }

    /// The checks a WebSocket passes before its upgrade: its host, its origin, its client token.
    func admit(_ request: Request, context: some RequestContext) -> Result<ClientIdentity, RelayRefusal> {
        let (peer, local) = Self.addresses(of: context)
        return admit(headers: request.headers, authority: request.head.authority, peer: peer, local: local)
    }

    /// The connection's addresses a request context knows: both from ``RelayRequestContext``, the
    /// peer's from another `RemoteAddressRequestContext`, none from other contexts (an
    /// application's own, when the relay is mounted).
    static func addresses(of context: some RequestContext) -> (peer: SocketAddress?, local: SocketAddress?) {
        if let context = context as? RelayRequestContext { return (context.remoteAddress, context.localAddress) }
        if let context = context as? any RemoteAddressRequestContext { return (context.remoteAddress, nil) }
        return (nil, nil)
    }

    /// The checks of ``admit(_:context:)`` on the parts of a request.
    func admit(
        headers: HTTPFields, authority: String?, peer: SocketAddress?, local: SocketAddress?
    ) -> Result<ClientIdentity, RelayRefusal> {
        guard hosts.allows(authority, boundPort: local?.port) else { return .failure(.forbiddenHost) }
        guard authenticator.originAllowed(headers, authority: authority) else { return .failure(.forbiddenOrigin) }
        // The client's address: the peer's, or the one a trusted proxy forwarded.
        let address = NetworkPolicy.clientAddress(
            peer: IPAddress(peer), forwardedFor: headers[values: Self.forwardedFor],
            trustedProxies: configuration.trustedProxies)
        guard let client = authenticator.identify(headers, remoteAddress: address?.description) else {
            return .failure(.unauthorized)
        }
        return .success(client)
    }
}

/// The HTTP/1 server with WebSocket upgrade, where a handshake that ``TranscriptionRelay/admit(_:context:)``
/// refuses is not attempted as an upgrade at all: it reaches the HTTP router as a plain request,
/// which answers 401 or 403 with the reason (a refused upgrade would otherwise get an empty 400).
struct AdmittingUpgradeChannel: ServerChildChannel {
    typealias Value = HTTP1WebSocketUpgradeChannel.Value
    let base: HTTP1WebSocketUpgradeChannel
    let relay: TranscriptionRelay

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let relay = self.relay
        return base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let operations = channel.pipeline.syncOperations
            let upgrader = try operations.handler(
                type: NIOTypedHTTPServerUpgradeHandler<HTTP1WebSocketUpgradeChannel.UpgradeResult>.self)
            try operations.addHandler(
                UpgradeAdmissionHandler(relay: relay, firstRequestTimeout: relay.configuration.firstRequestTimeout),
                position: .before(upgrader))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Turns a refused WebSocket handshake into a plain request (without `Upgrade`, with
/// `Connection: close`) before the upgrade handler sees it. Like that handler it looks at the
/// connection's first request only, and then leaves the pipeline (after an upgrade, WebSocket
/// bytes flow where it was).
///
/// Until that first request arrives nothing else watches the connection: Hummingbird waits for
/// the upgrade negotiation without an idle timeout, and without a request no handler of it
/// takes part in a graceful shutdown. So this handler also closes a connection that sends no
/// request within `firstRequestTimeout`, and one still without a request when the server
/// quiesces (a graceful shutdown otherwise waits for it forever: a browser's preconnect, a
/// client that connected and never wrote, a port scanner).
final class UpgradeAdmissionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    let relay: TranscriptionRelay
    /// The relay's WebSocket path: handshakes to other paths (an application's own WebSockets)
    /// pass untouched.
    private let listenPath: String
    private let firstRequestTimeout: Duration
    private var firstRequestDeadline: Scheduled<Void>?

    init(relay: TranscriptionRelay, firstRequestTimeout: Duration) {
        self.relay = relay
        self.listenPath = relay.listenPath
        self.firstRequestTimeout = firstRequestTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { startFirstRequestDeadline(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        startFirstRequestDeadline(context: context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        firstRequestDeadline?.cancel()
        firstRequestDeadline = nil
    }

    private func startFirstRequestDeadline(context: ChannelHandlerContext) {
        guard firstRequestDeadline == nil else { return }
        let channel = context.channel
        firstRequestDeadline = context.eventLoop.scheduleTask(in: .init(firstRequestTimeout)) {
            channel.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // The server is shutting down gracefully and this connection has no request to finish.
        if event is ChannelShouldQuiesceEvent {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var head) = unwrapInboundIn(data) else {
            context.fireChannelRead(data)
            return
        }
        firstRequestDeadline?.cancel()
        firstRequestDeadline = nil
        // Passed on first, then out of the pipeline: the body parts and what follows go straight on.
        defer { context.pipeline.syncOperations.removeHandler(context: context, promise: nil) }
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        guard head.headers.contains(name: "upgrade"), Self.samePath(path, listenPath) else {
            context.fireChannelRead(data)
            return
        }
        var fields = HTTPFields()
        for (name, value) in head.headers {
            if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
        }
        let admission = relay.admit(
            headers: fields, authority: head.headers.first(name: "host"), peer: context.channel.remoteAddress,
            local: context.channel.localAddress)
        if case .failure = admission {
            head.headers.remove(name: "upgrade")
            head.headers.replaceOrAdd(name: "connection", value: "close")
        }
        context.fireChannelRead(wrapInboundOut(.head(head)))
    }

    /// Whether a request path is `route`, as the router matches it (trailing slashes aside).
    static func samePath(_ path: Substring, _ route: String) -> Bool {
        path.split(separator: "/") == route.split(separator: "/")
    }
}

/// Refuses, with 403, every request to the relay's routes whose `Host` is not one of the
/// server's (``RelayConfiguration/allowedHosts``).
struct HostCheck<Context: RequestContext>: RouterMiddleware {
    let relay: TranscriptionRelay

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard relay.hostAllowed(request, context: context) else { return RelayRefusal.forbiddenHost.response }
        return try await next(request, context)
    }
}

/// In front of the WebSocket route: a request the relay refuses (host, origin, client token) gets
/// its 401 or 403 with the reason, whether it is a handshake (the router's look at it before the
/// upgrade) or reached the router as a plain GET (`UpgradeAdmissionHandler` took its `Upgrade`
/// away); an admitted plain GET gets 426; an admitted handshake goes on to the upgrade.
struct ListenGate<Context: RequestContext>: RouterMiddleware {
    let relay: TranscriptionRelay

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        if case .failure(let refusal) = relay.admit(request, context: context) {
            relay.metrics.sessionRefused(refusal.code)
            return refusal.response
        }
        guard request.headers[.upgrade]?.lowercased() == "websocket" else {
            return TranscriptionRelay.json(
                .upgradeRequired,
                EventJSON.error(
                    code: "websocket_required", message: "this endpoint is a WebSocket", retryable: false))
        }
        return try await next(request, context)
    }
}
