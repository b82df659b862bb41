import StreamingSTT
import StreamingSTTTesting
import StreamingSTTWebSocket
import Testing

@Suite("WebSocket transport: messages")
struct WebSocketBasicsTests {
    @Test("text and binary messages echo back in order, over ws and wss", arguments: [false, true])
    func mixedOrdering(secure: Bool) async throws {
        let server = try TestWebSocketServer(tls: secure ? sharedAuthority : nil)
        defer { server.shutdown() }
        try await withTimeout {
            let connection = try await WebSocketConnection.connect(
                to: server.url(path: "/echo"), configuration: trusting(sharedAuthority))
            var sent: [WebSocketMessage] = []
            for index in 0..<200 {
                let message: WebSocketMessage =
                    index % 3 == 0
                    ? .text("message \(index)") : .binary([UInt8](repeating: UInt8(index & 0xFF), count: index * 7))
                sent.append(message)
                try await connection.send(message)
            }
            var received: [WebSocketMessage] = []
            for try await message in connection.messages {
                received.append(message)
                if received.count == sent.count { break }
            }
            #expect(received == sent)
            let closure = await connection.close()
            #expect(closure == .closedLocally(.normalClosure))
        }
    }
}
