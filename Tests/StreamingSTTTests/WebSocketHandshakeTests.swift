import Logging
import StreamingSTT
import StreamingSTTTesting
import StreamingSTTWebSocket
import Testing

@Suite("WebSocket transport: handshake")
struct WebSocketHandshakeTests {
    @Test(
        "a non-101 answer fails with handshakeRejected carrying the status", arguments: [401, 403, 404, 429, 500, 503])
    func rejected(status: Int) async throws {
        let server = try TestWebSocketServer(handshakePolicy: .rejectAll(status: status))
        defer { server.shutdown() }
        let loop = try WebSocketEventLoop()
        defer { loop.shutdown() }
        let error = try await withTimeout {
            await failure { _ = try await WebSocketConnection.connect(to: server.url(), eventLoop: loop) }
        }
        #expect(error?.code == .handshakeRejected)
        #expect(error?.httpStatus == status)
        #expect(loop.connectionCount == 0)
    }

    @Test("path, query and extra headers reach the server exactly; secrets stay out of logs and errors")
    func headersAndSecrets() async throws {
        let secret = "sk-test-0123456789abcdef"
        let token = "tok-9876543210fedcba"
        let server = try TestWebSocketServer(
            recordedCustomHeaders: ["x-custom"],
            handshakePolicy: .custom { handshake in
                handshake.path == "/reject" ? .reject(status: 401) : .accept
            })
        defer { server.shutdown() }
        let (logger, logs) = RecordingLogHandler.logger()
        let configuration = WebSocketConfiguration(additionalHeaders: [
            ("Authorization", secret), ("X-Custom", "custom value"),
        ])
        try await withTimeout {
            let connection = try await WebSocketConnection.connect(
                to: server.url(path: "/v3/ws?sample_rate=16000&keyterms_prompt=%5B%22a%20b%22%5D&token=\(token)"),
                configuration: configuration, logger: logger)
            try await connection.send(text: "ping")
            var iterator = connection.messages.makeAsyncIterator()
            _ = try await iterator.next()
            await connection.close()
        }
        let handshake = try #require(server.handshakes.first)
        #expect(handshake.path == "/v3/ws")
        #expect(handshake.queryValues("sample_rate") == ["16000"])
        #expect(handshake.queryValues("keyterms_prompt") == ["[\"a b\"]"])
        #expect(handshake.queryValues("token") == [token])
        #expect(handshake.header("authorization") == secret)
        #expect(handshake.header("x-custom") == "custom value")

        let error = try await withTimeout {
            await failure {
                _ = try await WebSocketConnection.connect(
                    to: server.url(path: "/reject?token=\(token)"), configuration: configuration, logger: logger)
            }
        }
        #expect(error?.code == .handshakeRejected)
        let texts = logs.all + [String(describing: error), String(reflecting: error)]
        #expect(!logs.all.isEmpty)
        for text in texts {
            #expect(!text.contains(secret))
            #expect(!text.contains(token))
        }
    }

    @Test("URLs are parsed strictly and printed without their query")
    func urls() throws {
        let url = try WebSocketURL("wss://Streaming.AssemblyAI.com/v3/ws?token=secret")
        #expect(url.host == "streaming.assemblyai.com")
        #expect(url.port == 443)
        #expect(url.requestTarget == "/v3/ws?token=secret")
        #expect("\(url)" == "wss://streaming.assemblyai.com:443/v3/ws?<redacted>")
        #expect(try WebSocketURL("ws://[::1]:9000/v2").host == "::1")
        #expect(try WebSocketURL("ws://host").requestTarget == "/")
        for bad in ["http://x/", "ws://", "ws://h:0/", "ws://h:70000/", "ws://u:p@h/", "ws://h/a b"] {
            #expect(throws: WebSocketError.self) { try WebSocketURL(bad) }
        }
    }

    @Test("header values with line breaks are refused before connecting")
    func headerInjection() async throws {
        let configuration = WebSocketConfiguration(additionalHeaders: [("X-Evil", "a\r\nInjected: 1")])
        let error = await failure {
            _ = try await WebSocketConnection.connect(to: "ws://127.0.0.1:9/", configuration: configuration)
        }
        #expect(error?.code == .invalidConfiguration)
    }
}
