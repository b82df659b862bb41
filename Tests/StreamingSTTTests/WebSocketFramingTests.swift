import StreamingSTT
import StreamingSTTTesting
import StreamingSTTWebSocket
import Testing

@Suite("WebSocket transport: fragments and sizes")
struct WebSocketFramingTests {
    @Test("a message sent as many fragments arrives as one message", arguments: [false, true])
    func fragmentReassembly(secure: Bool) async throws {
        let text = String((0..<5000).map { Character(UnicodeScalar(UInt8(97 + $0 % 26))) })
        let binary = (0..<70_001).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let server = try TestWebSocketServer(tls: secure ? sharedAuthority : nil) { connection in
            try? await connection.send(.text(text), fragments: 57)
            try? await connection.send(.binary(binary), fragments: 9)
            try? await connection.send(.text(""), fragments: 1)
            await connection.close()
        }
        defer { server.shutdown() }
        let received = try await withTimeout {
            let connection = try await WebSocketConnection.connect(
                to: server.url(), configuration: trusting(sharedAuthority))
            var received: [WebSocketMessage] = []
            for try await message in connection.messages { received.append(message) }
            return received
        }
        #expect(received == [.text(text), .binary(binary), .text("")])
    }

    @Test("a 3 MiB message arrives whole when the limit allows it")
    func largeMessage() async throws {
        let payload = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 ^ ($0 >> 8)) }
        let server = try TestWebSocketServer { connection in
            try? await connection.send(.binary(payload))
            await connection.close()
        }
        defer { server.shutdown() }
        let configuration = WebSocketConfiguration(maxMessageSize: 4 << 20)
        let message = try await withTimeout {
            let connection = try await WebSocketConnection.connect(to: server.url(), configuration: configuration)
            var iterator = connection.messages.makeAsyncIterator()
            return try await iterator.next()
        }
        #expect(message == .binary(payload))
    }

    @Test("a message over the maximum size fails the connection with 1009")
    func maxMessageSize() async throws {
        let serverSaw = Promise<WebSocketClosure>()
        let server = try TestWebSocketServer { connection in
            try? await connection.send(.text("small"))
            try? await connection.send(.binary([UInt8](repeating: 7, count: 2 << 20)))
            serverSaw.fulfill(await connection.closed())
        }
        defer { server.shutdown() }
        let configuration = WebSocketConfiguration(maxMessageSize: 1 << 20)
        let outcomes = try await withTimeout { () async throws -> [Result<WebSocketMessage?, WebSocketError>] in
            let connection = try await WebSocketConnection.connect(to: server.url(), configuration: configuration)
            var iterator = connection.messages.makeAsyncIterator()
            return [await iterator.outcome(), await iterator.outcome()]
        }
        #expect(outcomes[0] == .success(.text("small")))
        #expect(outcomes[1].failure?.code == .messageTooLarge)
        #expect(outcomes[1].failure?.closeCode == 1009)
        let closure = try await withTimeout { await serverSaw.value }
        #expect(closure == .closedByPeer(WebSocketCloseFrame(code: 1009, reason: "message too big")))
    }
}
