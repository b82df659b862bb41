import Hummingbird
import HummingbirdTesting
import Logging
import StreamingSTTCore
import StreamingSTTTesting
import StreamingSTTWebSocket
import Testing
import TranscriptionRelay

/// The relay end to end: a WebSocket client → the relay (Hummingbird, port 0) → the emulator of
/// both vendors over TLS with a generated CA.
@Suite("Relay server", .timeLimit(.minutes(2)))
struct RelayTests {
    @Test(
        "Audio relayed to each vendor; the transcript events equal the emulator's script",
        arguments: ["assemblyai", "speechmatics"])
    func relaysTranscript(provider: String) async throws {
        let emulator = try makeEmulator()
        defer { emulator.shutdown() }
        let logs = LogRecorder()
        let relay = TranscriptionRelay(configuration: relayConfiguration(emulator: emulator), logger: logs.logger())
        try await relay.application().test(.live) { client in
            let port = try #require(client.port)
            let (events, closure) = try await withTimeout {
                let ws = try await RelayClient.connect(port: port, token: clientToken)
                try await ws.connection.send(text: #"{"type":"start","provider":"\#(provider)"}"#)
                try await ws.send(audio: audio(seconds: script.duration + 1.5))
                try await ws.connection.send(text: #"{"type":"stop"}"#)
                return try await ws.readAll()
            }
            #expect(events.first?.type == "begin")
            #expect(events.first?.provider == provider)
            #expect(events.last?.type == "terminated")
            #expect(events.last?.audioDuration != nil)
            let finals = events.filter { $0.type == "final" }
            #expect(finals.compactMap(\.text).joined(separator: " ") == script.transcript)
            let words = finals.flatMap { $0.words ?? [] }
            #expect(words.count == script.words.count)
            #expect(words.allSatisfy { $0.start != nil && $0.confidence != nil })
            #expect(finals.allSatisfy { $0.endOfTurn != nil })
            #expect(events.contains { $0.type == "partial" })
            #expect(!events.contains { $0.type == "error" })
            #expect(closure?.peerCode == 1000)

            let record = try #require(await emulator.waitForSessions(count: 1).first)
            #expect(record.violations.isEmpty, "\(record.violations)")
            #expect(record.transcript == script.transcript)
            let everything = events.map(\.json) + logs.lines
            #expect(!everything.contains { $0.contains(vendorKey) })
            #expect(logs.lines.contains { $0.contains("vendor session started") })
        }
        #expect(relay.activeSessions == 0)
    }

    @Test("Audio before any start message goes to the default provider")
    func defaultProvider() async throws {
        let emulator = try makeEmulator()
        defer { emulator.shutdown() }
        var configuration = relayConfiguration(emulator: emulator)
        configuration.defaultProvider = .speechmatics
        let relay = TranscriptionRelay(configuration: configuration, logger: LogRecorder().logger())
        try await relay.application().test(.live) { client in
            let port = try #require(client.port)
            let (events, _) = try await withTimeout {
                let ws = try await RelayClient.connect(port: port, token: clientToken)
                try await ws.send(audio: audio(seconds: script.duration + 1.5))
                try await ws.connection.send(text: #"{"type":"stop"}"#)
                return try await ws.readAll()
            }
            #expect(events.first?.provider == "speechmatics")
            #expect(events.last?.type == "terminated")
        }
    }

    @Test("A page from a foreign origin is rejected, even with a valid token; a request without Origin is not a page")
    func foreignOrigin() async throws {
        let emulator = try makeEmulator()
        defer { emulator.shutdown() }
        let relay = TranscriptionRelay(
            configuration: relayConfiguration(emulator: emulator), logger: LogRecorder().logger())
        try await relay.application().test(.live) { client in
            let port = try #require(client.port)
            for origin in ["https://evil.example", "http://127.0.0.1:1", "null"] {
                // Refused before the upgrade: an HTTP 403.
                let error = await #expect(throws: WebSocketError.self, "\(origin)") {
                    let ws = try await RelayClient.connect(
                        port: port, token: clientToken, headers: [("Origin", origin)])
                    ws.connection.cancel()
                }
                #expect(error?.httpStatus == 403, "\(origin)")
            }
            let ws = try await RelayClient.connect(port: port, token: clientToken)
            ws.connection.cancel()
            #expect(emulator.sessions.isEmpty)
        }
    }

    @Test("Malformed client messages: an unknown text message is an error event, odd-length audio closes with 1003")
    func malformedClientMessages() async throws {
        let emulator = try makeEmulator()
        defer { emulator.shutdown() }
        let relay = TranscriptionRelay(
            configuration: relayConfiguration(emulator: emulator), logger: LogRecorder().logger())
        try await relay.application().test(.live) { client in
            let port = try #require(client.port)
            let (events, closure) = try await withTimeout {
                let ws = try await RelayClient.connect(port: port, token: clientToken)
                try await ws.connection.send(text: "not json")
                try await ws.connection.send(text: #"{"type":"start","provider":"whisper"}"#)
                try await ws.connection.send(binary: [0, 0, 0])
                return try await ws.readAll()
            }
            #expect(
                events.compactMap(\.code) == [
                    "invalid_message", "invalid_message", "invalid_audio",
                ])
            #expect(closure?.peerCode == 1003)
            #expect(emulator.sessions.isEmpty)
        }
        #expect(relay.activeSessions == 0)
    }

    @Test("A provider the server does not offer is refused with 1008, and later audio starts nothing")
    func providerUnavailable() async throws {
        let emulator = try makeEmulator()
        defer { emulator.shutdown() }
        var configuration = relayConfiguration(emulator: emulator)
        configuration.speechmatics = nil
        let relay = TranscriptionRelay(configuration: configuration, logger: LogRecorder().logger())
        try await relay.application().test(.live) { client in
            let port = try #require(client.port)
            let (events, closure) = try await withTimeout {
                let ws = try await RelayClient.connect(port: port, token: clientToken)
                try await ws.connection.send(text: #"{"type":"start","provider":"speechmatics"}"#)
                try? await ws.send(audio: audio(seconds: 0.5))
                return try await ws.readAll()
            }
            #expect(events.compactMap(\.code) == ["provider_unavailable"])
            #expect(closure?.peerCode == 1008)
        }
        #expect(emulator.sessions.isEmpty)
    }

    @Test("A vendor that refuses the key: the client gets the error (without the key) and close 1011")
    func vendorRejectsKey() async throws {
        let emulator = try makeEmulator()
        defer { emulator.shutdown() }
        let wrongKey = "wrong-vendor-key-0b5e"
        var configuration = relayConfiguration(emulator: emulator)
        configuration.assemblyAI?.apiKey = Secret(wrongKey)
        let logs = LogRecorder()
        let relay = TranscriptionRelay(configuration: configuration, logger: logs.logger())
        try await relay.application().test(.live) { client in
            let port = try #require(client.port)
            let (events, closure) = try await withTimeout {
                let ws = try await RelayClient.connect(port: port, token: clientToken)
                try await ws.connection.send(text: #"{"type":"start","provider":"assemblyai"}"#)
                try? await ws.send(audio: audio(seconds: 0.5))
                return try await ws.readAll()
            }
            #expect(events.map(\.type) == ["error"])
            #expect(events.first?.code == "authenticationFailed")
            #expect(events.first?.retryable == false)
            #expect(closure?.peerCode == 1011)
            #expect(!(events.map(\.json) + logs.lines).contains { $0.contains(wrongKey) })
        }
        #expect(relay.activeSessions == 0)
    }

    @Test("A client without the client token, or with a wrong one, is rejected before any vendor session")
    func rejectsUnauthenticatedClients() async throws {
        let emulator = try makeEmulator()
        defer { emulator.shutdown() }
        let logs = LogRecorder()
        let relay = TranscriptionRelay(configuration: relayConfiguration(emulator: emulator), logger: logs.logger())
        try await relay.application().test(.live) { client in
            let port = try #require(client.port)
            for token in [nil, "wrong-token", clientToken + "x", ""] as [String?] {
                // Refused before the upgrade: an HTTP 401.
                let error = await #expect(throws: WebSocketError.self) {
                    let ws = try await RelayClient.connect(port: port, token: token)
                    ws.connection.cancel()
                }
                #expect(error?.httpStatus == 401)
            }
            #expect(emulator.sessions.isEmpty)
            #expect(!logs.lines.contains { $0.contains(vendorKey) || $0.contains(clientToken) })
        }
    }

    @Test("Sessions over the per-client or the total limit are rejected; a slot frees when a session ends")
    func sessionLimits() async throws {
        let emulator = try makeEmulator()
        defer { emulator.shutdown() }
        var configuration = relayConfiguration(emulator: emulator)
        configuration.maxSessionsPerClient = 1
        configuration.maxSessions = 2
        let relay = TranscriptionRelay(configuration: configuration, logger: LogRecorder().logger())
        try await relay.application().test(.live) { client in
            let port = try #require(client.port)
            try await withTimeout {
                /// Opens a session and waits for its `begin`, so its slot is surely taken.
                func open(_ token: String) async throws -> RelayClient {
                    let ws = try await RelayClient.connect(port: port, token: token)
                    try await ws.connection.send(text: #"{"type":"start","provider":"assemblyai"}"#)
                    var iterator = ws.connection.messages.makeAsyncIterator()
                    let first = try await ws.next(&iterator)
                    #expect(first?.type == "begin")
                    return ws
                }
                func expectRejected(_ token: String, _ message: Comment) async throws {
                    let ws = try await RelayClient.connect(port: port, token: token)
                    let (events, closure) = try await ws.readAll()
                    #expect(events.first?.code == "too_many_sessions", message)
                    #expect(events.first?.retryable == true, message)
                    #expect(closure?.peerCode == TranscriptionRelay.CloseCode.tooManySessions, message)
                }
                let first = try await open(clientToken)
                try await expectRejected(clientToken, "second session of the same client")
                let second = try await open(secondClientToken)
                try await expectRejected(thirdClientToken, "third session in total")
                #expect(relay.activeSessions == 2)

                try await first.connection.send(text: #"{"type":"stop"}"#)
                let (events, _) = try await first.readAll()
                #expect(events.last?.type == "terminated")
                // The slot is free once the relay's handler has returned.
                while relay.activeSessions > 1 { await Task.yield() }
                let third = try await open(thirdClientToken)
                for ws in [second, third] {
                    try await ws.connection.send(text: #"{"type":"stop"}"#)
                    _ = try await ws.readAll()
                }
            }
            // Only the accepted sessions reached the vendor.
            #expect(await emulator.waitForSessions(count: 3).count == 3)
        }
    }

    @Test("A session is stopped gracefully at the duration cap and closed with 4408")
    func sessionDurationCap() async throws {
        let emulator = try makeEmulator()
        defer { emulator.shutdown() }
        var configuration = relayConfiguration(emulator: emulator)
        configuration.maxSessionDuration = .seconds(2)
        let relay = TranscriptionRelay(configuration: configuration, logger: LogRecorder().logger())
        try await relay.application().test(.live) { client in
            let port = try #require(client.port)
            let (events, closure) = try await withTimeout {
                let ws = try await RelayClient.connect(port: port, token: clientToken)
                try await ws.connection.send(text: #"{"type":"start","provider":"assemblyai"}"#)
                try await ws.send(audio: audio(seconds: script.duration + 1.5))
                // No stop: the relay ends the session itself.
                return try await ws.readAll()
            }
            #expect(events.first?.type == "begin")
            #expect(events.last?.type == "terminated")
            #expect(
                events.filter { $0.type == "final" }.compactMap(\.text).joined(separator: " ")
                    == script.transcript)
            #expect(closure?.peerCode == TranscriptionRelay.CloseCode.sessionTimeLimit)
        }
    }
}
