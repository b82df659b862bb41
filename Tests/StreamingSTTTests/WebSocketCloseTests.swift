import StreamingSTT
import StreamingSTTTesting
import StreamingSTTWebSocket
import Testing

@Suite("WebSocket transport: closing")
struct WebSocketCloseTests {
    @Test("the client's close code and reason reach the server")
    func clientClose() async throws {
        let serverSaw = Promise<WebSocketClosure>()
        let server = try TestWebSocketServer { connection in
            serverSaw.fulfill(await connection.closed())
        }
        defer { server.shutdown() }
        let loop = try WebSocketEventLoop()
        defer { loop.shutdown() }
        let closure = try await withTimeout {
            let connection = try await WebSocketConnection.connect(to: server.url(), eventLoop: loop)
            let closure = await connection.close(WebSocketCloseFrame(code: 4321, reason: "client done"))
            await connection.channel.waitUntilDestroyed()
            return closure
        }
        #expect(closure == .closedLocally(WebSocketCloseFrame(code: 4321, reason: "client done")))
        #expect(
            try await withTimeout { await serverSaw.value }
                == .closedByPeer(WebSocketCloseFrame(code: 4321, reason: "client done")))
        #expect(loop.connectionCount == 0)
    }

    @Test("the server's close code and reason reach the client, after every message before it")
    func serverClose() async throws {
        let server = try TestWebSocketServer { connection in
            for index in 0..<10 { try? await connection.send(.text("\(index)")) }
            await connection.close(WebSocketCloseFrame(code: 4001, reason: "bye from peer"))
        }
        defer { server.shutdown() }
        let (messages, closure) = try await withTimeout { () async throws -> ([WebSocketMessage], WebSocketClosure) in
            let connection = try await WebSocketConnection.connect(to: server.url())
            var messages: [WebSocketMessage] = []
            for try await message in connection.messages { messages.append(message) }
            return (messages, await connection.closed())
        }
        #expect(messages == (0..<10).map { .text("\($0)") })
        #expect(closure == .closedByPeer(WebSocketCloseFrame(code: 4001, reason: "bye from peer")))
    }

    @Test("a peer that drops TCP without a close frame is reported as connectionLost")
    func abruptLoss() async throws {
        let server = try TestWebSocketServer { connection in
            try? await connection.send(.text("last words"))
            for try await _ in connection.messages { break }
            connection.dropConnection()
        }
        defer { server.shutdown() }
        let outcomes = try await withTimeout { () async throws -> [Result<WebSocketMessage?, WebSocketError>] in
            let connection = try await WebSocketConnection.connect(to: server.url())
            try await connection.send(text: "go")
            var iterator = connection.messages.makeAsyncIterator()
            return [await iterator.outcome(), await iterator.outcome()]
        }
        #expect(outcomes[0] == .success(.text("last words")))
        #expect(outcomes[1].failure?.code == .connectionLost)
    }

    @Test("sending after close fails with a typed error")
    func sendAfterClose() async throws {
        let server = try TestWebSocketServer()
        defer { server.shutdown() }
        let error = try await withTimeout { () async throws -> WebSocketError? in
            let connection = try await WebSocketConnection.connect(to: server.url())
            await connection.close()
            return await failure { try await connection.send(text: "too late") }
        }
        #expect(error?.code == .closed)
    }

    @Test("shutting a loop down ends its connections with eventLoopShutDown and frees them")
    func loopShutdown() async throws {
        let server = try TestWebSocketServer()
        defer { server.shutdown() }
        let loop = try WebSocketEventLoop()
        let connection = try await withTimeout {
            try await WebSocketConnection.connect(to: server.url(), eventLoop: loop)
        }
        loop.shutdown()
        let closure = try await withTimeout { await connection.closed() }
        #expect(closure == .failed(WebSocketError(.eventLoopShutDown)))
        #expect(loop.connectionCount == 0)
        await #expect(throws: WebSocketError(.eventLoopShutDown)) {
            _ = try await WebSocketConnection.connect(to: server.url(), eventLoop: loop)
        }
    }
}
