import CSTTShim
import Logging

/// The answer to a plain HTTP request.
package struct HTTPResponse: Sendable, Hashable {
    /// The HTTP status code.
    package var status: Int
    /// The body.
    package var body: [UInt8]

    package init(status: Int, body: [UInt8]) {
        self.status = status
        self.body = body
    }
}

/// One-shot HTTP/1.1 requests over the same libwebsockets loop, TLS settings and error codes as
/// ``WebSocketConnection`` (the vendors' temporary-token endpoints need nothing more).
package enum HTTPClient {
    /// Sends a request and returns the response, whatever its status.
    ///
    /// - Parameters:
    ///   - url: an `http://` or `https://` URL; its query is treated as a secret.
    ///   - headers: request headers; their values are treated as secrets.
    ///   - timeout: for the whole exchange (resolution, connect, TLS, request, response).
    ///   - resolver: turns the host name into addresses; each is tried in turn, the next one only
    ///     after the TCP connect to the previous one failed, so a request is never sent twice.
    /// - Throws: ``WebSocketError`` (`invalidURL`, `dnsFailure`, `connectionRefused`, `tlsFailure`,
    ///   `connectTimeout`, `handshakeFailed`, `cancelled`, `eventLoopShutDown`).
    package static func send(
        _ method: String,
        url: String,
        headers: [(name: String, value: String)] = [],
        body: [UInt8]? = nil,
        tls: TLSConfiguration = .init(),
        timeout: Duration = .seconds(10),
        maxResponseSize: Int = 1 << 20,
        eventLoop: WebSocketEventLoop = .shared,
        resolver: HostResolver = .system,
        logger: Logger = WebSocketConnection.disabledLogger
    ) async throws(WebSocketError) -> HTTPResponse {
        let parsed: WebSocketURL
        if url.hasPrefix("https://") {
            parsed = try WebSocketURL("wss://" + url.dropFirst(8))
        } else if url.hasPrefix("http://") {
            parsed = try WebSocketURL("ws://" + url.dropFirst(7))
        } else {
            throw WebSocketError(.invalidURL, detail: "the scheme must be http or https")
        }
        let configuration = WebSocketConfiguration(
            additionalHeaders: headers, connectTimeout: timeout, keepalive: .disabled, maxMessageSize: maxResponseSize,
            maxBufferedInboundBytes: maxResponseSize, tls: tls)
        let deadline = ContinuousClock.now + timeout
        try configuration.validate()
        let trustPEM = try tls.additionalTrustPEM()
        let addresses = try await resolver.resolve(parsed.host, deadline: deadline)
        var secrets = headers.map(\.value)
        if let query = parsed.query { secrets.append(query) }
        let result = await ConnectionAttempts.race(addresses: addresses, overlapping: false) {
            [secrets] address, control in
            let remaining = deadline - .now
            guard remaining > .zero else { return .failure(WebSocketError(.connectTimeout)) }
            let channel = WebSocketChannel(logger: logger, secrets: secrets, maxBufferedInbound: maxResponseSize)
            let handle = configuration.withConnectParameters(
                url: parsed, address: address, trustPEM: trustPEM, timeout: remaining, method: method, body: body
            ) { eventLoop.connect(&$0, channel: channel) }
            guard let handle else { return .failure(eventLoop.shutDownError) }
            channel.attach(handle)
            logger.debug(
                "http request",
                metadata: [
                    "stt.http.method": "\(method)", "stt.http.url": "\(parsed)", "stt.http.address": "\(address)",
                ])
            async let followed: Void = control.follow(channel)
            let response = await channel.waitForHTTPResponse()
            await followed
            return response
        } discard: { (_: HTTPResponse) in
        }
        if Task.isCancelled { throw WebSocketError(.cancelled) }
        return try result.get()
    }
}
