import Hummingbird
import Logging
import ServiceLifecycle
import StreamingSTT
import StreamingSTTTesting
import Testing
import TranscriptionServer

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
        let relay = TranscriptionRelay(
            configuration: relayConfiguration(emulator: emulator), logger: LogRecorder().logger())
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let group = ServiceGroup(
            configuration: .init(
                services: relay.services { portSink.yield($0) }, logger: Logger(label: "shutdown-test")))
        let server = Task { try await group.run() }
        defer { server.cancel() }
        var portIterator = ports.makeAsyncIterator()
        let port = try #require(await portIterator.next())

        let (events, closure) = try await withTimeout {
            let ws = try await RelayClient.connect(port: port, token: clientToken)
            try await ws.connection.send(text: #"{"type":"start","provider":"\#(provider)"}"#)
            try await ws.send(audio: audio(seconds: script.duration + 1.5))
            var events: [JSONValue] = []
            var shutdownTriggered = false
            do {
                for try await message in ws.connection.messages {
                    guard case .text(let text) = message else { continue }
                    let event = try JSONValue(parsing: text)
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
        let finals = events.filter { $0.type == "final" }.compactMap { $0["text"]?.stringValue }
        #expect(!finals.isEmpty)
        #expect(finals.joined(separator: " ") == record.transcript, "every final the vendor sent reached the client")
        #expect(events.last?.type == "terminated")
        #expect(!events.contains { $0.type == "error" })
        #expect(
            record.textMessagesReceived.contains { $0.contains("Terminate") || $0.contains("EndOfStream") },
            "the relay ended the vendor session with its end message (stop), not by dropping it")
        #expect(closure.peerCode == 1001)
        #expect(relay.activeSessions == 0)
    }
}
