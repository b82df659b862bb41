import CSTTShim
import Logging
import StreamingSTTSupport

/// A WebSocket client connection (`ws://` or `wss://`) over libwebsockets.
///
/// Messages are sent in order, text and binary alike, through one queue whose size is bounded:
/// ``send(_:)`` suspends while more than ``WebSocketConfiguration/maxQueuedOutboundBytes`` are
/// waiting for the socket. Received messages arrive complete, however they were fragmented, in
/// ``messages``.
///
/// ```swift
/// let result = try await WebSocketConnection.withConnection(to: "wss://echo.example/ws") { connection in
///     try await connection.send(text: "hello")
///     for try await message in connection.messages {
///         return message
///     }
///     return nil
/// }
/// ```
///
/// Cancelling a task that is connecting, sending or reading drops the connection at once.
/// Releasing the last reference to an open connection drops it once the messages already queued
/// have been written.
public final class WebSocketConnection: Sendable {
    package let channel: WebSocketChannel
    private let maxQueuedOutboundBytes: Int

    package init(channel: WebSocketChannel, maxQueuedOutboundBytes: Int) {
        self.channel = channel
        self.maxQueuedOutboundBytes = maxQueuedOutboundBytes
    }

    deinit {
        // Nobody can use the connection any more: write what was queued, then drop TCP.
        if channel.closure == nil { channel.dropAfterQueued() }
    }

    /// The library's logger when none is given: logs nothing.
    public static let disabledLogger = Logger(label: "stt.disabled", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Opens a connection and completes the WebSocket handshake.
    ///
    /// A host name is resolved within `connectTimeout`, even when the lookup hangs, and each of
    /// its addresses (IPv6 and IPv4 interleaved) is tried in turn, the next one 250 ms after the
    /// previous one when that has not reached its server yet; the first to reach its server is
    /// the one used.
    ///
    /// - Parameters:
    ///   - url: a `ws://` or `wss://` URL; its query string is never logged.
    ///   - configuration: headers, timeouts, limits and TLS settings.
    ///   - eventLoop: the loop that services the connection.
    ///   - logger: receives debug-level details about this connection.
    /// - Throws: ``WebSocketError``: `invalidURL`, `dnsFailure`, `connectionRefused`, `tlsFailure`,
    ///   `connectTimeout`, `handshakeRejected` (with ``WebSocketError/httpStatus``), `handshakeFailed`,
    ///   `cancelled` or `eventLoopShutDown`.
    public static func connect(
        to url: String,
        configuration: WebSocketConfiguration = .init(),
        eventLoop: WebSocketEventLoop = .shared,
        logger: Logger = disabledLogger
    ) async throws(WebSocketError) -> WebSocketConnection {
        try await connect(to: try WebSocketURL(url), configuration: configuration, eventLoop: eventLoop, logger: logger)
    }

    /// Opens a connection to a parsed URL and completes the WebSocket handshake.
    /// See ``connect(to:configuration:eventLoop:logger:)-(String,_,_,_)``.
    public static func connect(
        to url: WebSocketURL,
        configuration: WebSocketConfiguration = .init(),
        eventLoop: WebSocketEventLoop = .shared,
        logger: Logger = disabledLogger
    ) async throws(WebSocketError) -> WebSocketConnection {
        let deadline = ContinuousClock.now + configuration.connectTimeout
        try configuration.validate()
        let trustPEM = try configuration.tls.additionalTrustPEM()
        let addresses = try await configuration.resolver.resolve(url.host, deadline: deadline)

        var secrets = configuration.additionalHeaders.map(\.value)
        if let query = url.query {
            secrets.append(query)
            secrets += query.split(separator: "&").compactMap {
                $0.split(separator: "=", maxSplits: 1).last.map(String.init)
            }
        }
        let result = await ConnectionAttempts.race(
            addresses: addresses, overlapping: true, attemptDelay: configuration.connectionAttemptDelay
        ) {
            [secrets] address, control in
            await attempt(
                url: url, address: address, deadline: deadline, configuration: configuration, trustPEM: trustPEM,
                secrets: secrets, eventLoop: eventLoop, logger: logger, control: control)
        } discard: { connection in
            connection.cancel()
            await connection.released()
        }
        if Task.isCancelled {
            if case .success(let connection) = result {
                connection.cancel()
                await connection.released()
            }
            throw WebSocketError(.cancelled)
        }
        return try result.get()
    }

    /// One connection attempt to one address of `url`'s host (TLS and the Host header use the host
    /// name); returns once the handshake is done or the attempt's socket is released.
    private static func attempt(
        url: WebSocketURL,
        address: String,
        deadline: ContinuousClock.Instant,
        configuration: WebSocketConfiguration,
        trustPEM: String,
        secrets: [String],
        eventLoop: WebSocketEventLoop,
        logger: Logger,
        control: ConnectionAttempt
    ) async -> Result<WebSocketConnection, WebSocketError> {
        let remaining = deadline - .now
        guard remaining > .zero else { return .failure(WebSocketError(.connectTimeout)) }
        let channel = WebSocketChannel(
            logger: logger, secrets: secrets, maxBufferedInbound: configuration.maxBufferedInboundBytes,
            inboundFilter: configuration.inboundFilter)
        let connection = WebSocketConnection(
            channel: channel, maxQueuedOutboundBytes: configuration.maxQueuedOutboundBytes)

        let handle = configuration.withConnectParameters(
            url: url, address: address, trustPEM: trustPEM, timeout: remaining, method: nil, body: nil
        ) { eventLoop.connect(&$0, channel: channel) }
        guard let handle else { return .failure(eventLoop.shutDownError) }
        channel.attach(handle)
        logger.debug("websocket connecting", metadata: ["stt.ws.url": "\(url)", "stt.ws.address": "\(address)"])
        async let followed: Void = control.follow(channel)
        let established = await channel.waitUntilEstablished()
        await followed
        switch established {
        case .success:
            logger.debug("websocket open", metadata: ["stt.ws.url": "\(url)", "stt.ws.address": "\(address)"])
            return .success(connection)
        case .failure(let error):
            logger.debug(
                "websocket connect failed", metadata: ["stt.ws.address": "\(address)", "stt.ws.error": "\(error)"])
            // Return only once the attempt's socket and memory are released.
            await channel.waitUntilDestroyed()
            return .failure(Task.isCancelled || control.isAbandoned ? WebSocketError(.cancelled) : error)
        }
    }

    /// Connects, runs `body`, and closes the connection when `body` returns or throws.
    ///
    /// When `body` returns, a normal close (1000) is sent after everything queued and the call
    /// waits for the close handshake. When it throws or the task is cancelled, the connection is
    /// dropped at once.
    public static func withConnection<Result: Sendable>(
        to url: String,
        configuration: WebSocketConfiguration = .init(),
        eventLoop: WebSocketEventLoop = .shared,
        logger: Logger = disabledLogger,
        _ body: (WebSocketConnection) async throws -> Result
    ) async throws -> Result {
        let connection = try await connect(
            to: url, configuration: configuration, eventLoop: eventLoop, logger: logger)
        do {
            let result = try await body(connection)
            if Task.isCancelled {
                connection.cancel()
            } else {
                _ = await connection.close()
            }
            return result
        } catch {
            connection.cancel()
            throw error
        }
    }

    // MARK: - Sending

    /// Sends a message after every message queued before it.
    ///
    /// Returns once the message is queued; suspends first while the queue holds more than
    /// ``WebSocketConfiguration/maxQueuedOutboundBytes``.
    /// - Throws: ``WebSocketError``: `closed` (or the error that ended the connection) when the
    ///   connection is closing or closed; `cancelled` when the task is cancelled (the connection
    ///   is dropped).
    public func send(_ message: WebSocketMessage) async throws(WebSocketError) {
        switch message {
        case .text(let text): try await send(text: text)
        case .binary(let bytes): try await send(binary: bytes)
        }
    }

    /// Sends a text message. See ``send(_:)``.
    public func send(text: String) async throws(WebSocketError) {
        var text = text
        let attempt = text.withUTF8 {
            channel.send(UnsafeRawBufferPointer($0), binary: false, limit: maxQueuedOutboundBytes)
        }
        try await complete(attempt)
    }

    /// Sends a binary message. See ``send(_:)``.
    public func send(binary bytes: [UInt8]) async throws(WebSocketError) {
        let attempt = bytes.withUnsafeBytes { channel.send($0, binary: true, limit: maxQueuedOutboundBytes) }
        try await complete(attempt)
    }

    /// Sends a binary message from raw memory, copied before this returns. See ``send(_:)``.
    public func send(binary bytes: UnsafeRawBufferPointer) async throws(WebSocketError) {
        try await complete(channel.send(bytes, binary: true, limit: maxQueuedOutboundBytes))
    }

    /// Sends a message split into `fragments` WebSocket frames (test servers use this).
    package func send(_ message: WebSocketMessage, fragments: Int) async throws(WebSocketError) {
        let attempt: (ConnectionHandle, Int, Int)?
        switch message {
        case .text(var text):
            attempt = text.withUTF8 {
                channel.send(
                    UnsafeRawBufferPointer($0), binary: false, fragments: fragments, limit: maxQueuedOutboundBytes)
            }
        case .binary(let bytes):
            attempt = bytes.withUnsafeBytes {
                channel.send($0, binary: true, fragments: fragments, limit: maxQueuedOutboundBytes)
            }
        }
        try await complete(attempt)
    }

    private func complete(_ attempt: (ConnectionHandle, Int, Int)?) async throws(WebSocketError) {
        guard let (handle, result, generation) = attempt else { throw WebSocketError(.closed) }
        switch result {
        case 0:
            return
        case 1:
            try await channel.waitForDrain(
                handle: handle, generation: generation, limit: maxQueuedOutboundBytes
            ).get()
        default:
            throw channel.closedError()
        }
    }

    // MARK: - Receiving

    /// The messages received, in order. The sequence ends after a close handshake and throws the
    /// ``WebSocketError`` that ended the connection otherwise (`connectionLost`, `pingTimeout`,
    /// `messageTooLarge`, …). Iterate it from one task at a time.
    public var messages: WebSocketMessages { WebSocketMessages(channel: channel) }

    // MARK: - Closing

    /// Sends a close frame after every queued message and waits for the connection to end
    /// (the peer's answer, or at most 5 seconds) and its socket to be released.
    /// - Returns: how the connection ended.
    @discardableResult
    public func close(_ frame: WebSocketCloseFrame = .normalClosure) async -> WebSocketClosure {
        channel.close(frame)
        await released()
        return await channel.waitForClosure()
    }

    /// Queues a close frame after every queued message and returns; the connection ends with the
    /// peer's answer (or at most 5 seconds later). See ``close(_:)`` to wait for it.
    package func requestClose(_ frame: WebSocketCloseFrame = .normalClosure) {
        channel.close(frame)
    }

    /// Drops the connection now, without a close frame. Pending sends and reads fail with
    /// ``WebSocketError/Code/cancelled``.
    public func cancel() {
        channel.abort()
    }

    /// Waits until the connection has ended, and says how.
    public func closed() async -> WebSocketClosure {
        await channel.waitForClosure()
    }

    /// Waits until the connection has ended and its socket is released (after ``cancel()`` or the
    /// peer's close).
    package func released() async {
        _ = await channel.waitForClosure()
        await channel.waitUntilDestroyed()
    }

    /// How the connection ended, or `nil` while it is open.
    public var closure: WebSocketClosure? { channel.closure }

    /// Bytes queued for sending and not yet written to the socket.
    public var queuedOutboundBytes: Int { channel.queuedOutboundBytes }

    /// The round trip of the last keepalive ping the peer answered (from writing the ping to its
    /// pong); `nil` before the first, and without keepalive.
    public var pingRoundTrip: Duration? { channel.pingRoundTrip }
}

/// The messages of a ``WebSocketConnection``, as an `AsyncSequence`.
public struct WebSocketMessages: AsyncSequence, Sendable {
    /// A received message.
    public typealias Element = WebSocketMessage
    /// The error that ended the connection.
    public typealias Failure = WebSocketError

    let channel: WebSocketChannel

    /// Creates the iterator.
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(channel: channel) }

    /// Iterates the received messages.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let channel: WebSocketChannel

        /// The next message, or `nil` after an orderly close.
        public mutating func next(
            isolation actor: isolated (any Actor)?
        ) async throws(WebSocketError) -> WebSocketMessage? {
            try await channel.nextMessage().get()
        }

        /// The next message, or `nil` after an orderly close.
        public mutating func next() async throws(WebSocketError) -> WebSocketMessage? {
            try await channel.nextMessage().get()
        }
    }
}

@available(*, unavailable)
extension WebSocketMessages.AsyncIterator: Sendable {}

extension Duration {
    /// Whole milliseconds, clamped to `UInt32`.
    var milliseconds: UInt32 {
        let (seconds, attoseconds) = components
        let total = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return UInt32(clamping: max(0, total))
    }
}

extension WebSocketConfiguration {
    /// Fills the shim's connect parameters (C strings valid only inside `body`) and calls `body`.
    func withConnectParameters<Result>(
        url: WebSocketURL,
        address: String,
        trustPEM: String,
        timeout: Duration,
        method: String?,
        body requestBody: [UInt8]?,
        _ body: (inout stt_connect_params) -> Result
    ) -> Result {
        var headerBlob: [CChar] = []
        for (name, value) in additionalHeaders {
            headerBlob += name.utf8CString + value.utf8CString
        }
        let pem = Array(trustPEM.utf8CString)
        let payload = requestBody ?? []
        return url.host.withCString { host in
            address.withCString { address in
                url.requestTarget.withCString { path in
                    (method ?? "").withCString { methodText in
                        headerBlob.withUnsafeBufferPointer { headers in
                            pem.withUnsafeBufferPointer { pem in
                                payload.withUnsafeBufferPointer { payload in
                                    var parameters = stt_connect_params()
                                    parameters.address = address
                                    parameters.port = Int32(url.port)
                                    parameters.host = host
                                    parameters.path = path
                                    parameters.headers = headers.isEmpty ? nil : headers.baseAddress
                                    parameters.headers_len = headers.count
                                    parameters.use_tls = url.isSecure ? 1 : 0
                                    parameters.tls_insecure = tls.verifiesCertificates ? 0 : 1
                                    parameters.ca_pem = pem.count > 1 ? pem.baseAddress : nil
                                    parameters.ca_pem_len = max(0, pem.count - 1)
                                    parameters.connect_timeout_ms = timeout.milliseconds
                                    if let interval = keepalive.pingInterval, method == nil {
                                        parameters.ping_interval_ms = interval.milliseconds
                                        parameters.pong_timeout_ms = max(1, keepalive.pongTimeout.milliseconds)
                                    }
                                    parameters.close_timeout_ms = 5000
                                    parameters.max_message_size = maxMessageSize
                                    if method != nil {
                                        parameters.method = methodText
                                        parameters.body = payload.isEmpty ? nil : payload.baseAddress
                                        parameters.body_len = payload.count
                                    }
                                    return body(&parameters)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    func validate() throws(WebSocketError) {
        for (name, value) in additionalHeaders {
            let badName = name.isEmpty || name.utf8.contains { $0 <= 32 || $0 == UInt8(ascii: ":") || $0 >= 127 }
            let badValue = value.utf8.contains { $0 == 13 || $0 == 10 || $0 == 0 }
            if badName || badValue {
                throw WebSocketError(.invalidConfiguration, detail: "a handshake header name or value is not valid")
            }
        }
        if maxMessageSize <= 0 || maxQueuedOutboundBytes < 0 {
            throw WebSocketError(.invalidConfiguration, detail: "message and queue limits must be positive")
        }
    }
}

extension TLSConfiguration {
    /// All additional trust roots as one PEM text.
    func additionalTrustPEM() throws(WebSocketError) -> String {
        var pem = ""
        for root in additionalTrustRoots {
            switch root {
            case .pem(let text): pem += text + "\n"
            case .file(let path):
                guard let text = readTextFile(path) else {
                    throw WebSocketError(.tlsFailure, detail: "the CA file could not be read")
                }
                pem += text + "\n"
            }
        }
        return pem
    }
}
