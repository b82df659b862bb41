import CSTTShim
import CSTTTestServer
import Logging
import StreamingSTTSupport
import StreamingSTTWebSocket

/// A scriptable WebSocket server on 127.0.0.1 for tests: `ws://` or `wss://`, on a port the
/// kernel picks.
///
/// Each accepted connection is given to `handler` in its own task; the handler scripts what the
/// server does (echo, fragment, close with a code, drop TCP, stop reading…). `decide` can refuse
/// a handshake with any HTTP status. Every handshake is recorded.
///
/// ```swift
/// let server = try TestWebSocketServer { connection in
///     try? await connection.send(.text("hello"), fragments: 10)
///     await connection.close(WebSocketCloseFrame(code: 4001, reason: "bye"))
/// }
/// defer { server.shutdown() }
/// let client = try await WebSocketConnection.connect(to: server.url(path: "/chat"))
/// ```
///
/// The server runs on its own libwebsockets context and service thread, separate from the
/// clients' loop.
public final class TestWebSocketServer: Sendable {
    /// A handshake request the server received.
    public struct Handshake: Sendable, Hashable {
        /// The request path without the query.
        public var path: String
        /// The query arguments in order, URL-decoded.
        public var query: [QueryItem]
        /// The headers with lowercase names, in libwebsockets' order (not the wire order).
        public var headers: [Header]

        /// A query argument.
        public struct QueryItem: Sendable, Hashable {
            /// The name.
            public var name: String
            /// The value (empty when the argument had no `=`).
            public var value: String
        }

        /// A header.
        public struct Header: Sendable, Hashable {
            /// The lowercase name.
            public var name: String
            /// The value.
            public var value: String
        }

        /// The value of the first header named `name` (case-insensitive).
        public func header(_ name: String) -> String? {
            let lower = name.lowercased()
            return headers.first { $0.name == lower }?.value
        }

        /// The values of every query argument named `name`.
        public func queryValues(_ name: String) -> [String] {
            query.filter { $0.name == name }.map(\.value)
        }
    }

    /// What to do with a handshake.
    public enum Decision: Sendable, Hashable {
        /// Upgrade to WebSocket.
        case accept
        /// Answer with this HTTP status and close.
        case reject(status: Int)
    }

    /// Decides on each handshake. Runs on the server's service thread: keep it quick.
    public struct HandshakePolicy: Sendable {
        let decide: @Sendable (Handshake) -> Decision

        /// Accepts every handshake.
        public static let acceptAll = HandshakePolicy { _ in .accept }

        /// Rejects every handshake with `status`.
        public static func rejectAll(status: Int) -> HandshakePolicy {
            HandshakePolicy { _ in .reject(status: status) }
        }

        /// Decides with `decide`.
        public static func custom(_ decide: @escaping @Sendable (Handshake) -> Decision) -> HandshakePolicy {
            HandshakePolicy(decide: decide)
        }
    }

    /// One accepted server-side connection.
    public final class Connection: Sendable {
        /// The handshake that opened it.
        public let handshake: Handshake
        /// The connection: `send`, `messages`, `close`, `cancel` as for a client.
        public let webSocket: WebSocketConnection

        init(handshake: Handshake, webSocket: WebSocketConnection) {
            self.handshake = handshake
            self.webSocket = webSocket
        }

        /// Sends a message.
        public func send(_ message: WebSocketMessage) async throws(WebSocketError) {
            try await webSocket.send(message)
        }

        /// Sends a message split into `fragments` WebSocket frames (a first frame and continuations).
        public func send(_ message: WebSocketMessage, fragments: Int) async throws(WebSocketError) {
            try await webSocket.send(message, fragments: fragments)
        }

        /// The messages the client sent.
        public var messages: WebSocketMessages { webSocket.messages }

        /// Closes with `frame` after everything queued and waits for the end.
        @discardableResult
        public func close(_ frame: WebSocketCloseFrame = .normalClosure) async -> WebSocketClosure {
            await webSocket.close(frame)
        }

        /// Drops TCP without a close frame, after the messages already sent have been written.
        public func dropConnection() {
            webSocket.channel.dropAfterQueued()
        }

        /// Drops TCP at once, discarding anything not yet written.
        public func abort() {
            webSocket.cancel()
        }

        /// Stops reading from the socket, so the client's sends back up (backpressure).
        public func stopReading() {
            webSocket.channel.pauseReading(true)
        }

        /// Resumes reading after ``stopReading()``.
        public func resumeReading() {
            webSocket.channel.pauseReading(false)
        }

        /// Waits until the connection has ended.
        public func closed() async -> WebSocketClosure {
            await webSocket.closed()
        }
    }

    /// A plain HTTP request the server received (anything that is not a WebSocket upgrade).
    public struct HTTPRequest: Sendable, Hashable {
        /// `GET`, `POST`, …
        public var method: String
        /// The path without the query.
        public var path: String
        /// The query arguments in order, URL-decoded.
        public var query: [Handshake.QueryItem]
        /// The headers with lowercase names.
        public var headers: [Handshake.Header]
        /// The body.
        public var body: [UInt8]

        /// The value of the first header named `name` (case-insensitive).
        public func header(_ name: String) -> String? {
            let lower = name.lowercased()
            return headers.first { $0.name == lower }?.value
        }
    }

    /// The answer to an ``HTTPRequest``.
    public struct HTTPResponse: Sendable {
        /// The status code.
        public var status: Int
        /// Extra headers; a `content-type` here replaces the default `application/json`.
        public var headers: [(name: String, value: String)]
        /// The body.
        public var body: [UInt8]

        /// Creates a response.
        public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
            self.status = status
            self.headers = headers
            self.body = body
        }
    }

    /// Answers plain HTTP requests; each request runs in its own task.
    ///
    /// ```swift
    /// let server = try TestWebSocketServer(httpHandler: .init { request in
    ///     .init(status: 200, body: Array("{}".utf8))
    /// })
    /// ```
    public struct HTTPHandler: Sendable {
        let respond: @Sendable (HTTPRequest) async -> HTTPResponse

        /// Creates a handler from a closure.
        public init(_ respond: @escaping @Sendable (HTTPRequest) async -> HTTPResponse) {
            self.respond = respond
        }
    }

    /// A handler that echoes every message back until the client closes.
    public static let echo: @Sendable (Connection) async -> Void = { connection in
        do {
            for try await message in connection.messages {
                try await connection.send(message)
            }
        } catch {}
    }

    private let loop: WebSocketEventLoop
    private let core: Unmanaged<ServerCore>
    /// `true` for a `wss://` server.
    public let isSecure: Bool

    /// Starts a server on 127.0.0.1 with a kernel-chosen port.
    ///
    /// - Parameters:
    ///   - tls: serve `wss://` with this authority's server certificate; `nil` for `ws://`.
    ///   - recordedCustomHeaders: non-standard header names to record (standard ones always are).
    ///   - maxQueuedOutboundBytes: the server's own send queue bound per connection.
    ///   - receiveBufferSize: the receive buffer (`SO_RCVBUF`) of each accepted socket; `nil` for
    ///     the system's. A small one makes a client's sends block soon after
    ///     ``Connection/stopReading()``, as against a stalled peer.
    ///   - logger: receives libwebsockets' lines about the server.
    ///   - handshakePolicy: accepts or rejects each handshake.
    ///   - httpHandler: answers plain HTTP requests (each in its own task); without one they get 404.
    ///   - handler: scripts each accepted connection; the connection is dropped when it returns
    ///     without having closed it.
    /// - Throws: ``TestServerError`` if the server cannot listen.
    public init(
        tls: TestCertificateAuthority? = nil,
        recordedCustomHeaders: [String] = [],
        maxQueuedOutboundBytes: Int = 1 << 20,
        receiveBufferSize: Int? = nil,
        logger: Logger = WebSocketConnection.disabledLogger,
        handshakePolicy: HandshakePolicy = .acceptAll,
        httpHandler: HTTPHandler? = nil,
        _ handler: @escaping @Sendable (Connection) async throws -> Void = TestWebSocketServer.echo
    ) throws(TestServerError) {
        let core = Unmanaged.passRetained(
            ServerCore(
                logger: logger, maxQueuedOutboundBytes: maxQueuedOutboundBytes, decide: handshakePolicy.decide,
                httpHandler: httpHandler?.respond, handler: handler))
        var custom: [CChar] = []
        for name in recordedCustomHeaders { custom += Array(name.lowercased().utf8CString) }
        let created: Result<(WebSocketEventLoop, port: Int), WebSocketError> = "127.0.0.1".withCString { iface in
            (tls?.serverCertificatePath ?? "").withCString { cert in
                (tls?.serverKeyPath ?? "").withCString { key in
                    custom.withUnsafeBufferPointer { custom in
                        var options = stt_server_options()
                        options.server_iface = iface
                        options.server_port = 0
                        options.server_cert_path = tls == nil ? nil : cert
                        options.server_key_path = tls == nil ? nil : key
                        options.on_handshake = handshakeThunk
                        options.on_http = httpHandler == nil ? nil : httpThunk
                        options.server_user = core.toOpaque()
                        options.server_custom_headers = custom.baseAddress
                        options.server_custom_headers_len = custom.count
                        options.server_receive_buffer = Int32(clamping: receiveBufferSize ?? 0)
                        return Result { () throws(WebSocketError) in
                            var port: Int32 = 0
                            let loop = try WebSocketEventLoop(logger: logger) { loopOptions, error, errorLength in
                                let raw = stt_server_loop_create(loopOptions, &options, error, errorLength)
                                if let raw { port = stt_loop_port(raw) }
                                return raw
                            }
                            return (loop, Int(port))
                        }
                    }
                }
            }
        }
        switch created {
        case .success(let (loop, port)):
            self.loop = loop
            self.port = port
        case .failure(let error):
            core.release()
            throw TestServerError("the server could not start: \(error.detail)")
        }
        self.core = core
        self.isSecure = tls != nil
    }

    deinit {
        shutdown()
        core.release()
    }

    /// The port the server listens on.
    public let port: Int

    /// `ws://127.0.0.1:PORT` (or `wss://`) followed by `path`.
    public func url(path: String = "/", host: String = "127.0.0.1") -> String {
        "\(isSecure ? "wss" : "ws")://\(host):\(port)\(path)"
    }

    /// Every handshake received so far, accepted or not, in order.
    public var handshakes: [Handshake] { core.takeUnretainedValue().recorded.withLock { $0 } }

    /// Open server-side connections.
    public var connectionCount: Int { loop.connectionCount }

    /// Drops every connection, stops the server and cancels the handlers. Blocks until done.
    public func shutdown() {
        loop.shutdown()
        core.takeUnretainedValue().cancelHandlers()
    }
}

/// The server's state, reached from the handshake callback through an unmanaged pointer.
private final class ServerCore: Sendable {
    let logger: Logger
    let maxQueuedOutboundBytes: Int
    let decide: @Sendable (TestWebSocketServer.Handshake) -> TestWebSocketServer.Decision
    let handler: @Sendable (TestWebSocketServer.Connection) async throws -> Void
    let httpHandler: (@Sendable (TestWebSocketServer.HTTPRequest) async -> TestWebSocketServer.HTTPResponse)?
    let recorded = LockedState<[TestWebSocketServer.Handshake]>([])
    let tasks = LockedState<(next: Int, running: [Int: Task<Void, Never>], stopped: Bool)>((0, [:], false))

    init(
        logger: Logger,
        maxQueuedOutboundBytes: Int,
        decide: @escaping @Sendable (TestWebSocketServer.Handshake) -> TestWebSocketServer.Decision,
        httpHandler: (@Sendable (TestWebSocketServer.HTTPRequest) async -> TestWebSocketServer.HTTPResponse)?,
        handler: @escaping @Sendable (TestWebSocketServer.Connection) async throws -> Void
    ) {
        self.httpHandler = httpHandler
        self.logger = logger
        self.maxQueuedOutboundBytes = maxQueuedOutboundBytes
        self.decide = decide
        self.handler = handler
    }

    /// Runs on the service thread for each upgrade request.
    func handshake(_ raw: stt_handshake) -> (status: Int32, user: UnsafeMutableRawPointer?) {
        let handshake = TestWebSocketServer.Handshake(
            path: raw.path.map { String(cString: $0) } ?? "/",
            query: Self.pairs(raw.query, raw.query_len, separator: UInt8(ascii: "=")).map {
                .init(name: $0.0, value: $0.1)
            },
            headers: Self.headerPairs(raw.headers, raw.headers_len).map { .init(name: $0.0, value: $0.1) })
        recorded.withLock { $0.append(handshake) }
        if case .reject(let status) = decide(handshake) { return (Int32(status), nil) }
        let maxQueued = maxQueuedOutboundBytes
        let channel = WebSocketChannel(
            logger: logger, secrets: [], maxBufferedInbound: 16 << 20,
            onEstablished: { [weak self] channel in
                guard let self else { return }
                let connection = TestWebSocketServer.Connection(
                    handshake: handshake,
                    webSocket: WebSocketConnection(channel: channel, maxQueuedOutboundBytes: maxQueued))
                self.start(connection)
            })
        return (0, Unmanaged.passRetained(channel).toOpaque())
    }

    private func start(_ connection: TestWebSocketServer.Connection) {
        let handler = self.handler
        spawn {
            try? await handler(connection)
            if connection.webSocket.closure == nil { connection.dropConnection() }
        }
    }

    /// Runs `work` in a task that `cancelHandlers` cancels.
    private func spawn(_ work: @escaping @Sendable () async -> Void) {
        tasks.withLock { tasks in
            guard !tasks.stopped else { return }
            let id = tasks.next
            tasks.next += 1
            // Connections arrive on the event loop's thread, outside any task, and the server
            // has no `run()` scope a test would have to keep open: each handler gets a task of its
            // own, kept here so that shutting the server down cancels every one.
            tasks.running[id] = Task { [weak self] in
                await work()
                _ = self?.tasks.withLock { $0.running.removeValue(forKey: id) }
            }
        }
    }

    /// Runs on the service thread for each plain HTTP request; answers from a task.
    func http(_ raw: stt_http_request, connection: ConnectionHandle) {
        let request = TestWebSocketServer.HTTPRequest(
            method: raw.method.map { String(cString: $0) } ?? "GET",
            path: raw.path.map { String(cString: $0) } ?? "/",
            query: Self.pairs(raw.query, raw.query_len, separator: UInt8(ascii: "=")).map {
                .init(name: $0.0, value: $0.1)
            },
            headers: Self.headerPairs(raw.headers, raw.headers_len).map { .init(name: $0.0, value: $0.1) },
            body: Array(UnsafeRawBufferPointer(start: raw.body, count: raw.body_len)))
        guard let httpHandler else {
            Self.respond(connection, TestWebSocketServer.HTTPResponse(status: 404))
            return
        }
        let before = tasks.withLock { $0.stopped }
        if before {
            Self.respond(connection, TestWebSocketServer.HTTPResponse(status: 503))
            return
        }
        spawn { Self.respond(connection, await httpHandler(request)) }
    }

    /// Sends `response` and gives up our reference to the transaction.
    private static func respond(_ connection: ConnectionHandle, _ response: TestWebSocketServer.HTTPResponse) {
        var headers: [CChar] = []
        for (name, value) in response.headers { headers += name.lowercased().utf8CString + value.utf8CString }
        _ = headers.withUnsafeBufferPointer { headers in
            response.body.withUnsafeBufferPointer { body in
                stt_http_respond(
                    connection.raw, Int32(response.status), headers.baseAddress, headers.count, body.baseAddress,
                    body.count)
            }
        }
        stt_conn_release(connection.raw)
    }

    func cancelHandlers() {
        let running = tasks.withLock { tasks in
            tasks.stopped = true
            defer { tasks.running.removeAll() }
            return Array(tasks.running.values)
        }
        for task in running { task.cancel() }
    }

    private static func strings(_ base: UnsafePointer<CChar>?, _ length: Int) -> [String] {
        guard let base, length > 0 else { return [] }
        var result: [String] = []
        var start = 0
        let bytes = UnsafeRawBufferPointer(start: base, count: length)
        for index in 0..<length where bytes[index] == 0 {
            result.append(String(decoding: bytes[start..<index], as: UTF8.self))
            start = index + 1
        }
        return result
    }

    static func pairs(_ base: UnsafePointer<CChar>?, _ length: Int, separator: UInt8) -> [(String, String)] {
        strings(base, length).map { item in
            guard let split = item.utf8.firstIndex(of: separator) else { return (item, "") }
            return (String(item[..<split]), String(item[item.utf8.index(after: split)...]))
        }
    }

    static func headerPairs(_ base: UnsafePointer<CChar>?, _ length: Int) -> [(String, String)] {
        let items = strings(base, length)
        return stride(from: 0, to: items.count - 1, by: 2).map { (items[$0], items[$0 + 1]) }
    }
}

private let httpThunk: stt_http_fn = { serverUser, connection, request in
    guard let serverUser, let connection, let request else { return }
    let core = Unmanaged<ServerCore>.fromOpaque(serverUser).takeUnretainedValue()
    core.http(request.pointee, connection: ConnectionHandle(raw: connection))
}

private let handshakeThunk: stt_handshake_fn = { serverUser, handshake, connUser in
    guard let serverUser, let handshake else { return 500 }
    let core = Unmanaged<ServerCore>.fromOpaque(serverUser).takeUnretainedValue()
    let (status, user) = core.handshake(handshake.pointee)
    connUser?.pointee = user
    return status
}
