import StreamingSTT
import StreamingSTTTesting
import StreamingSTTWebSocket
import Testing

@Suite("WebSocket transport: failures, timeouts and cancellation")
struct WebSocketFailureTests {
    @Test("a loop whose context could not be created fails every connection with the reason, and runs no job")
    func loopWithoutContext() async throws {
        let loop = WebSocketEventLoop(failure: WebSocketError(.eventLoopShutDown, detail: "no memory"))
        let error = try await withTimeout {
            await failure { _ = try await WebSocketConnection.connect(to: "ws://127.0.0.1:9/", eventLoop: loop) }
        }
        #expect(error?.code == .eventLoopShutDown)
        #expect(error?.detail.contains("no memory") == true)
        #expect(loop.connectionCount == 0)
        // A task that prefers the loop still runs (on the global executor).
        let ran = try await withTimeout { await Task(executorPreference: loop) { true }.value }
        #expect(ran)
        loop.shutdown()
    }

    @Test("nothing listening: connectionRefused")
    func refused() async throws {
        let closedPort = try ClosedPort()
        defer { closedPort.close() }
        let port = closedPort.port
        let error = try await withTimeout {
            await failure { _ = try await WebSocketConnection.connect(to: "ws://127.0.0.1:\(port)/") }
        }
        #expect(error?.code == .connectionRefused)
    }

    @Test("an unresolvable host: dnsFailure")
    func dns() async throws {
        let error = try await withTimeout {
            await failure { _ = try await WebSocketConnection.connect(to: "wss://no-such-host.invalid/v2") }
        }
        #expect(error?.code == .dnsFailure)
    }

    @Test("a server that accepts TCP and never answers: connectTimeout, on time")
    func connectTimeout() async throws {
        let listener = try SilentListener()
        defer { listener.close() }
        let loop = try WebSocketEventLoop()
        defer { loop.shutdown() }
        let configuration = WebSocketConfiguration(connectTimeout: .milliseconds(300))
        let clock = ContinuousClock()
        let start = clock.now
        let error = try await withTimeout {
            await failure {
                _ = try await WebSocketConnection.connect(
                    to: "ws://127.0.0.1:\(listener.port)/", configuration: configuration, eventLoop: loop)
            }
        }
        let elapsed = clock.now - start
        #expect(error?.code == .connectTimeout)
        #expect(elapsed >= .milliseconds(250))
        #expect(elapsed < .seconds(30))  // generous: sanitizer runs and loaded machines are slow
        #expect(loop.connectionCount == 0)
    }

    @Test("a peer that stops answering pings: pingTimeout")
    func pingTimeout() async throws {
        let server = try TestWebSocketServer { connection in
            connection.stopReading()
            _ = await connection.closed()
        }
        defer { server.shutdown() }
        let configuration = WebSocketConfiguration(
            keepalive: .enabled(pingInterval: .milliseconds(200), pongTimeout: .milliseconds(300)))
        let outcome = try await withTimeout { () async throws -> Result<WebSocketMessage?, WebSocketError> in
            let connection = try await WebSocketConnection.connect(to: server.url(), configuration: configuration)
            var iterator = connection.messages.makeAsyncIterator()
            return await iterator.outcome()
        }
        #expect(outcome.failure?.code == .pingTimeout)
    }

    @Test("a peer that stops reading but goes on sending: pingTimeout all the same, within the bound")
    func pingTimeoutWhileThePeerSends() async throws {
        let server = try TestWebSocketServer(receiveBufferSize: 4096) { connection in
            connection.stopReading()
            // Talks on (paced, as a service sends transcripts) while it reads nothing.
            while (try? await connection.send(.text("still talking"))) != nil {
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
        defer { server.shutdown() }
        let pingInterval = Duration.milliseconds(200)
        let pongTimeout = Duration.milliseconds(300)
        let configuration = WebSocketConfiguration(
            keepalive: .enabled(pingInterval: pingInterval, pongTimeout: pongTimeout), maxQueuedOutboundBytes: 16 << 10)
        let clock = ContinuousClock()
        let (received, error, elapsed) = try await withTimeout(.seconds(15)) {
            () async throws -> (Int, WebSocketError?, Duration) in
            let connection = try await WebSocketConnection.connect(to: server.url(), configuration: configuration)
            let start = clock.now
            // The sender fills the socket and the queue, then waits in `send`.
            async let sender: Void = {
                while (try? await connection.send(binary: [UInt8](repeating: 0, count: 3200))) != nil {}
            }()
            var received = 0
            var error: WebSocketError?
            var iterator = connection.messages.makeAsyncIterator()
            reading: while true {
                switch await iterator.outcome() {
                case .success(.some): received += 1
                case .success(.none): break reading
                case .failure(let failure):
                    error = failure
                    break reading
                }
            }
            let elapsed = clock.now - start
            await sender
            return (received, error, elapsed)
        }
        #expect(received > 0, "the peer went on sending")
        #expect(error?.code == .pingTimeout)
        #expect(elapsed < pingInterval + pongTimeout + .seconds(5), "detected after \(elapsed)")
    }

    @Test("a peer that answers pings stays connected through several intervals")
    func pingAnswered() async throws {
        let server = try TestWebSocketServer { connection in
            // Say something only after several ping intervals have passed.
            try await Task.sleep(for: .milliseconds(1200))
            try await connection.send(.text("still here"))
            _ = await connection.closed()
        }
        defer { server.shutdown() }
        let configuration = WebSocketConfiguration(
            keepalive: .enabled(pingInterval: .milliseconds(200), pongTimeout: .seconds(2)))
        let message = try await withTimeout {
            let connection = try await WebSocketConnection.connect(to: server.url(), configuration: configuration)
            var iterator = connection.messages.makeAsyncIterator()
            let message = try await iterator.next()
            await connection.close()
            return message
        }
        #expect(message == .text("still here"))
    }

    @Test("cancelling a connecting task ends it at once and leaks nothing")
    func cancelConnect() async throws {
        let listener = try SilentListener()
        defer { listener.close() }
        let loop = try WebSocketEventLoop()
        defer { loop.shutdown() }
        let configuration = WebSocketConfiguration(connectTimeout: .seconds(60))
        let task = Task {
            await failure {
                _ = try await WebSocketConnection.connect(
                    to: "ws://127.0.0.1:\(listener.port)/", configuration: configuration, eventLoop: loop)
            }
        }
        try await withTimeout { while loop.connectionCount == 0 { await Task.yield() } }
        task.cancel()
        let error = try await withTimeout { await task.value }
        #expect(error?.code == .cancelled)
        try await withTimeout { while loop.connectionCount != 0 { await Task.yield() } }
    }

    @Test("cancelling a reading task drops the connection; the server sees it go")
    func cancelRead() async throws {
        let serverSaw = Promise<WebSocketClosure>()
        let server = try TestWebSocketServer { connection in
            serverSaw.fulfill(await connection.closed())
        }
        defer { server.shutdown() }
        let loop = try WebSocketEventLoop()
        defer { loop.shutdown() }
        let connection = try await withTimeout {
            try await WebSocketConnection.connect(to: server.url(), eventLoop: loop)
        }
        let reader = Task { () -> Result<WebSocketMessage?, WebSocketError> in
            var iterator = connection.messages.makeAsyncIterator()
            return await iterator.outcome()
        }
        reader.cancel()
        let outcome = try await withTimeout { await reader.value }
        #expect(outcome.failure?.code == .cancelled)
        let serverClosure = try await withTimeout { await serverSaw.value }
        #expect(serverClosure == .failed(WebSocketError(.connectionLost)))
        try await withTimeout { await connection.channel.waitUntilDestroyed() }
        #expect(loop.connectionCount == 0)
    }

    @Test("withConnection closes normally after the body and drops on a thrown error")
    func scoped() async throws {
        let closures = Promise<WebSocketClosure>()
        let server = try TestWebSocketServer { connection in
            closures.fulfill(await connection.closed())
        }
        defer { server.shutdown() }
        try await withTimeout {
            try await WebSocketConnection.withConnection(to: server.url()) { connection in
                try await connection.send(text: "hi")
            }
        }
        #expect(try await withTimeout { await closures.value } == .closedByPeer(.normalClosure))

        struct Boom: Error {}
        let dropped = Promise<WebSocketClosure>()
        let second = try TestWebSocketServer { connection in
            dropped.fulfill(await connection.closed())
        }
        defer { second.shutdown() }
        await #expect(throws: Boom.self) {
            try await WebSocketConnection.withConnection(to: second.url()) { _ in throw Boom() }
        }
        #expect(try await withTimeout { await dropped.value } == .failed(WebSocketError(.connectionLost)))
    }

    @Test("send suspends while the queue is over its bound, and resumes when the peer reads again")
    func backpressure() async throws {
        let resume = Promise<Void>()
        let received = Promise<Int>()
        let messageSize = 64 << 10
        let count = 400  // 25 MiB: far more than the socket buffers hold
        let server = try TestWebSocketServer { connection in
            connection.stopReading()
            await resume.value
            connection.resumeReading()
            var total = 0
            for try await message in connection.messages {
                total += message.byteCount
                if total == messageSize * count { break }
            }
            received.fulfill(total)
        }
        defer { server.shutdown() }
        let limit = 256 << 10
        let configuration = WebSocketConfiguration(maxQueuedOutboundBytes: limit)
        let connection = try await withTimeout {
            try await WebSocketConnection.connect(to: server.url(), configuration: configuration)
        }
        let payload = [UInt8](repeating: 0x5A, count: messageSize)
        let producer = Task { () -> (sent: Int, maxQueued: Int) in
            var maxQueued = 0
            for index in 0..<count {
                do { try await connection.send(binary: payload) } catch { return (index, maxQueued) }
                maxQueued = max(maxQueued, connection.queuedOutboundBytes)
            }
            return (count, maxQueued)
        }
        try await withTimeout(.seconds(30), "the sender to block") { await connection.channel.waitUntilSenderBlocked() }
        #expect(connection.queuedOutboundBytes <= limit + messageSize)
        resume.fulfill(())
        let (sent, maxQueued) = try await withTimeout(.seconds(60)) { await producer.value }
        #expect(sent == count)
        #expect(maxQueued <= limit + messageSize)
        #expect(try await withTimeout(.seconds(60)) { await received.value } == messageSize * count)
        await connection.close()
    }
}
