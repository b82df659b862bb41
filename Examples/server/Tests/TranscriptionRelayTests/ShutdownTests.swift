import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import StreamingSTTCore
import StreamingSTTTesting
import Testing
import TranscriptionRelay

/// The server shutting down (SIGTERM in production: a graceful shutdown of its service group)
/// while a client is mid-session: the vendor session is stopped, not cancelled, so every final
/// the vendor sent still reaches the client before the WebSocket closes.
@Suite("Relay server shutdown", .timeLimit(.minutes(2)))
struct ShutdownTests {
    @Test(
        "A graceful shutdown drains open sessions: every final the vendor sent, then terminated, then close 1001",
        arguments: ["assemblyai", "speechmatics"])
    func gracefulShutdownDrains(provider: String) async throws {
        let emulator = try makeEmulator()
        defer { emulator.shutdown() }
        let (relay, group, server, port) = try await runRelay(emulator: emulator)
        defer { server.cancel() }

        let (events, closure) = try await withTimeout {
            let ws = try await RelayClient.connect(port: port, token: clientToken)
            try await ws.connection.send(text: #"{"type":"start","provider":"\#(provider)"}"#)
            try await ws.send(audio: audio(seconds: script.duration + 1.5))
            var events: [RelayEvent] = []
            var shutdownTriggered = false
            do {
                for try await message in ws.connection.messages {
                    guard case .text(let text) = message else { continue }
                    let event = try RelayEvent(parsing: text)
                    events.append(event)
                    // Mid-session: the first final is out, more audio is with the vendor.
                    if event.type == "final" && !shutdownTriggered {
                        shutdownTriggered = true
                        await group.triggerGracefulShutdown()
                    }
                }
            } catch {
                // The relay may drop TCP right after its close frame; the closure says what happened.
            }
            return (events, await ws.connection.closed())
        }
        try await withTimeout { try await server.value }

        let record = try #require(await emulator.waitForSessions(count: 1).first)
        let finals = events.filter { $0.type == "final" }.compactMap(\.text)
        #expect(!finals.isEmpty)
        #expect(finals.joined(separator: " ") == record.transcript, "every final the vendor sent reached the client")
        #expect(events.last?.state == "ended")
        #expect(events.last { $0.type != "state" }?.type == "terminated")
        #expect(!events.contains { $0.type == "error" })
        #expect(
            record.textMessagesReceived.contains { $0.contains("Terminate") || $0.contains("EndOfStream") },
            "the relay ended the vendor session with its end message (stop), not by dropping it")
        #expect(closure.peerCode == 1001)
        #expect(relay.activeSessions == 0)
    }
    @Test("While a shutdown drains, a new client is refused: error server_shutting_down, then close 1001")
    func drainingRefusesNewSessions() async throws {
        // The vendor answers Terminate only after 3 s, so the drain stays open that long.
        let emulator = try makeEmulator(terminationDelay: .seconds(3))
        defer { emulator.shutdown() }
        let (relay, group, server, port) = try await runRelay(emulator: emulator)
        defer { server.cancel() }

        try await withTimeout {
            // A: a vendor session in progress, which keeps the drain open.
            let active = try await RelayClient.connect(port: port, token: clientToken)
            try await active.connection.send(text: #"{"type":"start","provider":"assemblyai"}"#)
            var activeMessages = active.connection.messages.makeAsyncIterator()
            while let message = try await activeMessages.next() {
                if case .text(let text) = message, try RelayEvent(parsing: text).type == "begin" { break }
            }
            // C: connected, no session started. The drain closes it with 1001 once it refuses
            // new sessions, so C's close is the sign that the refusing has begun.
            let idle = try await RelayClient.connect(port: port, token: secondClientToken)
            await group.triggerGracefulShutdown()
            #expect(await idle.connection.closed().peerCode == 1001)

            // B: a new client while the drain waits for A's vendor.
            let late = try await RelayClient.connect(port: port, token: thirdClientToken)
            var events: [RelayEvent] = []
            do {
                for try await message in late.connection.messages {
                    if case .text(let text) = message { events.append(try RelayEvent(parsing: text)) }
                }
            } catch {
                // The server may drop TCP right after its close frame; the closure says what happened.
            }
            #expect(events.count == 1)
            #expect(events.first?.type == "error")
            #expect(events.first?.code == "server_shutting_down")
            #expect(events.first?.retryable == true)
            #expect(await late.connection.closed().peerCode == 1001)

            // A still ends properly: terminated, then 1001.
            var last: String?
            do {
                while let message = try await activeMessages.next() {
                    guard case .text(let text) = message else { continue }
                    let event = try RelayEvent(parsing: text)
                    if event.type != "state" { last = event.type }
                }
            } catch {}
            #expect(last == "terminated")
            #expect(await active.connection.closed().peerCode == 1001)
        }
        try await withTimeout { try await server.value }
        #expect(relay.activeSessions == 0)
    }

    @Test("A graceful shutdown does not wait for a connection that never sent a request")
    func shutdownClosesConnectionWithoutRequest() async throws {
        let emulator = try makeEmulator()
        defer { emulator.shutdown() }
        let (_, group, server, port) = try await runRelay(emulator: emulator)
        defer { server.cancel() }

        // A TCP connection that sends nothing (a browser's preconnect, a test client that never
        // made its request).
        let silent = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port).get()
        defer { silent.close(promise: nil) }
        // A session after it: the server accepts in order, so the silent one is accepted now.
        try await withTimeout {
            let ws = try await RelayClient.connect(port: port, token: clientToken)
            await ws.connection.close()
        }

        await group.triggerGracefulShutdown()
        try await withTimeout(.seconds(10)) { try await server.value }
        try await withTimeout(.seconds(10)) { try await silent.closeFuture.get() }
    }

    @Test("A connection that sends no request within the first request timeout is closed")
    func firstRequestTimeout() async throws {
        let emulator = try makeEmulator()
        defer { emulator.shutdown() }
        var configuration = relayConfiguration(emulator: emulator)
        configuration.firstRequestTimeout = .milliseconds(300)
        let relay = TranscriptionRelay(configuration: configuration, logger: LogRecorder().logger())
        try await relay.application().test(.live) { client in
            let port = try #require(client.port)
            let silent = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port).get()
            defer { silent.close(promise: nil) }
            let started = ContinuousClock.now
            try await withTimeout(.seconds(10)) { try await silent.closeFuture.get() }
            #expect(ContinuousClock.now - started < .seconds(5))
            // A connection that makes its request in time is served as before.
            let ws = try await withTimeout { try await RelayClient.connect(port: port, token: clientToken) }
            await ws.connection.close()
        }
    }
}

/// The relay for `emulator` in a `ServiceGroup` with its drainer, as stt-server runs it; returns
/// once it listens.
private func runRelay(
    emulator: TranscriptionEmulator
) async throws -> (relay: TranscriptionRelay, group: ServiceGroup, server: Task<Void, any Error>, port: Int) {
    let relay = TranscriptionRelay(
        configuration: relayConfiguration(emulator: emulator), logger: LogRecorder().logger())
    let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
    let group = ServiceGroup(
        configuration: .init(services: relay.services { portSink.yield($0) }, logger: Logger(label: "shutdown-test")))
    let server = Task { try await group.run() }
    var portIterator = ports.makeAsyncIterator()
    guard let port = await portIterator.next() else {
        server.cancel()
        throw TimeoutError()
    }
    return (relay, group, server, port)
}
