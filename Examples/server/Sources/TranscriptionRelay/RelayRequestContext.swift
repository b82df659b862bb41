import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// The request context of the relay's routes: Hummingbird's basic context plus the peer address
/// (the client identity when the server runs without client tokens) and the local address (whose
/// port the `Host` check expects).
public struct RelayRequestContext: RequestContext, WebSocketRequestContext, RemoteAddressRequestContext {
    /// Hummingbird's per-request storage.
    public var coreContext: CoreRequestContextStorage
    /// The WebSocket handler reference the upgrade uses.
    public let webSocket: WebSocketHandlerReference<Self>
    /// The client's address.
    public let remoteAddress: SocketAddress?
    /// The address the connection was accepted on.
    public let localAddress: SocketAddress?

    /// Creates the context for a new request.
    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.webSocket = .init()
        self.remoteAddress = source.channel.remoteAddress
        self.localAddress = source.channel.localAddress
    }
}
