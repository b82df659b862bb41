import StreamingSTT
import StreamingSTTTesting
import StreamingSTTWebSocket
import Testing

@Suite("WebSocket transport: many connections on one thread")
struct WebSocketScaleTests {
    /// A TLS test server on a port that no socket of this process uses.
    static func serverOnAnUnusedPort() throws -> TestWebSocketServer {
        var server = try TestWebSocketServer(tls: sharedAuthority)
        while openSockets(port: server.port) != 0 {
            let taken = server
            server = try TestWebSocketServer(tls: sharedAuthority)
            taken.shutdown()
        }
        return server
    }

    @Test("200 concurrent wss connections share one service thread, and all are freed after close")
    func twoHundred() async throws {
        // A port no socket of this process uses yet: the socket counts below are by port, and a
        // connection of another test to an earlier server on the same port number (closing
        // while that test ends) would be counted too (seen once as 402 instead of 400).
        let server = try Self.serverOnAnUnusedPort()
        defer { server.shutdown() }
        let loop = try WebSocketEventLoop()
        defer { loop.shutdown() }
        let configuration = trusting(sharedAuthority)
        // Warm up: one connection, so lazily started threads exist before we count.
        try await withTimeout {
            let warm = try await WebSocketConnection.connect(
                to: server.url(), configuration: configuration, eventLoop: loop)
            await warm.close()
            await warm.channel.waitUntilDestroyed()
            while server.connectionCount != 0 { await Task.yield() }  // the server's end of it is gone too
        }
        let threadsBefore = threadCount()

        let connections = try await withTimeout(.seconds(60)) {
            try await withThrowingTaskGroup(of: WebSocketConnection.self) { group in
                for _ in 0..<200 {
                    group.addTask {
                        try await WebSocketConnection.connect(
                            to: server.url(), configuration: configuration, eventLoop: loop)
                    }
                }
                var all: [WebSocketConnection] = []
                for try await connection in group { all.append(connection) }
                return all
            }
        }
        #expect(loop.connectionCount == 200)
        // Both ends of each connection live here. A client of another test running in parallel
        // that still reaches for an earlier server's port number can land on this server for a
        // moment (seen once as 401), so the count is awaited rather than taken once.
        let sockets = await Self.socketCount(on: server.port, becomes: 400)
        #expect(sockets == 400)
        #expect(threadCount() <= threadsBefore + 1)  // the server has its own thread already; clients add none

        let echoed = try await withTimeout(.seconds(60)) {
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for (index, connection) in connections.enumerated() {
                    group.addTask {
                        try await connection.send(text: "hello \(index)")
                        var iterator = connection.messages.makeAsyncIterator()
                        return try await iterator.next() == .text("hello \(index)")
                    }
                }
                var good = 0
                for try await ok in group where ok { good += 1 }
                return good
            }
        }
        #expect(echoed == 200)

        try await withTimeout(.seconds(60)) {
            await withTaskGroup(of: Void.self) { group in
                for connection in connections {
                    group.addTask {
                        await connection.close()
                        await connection.channel.waitUntilDestroyed()
                    }
                }
            }
        }
        #expect(loop.connectionCount == 0)
        try await withTimeout { while server.connectionCount != 0 { await Task.yield() } }
        let left = await Self.socketCount(on: server.port, becomes: 0)
        #expect(left == 0)
    }

    /// The sockets of this process on `port` (see `openSockets(port:)`), once they are `expected`,
    /// or after 10 s what they are then.
    static func socketCount(on port: Int, becomes expected: Int) async -> Int {
        let deadline = ContinuousClock.now + .seconds(10)
        var count = openSockets(port: port)
        while count != expected, ContinuousClock.now < deadline {
            await Task.yield()
            count = openSockets(port: port)
        }
        return count
    }
}
