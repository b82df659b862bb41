import Hummingbird
import HummingbirdTesting
import HummingbirdWSClient
import Logging
import Synchronization
import Testing
import TranscriptionRelay

/// What a browser does differently: it cannot set `Authorization` on a WebSocket, so it offers
/// the subprotocols `stt.v1` and `bearer.<token>`, and it always sends `Origin`. These use
/// Hummingbird's WebSocket client, which (unlike the library's) lets a test offer subprotocols.
@Suite("Relay server, browser clients", .timeLimit(.minutes(1)))
struct BrowserClientTests {
    /// Runs one client session: sends `start`, 0.5 s of audio and `stop`, collects the text
    /// messages, and returns them with the relay's close frame.
    static func session(
        port: Int, headers: HTTPFields
    ) async throws -> (messages: [String], close: WebSocketCloseFrame?) {
        let received = Mutex<[String]>([])
        let close = try await WebSocketClient.connect(
            url: "ws://127.0.0.1:\(port)/v1/listen", configuration: .init(additionalHeaders: headers),
            logger: Logger(label: "test-client")
        ) { inbound, outbound, _ in
            try await outbound.write(.text(#"{"type":"start","provider":"assemblyai"}"#))
            try await outbound.write(.binary(ByteBuffer(repeating: 0, count: 16000)))
            try await outbound.write(.text(#"{"type":"stop"}"#))
            for try await message in inbound.messages(maxSize: 1 << 20) {
                if case .text(let text) = message { received.withLock { $0.append(text) } }
            }
        }
        return (received.withLock { $0 }, close)
    }

    @Test("A token offered as a subprotocol from the server's own origin is accepted, and never logged")
    func subprotocolToken() async throws {
        let emulator = try makeEmulator()
        defer { emulator.shutdown() }
        let logs = LogRecorder()
        let relay = TranscriptionRelay(configuration: relayConfiguration(emulator: emulator), logger: logs.logger())
        try await relay.application().test(.live) { client in
            let port = try #require(client.port)
            let (messages, close) = try await withTimeout {
                try await Self.session(
                    port: port,
                    headers: [
                        .secWebSocketProtocol: "stt.v1, bearer.\(clientToken)", .origin: "http://127.0.0.1:\(port)",
                    ])
            }
            let events = messages.filter { !$0.contains(#""type":"state""#) }
            #expect(events.first?.contains(#""type":"begin""#) == true)
            #expect(events.last?.contains(#""type":"terminated""#) == true)
            #expect(close?.closeCode == .normalClosure)
            #expect(!logs.lines.isEmpty)
            #expect(!logs.lines.contains { $0.contains(clientToken) || $0.contains(vendorKey) })
        }
    }
}
