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
        var configuration = WebSocketConfiguration(
            additionalHeaders: headers, connectTimeout: timeout, keepalive: .disabled, maxMessageSize: maxResponseSize,
            tls: tls)
        configuration.maxBufferedInboundBytes = maxResponseSize
        let clock = ContinuousClock()
        let start = clock.now
        try configuration.validate()
        let trustPEM = try tls.additionalTrustPEM()
        let address = try await HostResolver.resolve(parsed.host, timeout: timeout)
        let remaining = timeout - (clock.now - start)
        guard remaining > .zero else { throw WebSocketError(.connectTimeout) }
        var secrets = headers.map(\.value)
        if let query = parsed.query { secrets.append(query) }
        let channel = WebSocketChannel(logger: logger, secrets: secrets, maxBufferedInbound: maxResponseSize)
        let handle = configuration.withConnectParameters(
            url: parsed, address: address, trustPEM: trustPEM, timeout: remaining, method: method, body: body
        ) { eventLoop.connect(&$0, channel: channel) }
        guard let handle else { throw eventLoop.shutDownError }
        channel.attach(handle)
        logger.debug("http request", metadata: ["stt.http.method": "\(method)", "stt.http.url": "\(parsed)"])
        return try await channel.waitForHTTPResponse().get()
    }
}
