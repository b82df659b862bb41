import Foundation
import Hummingbird
import HummingbirdTesting
import HummingbirdWebSocket
import Logging
import ServiceLifecycle
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

    @Test("With Hummingbird's own WebSocket upgrade the relay still refuses (an empty 400) and serves sessions")
    func hummingbirdUpgrade() async throws {
        let emulator = try makeEmulator()
        defer { emulator.shutdown() }
        var configuration = relayConfiguration(emulator: emulator)
        configuration.pathPrefix = "/stt"
        configuration.maxSessionsPerClient = 1
        let router = Router(context: BasicWebSocketRequestContext.self)
        let relay = TranscriptionRelay(configuration: configuration, logger: LogRecorder().logger())
        relay.addRoutes(to: router)
        let app = Application(
            router: router, server: .http1WebSocketUpgrade(webSocketRouter: router),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let error = await #expect(throws: WebSocketError.self) {
                try await RelayClient.connect(port: port, token: nil, path: "/stt/v1/listen").connection.cancel()
            }
            #expect(error?.httpStatus == 400)
            try await withTimeout {
                let first = try await RelayClient.connect(port: port, token: clientToken, path: "/stt/v1/listen")
                var messages = first.connection.messages.makeAsyncIterator()
                try await first.send(audio: audio(seconds: 0.2))
                #expect(try await first.next(&messages)?.type == "begin")
                // The per-client limit holds: a second session of the same client is refused.
                let second = try await RelayClient.connect(port: port, token: clientToken, path: "/stt/v1/listen")
                let (events, closure) = try await second.readAll()
                #expect(events.first?.code == "too_many_sessions")
                #expect(closure?.peerCode == TranscriptionRelay.CloseCode.tooManySessions)
                first.connection.cancel()
            }
        }
        #expect(emulator.sessions.count == 1)
    }

    @Test("The guide's lines (Docs/ServerSide.md, \"Mounting the relay in your app\") are the ones compiled below")
    func guideMatchesCode() throws {
        let tests = URL(fileURLWithPath: #filePath)
        let root = tests.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let guide = try String(contentsOf: root.appendingPathComponent("Docs/ServerSide.md"), encoding: .utf8)
        let source = try String(contentsOf: tests, encoding: .utf8)
        let section = try #require(
            guide.components(separatedBy: "### Mounting the relay in your app").dropFirst().first)
        let code = try #require(section.components(separatedBy: "```swift\n").dropFirst().first)
        let block = try #require(code.components(separatedBy: "```").first)
        let lines = block.split(separator: "\n").filter { !$0.hasPrefix("import ") }
        #expect(lines.count >= 10)
        #expect(block.split(separator: "\n").count < 20, "under 20 lines")
        for line in lines {
            let compiled = source.contains("        " + line)
            #expect(compiled, "not in GuideCode: \(line)")
        }
    }
}

/// The guide's code, verbatim (`guideMatchesCode` checks it): compiled with the tests, so the
/// guide cannot drift from the API. Not run (it binds port 8080 and runs until SIGTERM).
enum GuideCode {
    static func mount(assemblyAIKey: String, logger: Logger) async throws {
        let router = Router(context: BasicWebSocketRequestContext.self)
        router.get("/hello") { _, _ in "Hello" }  // the app's own routes
        var settings = RelayConfiguration(assemblyAI: VendorAccess(apiKey: Secret(assemblyAIKey)))
        settings.pathPrefix = "/stt"  // page at /stt/, WebSocket at /stt/v1/listen
        try settings.validate()
        let relay = TranscriptionRelay(configuration: settings, logger: logger)
        relay.addRoutes(to: router)
        let app = Application(
            router: router, server: relay.http1WebSocketUpgrade(webSocketRouter: router),
            configuration: .init(address: .hostname("127.0.0.1", port: 8080)), logger: logger)
        let services: [any Service] = [app, relay.sessionDrainer()]  // SIGTERM: last finals, then stop
        try await ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm], logger: logger).run()
    }
}
