import Hummingbird
import HummingbirdTesting
import HummingbirdWebSocket
import Logging
import StreamingSTTCore
import StreamingSTTTesting
import StreamingSTTWebSocket
import Testing
import TranscriptionRelay

/// The relay as a library: an application with routes of its own mounts it in a few lines (the
/// lines `Docs/ServerSide.md` shows), under a path prefix.
@Suite("Relay mounted in an application", .timeLimit(.minutes(1)))
struct MountTests {
    @Test(
        "An app with its own GET /hello mounts the relay under /stt: a session works there, the app's route still works"
    )
    func mountedRelay() async throws {
        let emulator = try makeEmulator()
        defer { emulator.shutdown() }
        var configuration = relayConfiguration(emulator: emulator)
        configuration.pathPrefix = "/stt"

        // The application: its own context and route; the relay in three lines.
        let router = Router(context: BasicWebSocketRequestContext.self)
        router.get("/hello") { _, _ in "Hello from the app" }
        let relay = TranscriptionRelay(configuration: configuration, logger: LogRecorder().logger())
        relay.addRoutes(to: router)
        let app = Application(
            router: router, server: relay.http1WebSocketUpgrade(webSocketRouter: router),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)))

        try await app.test(.live) { client in
            let port = try #require(client.port)
            let (events, closure) = try await withTimeout {
                let ws = try await RelayClient.connect(port: port, token: clientToken, path: "/stt/v1/listen")
                try await ws.connection.send(text: #"{"type":"start","provider":"assemblyai"}"#)
                try await ws.send(audio: audio(seconds: script.duration + 1.5))
                try await ws.connection.send(text: #"{"type":"stop"}"#)
                return try await ws.readAll()
            }
            #expect(events.first?.type == "begin")
            #expect(events.filter { $0.type == "final" }.compactMap(\.text).joined(separator: " ") == script.transcript)
            #expect(closure?.peerCode == 1000)

            // The app's own route, and the relay's page, under the prefix only.
            let hello = try await client.execute(uri: "/hello", method: .get)
            #expect(hello.status == .ok)
            #expect(String(buffer: hello.body) == "Hello from the app")
            let page = try await rawRequest(port: port, "/stt/", authority: "127.0.0.1:\(port)")
            #expect(page.status == .ok)
            #expect(String(buffer: page.body ?? ByteBuffer()).contains(#"content="/stt""#), "the page's WebSocket path")
            #expect(try await rawRequest(port: port, "/v1/listen", authority: "127.0.0.1:\(port)").status == .notFound)

            // The relay's checks hold when mounted: no token is a 401, a forged Host a 403 (before
            // any upgrade), while the app's own route is not the relay's business.
            let error = await #expect(throws: WebSocketError.self) {
                let ws = try await RelayClient.connect(port: port, token: nil, path: "/stt/v1/listen")
                ws.connection.cancel()
            }
            #expect(error?.httpStatus == 401)
            let evil = "evil.example:\(port)"
            let forged = try await rawRequest(port: port, "/stt/v1/listen", authority: evil, headers: upgradeHeaders)
            #expect(forged.status == .forbidden)
            #expect(try await rawRequest(port: port, "/stt/", authority: evil).status == .forbidden)
            #expect(try await rawRequest(port: port, "/hello", authority: evil).status == .ok)
        }
        #expect(relay.activeSessions == 0)
        #expect(emulator.sessions.count == 1)
    }
}
