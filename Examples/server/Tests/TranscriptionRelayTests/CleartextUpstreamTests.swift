import Foundation
import Hummingbird
import HummingbirdTesting
import StreamingSTTCore
import StreamingSTTTesting
import Testing
import TranscriptionRelay

/// The relay never forwards its vendor key unencrypted to another machine: an upstream `ws://`
/// endpoint or `http://` token endpoint that is not loopback is refused by the library before
/// anything is sent (192.0.2.1, TEST-NET-1, is never routed: an attempt could only time out), and
/// the client is told why.
@Suite("Relay server, vendor key over cleartext", .timeLimit(.minutes(1)))
struct CleartextUpstreamTests {
    static let remote = "192.0.2.1:9"

    static func configuration() -> RelayConfiguration {
        RelayConfiguration(
            host: "127.0.0.1", port: 0, clientTokens: [Secret(clientToken)],
            assemblyAI: VendorAccess(
                apiKey: Secret(vendorKey), endpoint: "ws://\(remote)/v3/ws", tokenURL: "http://\(remote)/v3/token"),
            speechmatics: VendorAccess(
                apiKey: Secret(vendorKey), endpoint: "ws://\(remote)/v2", tokenURL: "http://\(remote)/v1/api_keys"))
    }

    @Test(
        "A session to a ws:// vendor endpoint on another host fails at once, without the key",
        arguments: [
            "assemblyai", "speechmatics",
        ])
    func sessionRefused(provider: String) async throws {
        let logs = LogRecorder()
        let relay = TranscriptionRelay(configuration: Self.configuration(), logger: logs.logger())
        try await relay.application().test(.live) { client in
            let port = try #require(client.port)
            let clock = ContinuousClock()
            let began = clock.now
            let (events, closure) = try await withTimeout(.seconds(20)) {
                let ws = try await RelayClient.connect(port: port, token: clientToken)
                try await ws.connection.send(text: #"{"type":"start","provider":"\#(provider)"}"#)
                return try await ws.readAll()
            }
            // The connect timeout (10 s) was not waited for.
            #expect(clock.now - began < .seconds(8), "refused before any connection attempt")
            let error = try #require(events.first { $0.type == "error" }, "\(events.map(\.json))")
            #expect(error.code == "invalidConfiguration")
            #expect(error.retryable == false)
            #expect(error.message?.contains("cleartext") == true)
            #expect(closure?.peerCode == 1011)
            let everything = events.map(\.json) + logs.lines
            #expect(!everything.contains { $0.contains(vendorKey) })
        }
    }

    @Test("A temporary token from an http:// vendor endpoint on another host is refused (502), without the key")
    func tokenRefused() async throws {
        let logs = LogRecorder()
        let relay = TranscriptionRelay(configuration: Self.configuration(), logger: logs.logger())
        try await relay.application().test(.live) { client in
            for provider in ["assemblyai", "speechmatics"] {
                let response = try await client.execute(
                    uri: "/v1/token?provider=\(provider)", method: .post,
                    headers: [.authorization: "Bearer \(clientToken)"])
                let body = String(buffer: response.body)
                #expect(response.status == .badGateway, "\(provider): \(body)")
                #expect(body.contains("invalidConfiguration") && body.contains("cleartext"), "\(body)")
                #expect(!body.contains(vendorKey))
            }
            #expect(!logs.lines.contains { $0.contains(vendorKey) })
        }
    }
}
