import Foundation
import Hummingbird
import HummingbirdTesting
import StreamingSTTCore
import StreamingSTTTesting
import Testing
import TranscriptionRelay

/// The body of a minted token; each member `nil` when absent.
private struct TemporaryToken: Decodable {
    var provider: String?
    var token: String?
    var expiresIn: Int?
    var url: String?
}

/// `POST /v1/token`: temporary tokens for clients that connect to the vendor directly.
@Suite("Relay server, temporary tokens", .timeLimit(.minutes(1)))
struct TokenEndpointTests {
    static func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer \(token)"] }

    @Test(
        "Only authenticated clients get a token, and it opens a session at the vendor",
        arguments: ["assemblyai", "speechmatics"])
    func mintsWorkingTokens(provider: String) async throws {
        let emulator = try makeEmulator()
        defer { emulator.shutdown() }
        let logs = LogRecorder()
        let relay = TranscriptionRelay(configuration: relayConfiguration(emulator: emulator), logger: logs.logger())
        try await relay.application().test(.live) { client in
            var bodies: [String] = []
            for headers in [[:], Self.bearer("wrong"), [.authorization: clientToken]] as [HTTPFields] {
                let response = try await client.execute(
                    uri: "/v1/token?provider=\(provider)", method: .post, headers: headers)
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate] == "Bearer")
                bodies.append(String(buffer: response.body))
            }
            let response = try await client.execute(
                uri: "/v1/token?provider=\(provider)", method: .post, headers: Self.bearer(clientToken))
            #expect(response.status == .ok)
            #expect(response.headers[.cacheControl] == "no-store")
            let body = String(buffer: response.body)
            bodies.append(body)
            let json = try JSONDecoder().decode(TemporaryToken.self, from: Data(body.utf8))
            #expect(json.provider == provider)
            let token = try #require(json.token)
            #expect(!token.isEmpty && token != vendorKey)
            let url = try #require(json.url)
            #expect(json.expiresIn == 60)

            // The token works on its own, as a browser connecting directly would use it.
            let options: StreamingTranscriber.Provider =
                provider == "assemblyai"
                ? .assemblyAI(
                    AssemblyAI(
                        credentials: .temporaryToken(Secret(token)), speechModel: .u3RealtimePro, endpoint: .custom(url)
                    ))
                : .speechmatics(Speechmatics(credentials: .temporaryToken(Secret(token)), endpoint: .custom(url)))
            let transcriber = StreamingTranscriber(
                provider: options,
                configuration: .init(
                    tls: TLSConfiguration(additionalTrustRoots: [.file(sharedAuthority.caCertificatePath)])))
            let session = try await withTimeout { try await transcriber.start() }
            #expect(!session.id.isEmpty)
            await transcriber.cancel()

            #expect(!(bodies + logs.lines).contains { $0.contains(vendorKey) })
            #expect(!logs.lines.contains { $0.contains(token) || $0.contains(clientToken) })
        }
    }

    @Test("A server without client tokens mints no tokens at all")
    func disabledWithoutClientAuthentication() async throws {
        let emulator = try makeEmulator()
        defer { emulator.shutdown() }
        let relay = TranscriptionRelay(
            configuration: relayConfiguration(emulator: emulator, clientTokens: []), logger: LogRecorder().logger())
        try await relay.application().test(.live) { client in
            let response = try await client.execute(uri: "/v1/token", method: .post)
            #expect(response.status == .forbidden)
            #expect(String(buffer: response.body).contains("tokens_disabled"))
            #expect(!String(buffer: response.body).contains(vendorKey))
        }
    }

    @Test("Each client mints at most its share of tokens per minute")
    func tokenRateLimit() async throws {
        let emulator = try makeEmulator()
        defer { emulator.shutdown() }
        var configuration = relayConfiguration(emulator: emulator)
        configuration.maxTokensPerClientPerMinute = 2
        let relay = TranscriptionRelay(configuration: configuration, logger: LogRecorder().logger())
        try await relay.application().test(.live) { client in
            var statuses: [HTTPResponse.Status] = []
            for _ in 0..<3 {
                let response = try await client.execute(
                    uri: "/v1/token", method: .post, headers: Self.bearer(clientToken))
                statuses.append(response.status)
            }
            #expect(statuses == [.ok, .ok, .tooManyRequests])
            let other = try await client.execute(
                uri: "/v1/token", method: .post, headers: Self.bearer(secondClientToken))
            #expect(other.status == .ok)
        }
    }

    @Test("The page is served, and holds no key")
    func page() async throws {
        let emulator = try makeEmulator()
        defer { emulator.shutdown() }
        let relay = TranscriptionRelay(
            configuration: relayConfiguration(emulator: emulator), logger: LogRecorder().logger())
        try await relay.application().test(.live) { client in
            let response = try await client.execute(uri: "/", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/html; charset=utf-8")
            let page = String(buffer: response.body)
            #expect(page.contains("getUserMedia"))
            #expect(page.contains("/v1/listen"))
            // It shows the connection state (the relay's state messages, every name) and the
            // library's transcript lag (the lag and lagging messages).
            #expect(page.contains(#"case "state":"#) && page.contains(#"id="state""#))
            for name in ["connecting", "open", "reconnecting", "rolling_over", "stopping", "ended"] {
                #expect(page.contains("\(name):"), "\(name)")
            }
            #expect(page.contains(#"case "lag":"#) && page.contains(#"case "lagging":"#))
            #expect(page.contains(#"id="lag""#) && page.contains(#"id="maxLag""#))
            #expect(!page.contains(vendorKey))
        }
    }
}
