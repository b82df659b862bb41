import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOSSL
import StreamingSTTCore
import StreamingSTTTesting
import StreamingSTTWebSocket
import Testing

@testable import TranscriptionRelay

/// A raw HTTP exchange with the relay on 127.0.0.1, naming `authority` as `Host` (what a page of
/// another domain that resolves to 127.0.0.1 sends), over TLS when `tls` is given.
func rawRequest(
    port: Int, _ uri: String, method: HTTPRequest.Method = .get, authority: String, headers: HTTPFields = [:],
    tls: NIOSSL.TLSConfiguration? = nil
) async throws -> TestClient.Response {
    try await TestClient.withClient(
        host: "127.0.0.1", port: port,
        configuration: .init(tlsConfiguration: tls, timeout: .seconds(5), serverName: tls == nil ? nil : "localhost")
    ) { client in
        try await client.execute(TestClient.Request(uri, method: method, authority: authority, headers: headers))
    }
}

/// The headers of a WebSocket handshake.
let upgradeHeaders: HTTPFields = [
    .connection: "Upgrade", .upgrade: "websocket", .secWebSocketVersion: "13",
    .secWebSocketKey: "dGhlIHNhbXBsZSBub25jZQ==",
]

/// DNS rebinding, authentication before the upgrade, and CORS.
@Suite("Relay server, hosts, handshake and CORS", .timeLimit(.minutes(1)))
struct HandshakeSecurityTests {
    @Test(
        "A forged Host gets 403 on the WebSocket handshake, on POST /v1/token and on the page; the server's own hosts pass"
    )
    func forgedHost() async throws {
        let emulator = try makeEmulator()
        defer { emulator.shutdown() }
        // The defaults the issue names: loopback, no client token.
        var configuration = relayConfiguration(emulator: emulator, clientTokens: [])
        configuration.allowedHosts = ["stt.example.com"]
        let relay = TranscriptionRelay(configuration: configuration, logger: LogRecorder().logger())
        try await relay.application().test(.live) { client in
            let port = try #require(client.port)
            let evil = "evil.example:\(port)"
            var headers = upgradeHeaders
            headers[.origin] = "http://\(evil)"
            let upgrade = try await rawRequest(port: port, "/v1/listen", authority: evil, headers: headers)
            #expect(upgrade.status == .forbidden, "the handshake of a page whose domain resolves to 127.0.0.1")
            #expect(String(buffer: upgrade.body ?? ByteBuffer()).contains("forbidden_host"))
            let token = try await rawRequest(
                port: port, "/v1/token", method: .post, authority: evil, headers: [.authorization: "Bearer x"])
            #expect(token.status == .forbidden)
            #expect(String(buffer: token.body ?? ByteBuffer()).contains("forbidden_host"))
            let page = try await rawRequest(port: port, "/", authority: evil)
            #expect(page.status == .forbidden)
            // Ours: the loopback names with the bound port (or none), and the configured name.
            for authority in [
                "127.0.0.1:\(port)", "localhost:\(port)", "[::1]:\(port)", "localhost", "stt.example.com:443",
            ] {
                let response = try await rawRequest(port: port, "/", authority: authority)
                #expect(response.status == .ok, "\(authority)")
            }
            for authority in [
                "localhost:\(port + 1)", "127.0.0.1.evil.example:\(port)", "stt.example.com.evil:\(port)",
            ] {
                let response = try await rawRequest(port: port, "/", authority: authority)
                #expect(response.status == .forbidden, "\(authority)")
            }
            #expect(emulator.sessions.isEmpty)
        }
    }

    @Test("A missing or wrong client token is an HTTP 401 and a foreign origin an HTTP 403, before any upgrade")
    func refusedBeforeUpgrade() async throws {
        let emulator = try makeEmulator()
        defer { emulator.shutdown() }
        let relay = TranscriptionRelay(
            configuration: relayConfiguration(emulator: emulator), logger: LogRecorder().logger())
        try await relay.application().test(.live) { client in
            let port = try #require(client.port)
            let cases: [(token: String?, origin: String?, status: Int)] = [
                (nil, nil, 401), ("wrong-token", nil, 401), (clientToken + "x", nil, 401),
                (clientToken, "https://evil.example", 403), (clientToken, "null", 403),
            ]
            for (token, origin, status) in cases {
                let error = await #expect(throws: WebSocketError.self, "token \(token != nil), origin \(origin ?? "-")")
                {
                    let ws = try await RelayClient.connect(
                        port: port, token: token, headers: origin.map { [("Origin", $0)] } ?? [])
                    ws.connection.cancel()
                }
                #expect(error?.code == .handshakeRejected)
                #expect(error?.httpStatus == status)
            }
            // The HTTP answer says why, as JSON, with WWW-Authenticate on 401.
            let response = try await rawRequest(
                port: port, "/v1/listen", authority: "127.0.0.1:\(port)", headers: upgradeHeaders)
            #expect(response.status == .unauthorized)
            #expect(response.headers[.wwwAuthenticate] == "Bearer")
            #expect(String(buffer: response.body ?? ByteBuffer()).contains(#""code":"unauthorized""#))
            #expect(emulator.sessions.isEmpty)
        }
    }

    @Test("POST /v1/token answers the CORS preflight and sets Access-Control-Allow-Origin for allowed origins only")
    func cors() async throws {
        let emulator = try makeEmulator()
        defer { emulator.shutdown() }
        var configuration = relayConfiguration(emulator: emulator)
        configuration.allowedOrigins = ["https://app.example"]
        let relay = TranscriptionRelay(configuration: configuration, logger: LogRecorder().logger())
        try await relay.application().test(.live) { client in
            let preflight: HTTPFields = [
                .origin: "https://app.example", .accessControlRequestMethod: "POST",
                .accessControlRequestHeaders: "authorization",
            ]
            let allowed = try await client.execute(uri: "/v1/token", method: .options, headers: preflight)
            #expect(allowed.status == .noContent)
            #expect(allowed.headers[.accessControlAllowOrigin] == "https://app.example")
            #expect(allowed.headers[.accessControlAllowMethods]?.contains("POST") == true)
            #expect(allowed.headers[.accessControlAllowHeaders]?.lowercased().contains("authorization") == true)

            var foreign = preflight
            foreign[.origin] = "https://evil.example"
            let refused = try await client.execute(uri: "/v1/token", method: .options, headers: foreign)
            #expect(refused.status == .forbidden)
            #expect(refused.headers[.accessControlAllowOrigin] == nil)

            let minted = try await client.execute(
                uri: "/v1/token", method: .post,
                headers: [.origin: "https://app.example", .authorization: "Bearer \(clientToken)"])
            #expect(minted.status == .ok)
            #expect(minted.headers[.accessControlAllowOrigin] == "https://app.example")
            let other = try await client.execute(
                uri: "/v1/token", method: .post,
                headers: [.origin: "https://evil.example", .authorization: "Bearer \(clientToken)"])
            #expect(other.status == .forbidden)
            #expect(other.headers[.accessControlAllowOrigin] == nil)
        }
    }
}

/// Loopback decided on addresses, TLS, the refusal to serve cleartext on the network, and
/// client addresses behind a trusted proxy.
@Suite("Relay server, exposure and TLS", .timeLimit(.minutes(1)))
struct ExposureTests {
    static let access = VendorAccess(apiKey: Secret(vendorKey))

    @Test("Loopback is decided on the parsed or resolved address, never on how the name looks")
    func loopbackParsing() throws {
        #expect(!RelayConfiguration.isLoopback("127.evil.example"))
        #expect(!RelayConfiguration.isLoopback("127.0.0.1.evil.example"))
        for host in ["127.0.0.1", "127.0.0.2", "127.255.255.254", "::1", "[::1]", "::ffff:127.0.0.1", "localhost"] {
            #expect(RelayConfiguration.isLoopback(host), "\(host)")
        }
        for host in ["0.0.0.0", "::", "192.0.2.10", "::ffff:192.0.2.1", "2001:db8::1", "128.0.0.1"] {
            #expect(!RelayConfiguration.isLoopback(host), "\(host)")
        }
        // A name other than localhost is never resolved for the decision; localhost counts for
        // the address it resolves to (the one the socket binds).
        let never = try RelayConfiguration.bindAddress("127.evil.example") { _ in
            Issue.record("resolved"); return "127.0.0.1"
        }
        #expect(never == nil)
        let elsewhere = try RelayConfiguration.bindAddress("localhost") { _ in "192.0.2.1" }
        #expect(elsewhere?.isLoopback == false)
        #expect(try RelayConfiguration.bindAddress("localhost") { _ in "::1" }?.isLoopback == true)
        // Without a token, TLS or the explicit flags, such a host is refused.
        #expect(throws: RelayConfigurationError.self) {
            try RelayConfiguration(host: "127.evil.example", assemblyAI: Self.access).validate()
        }
    }

    @Test("Addresses and CIDR blocks parse strictly")
    func addressParsing() {
        #expect(IPAddress("192.0.2.1")?.bytes == [192, 0, 2, 1])
        #expect(IPAddress("[2001:db8::1]")?.description == "2001:db8::1")
        #expect(IPAddress("::ffff:192.0.2.1")?.description == "192.0.2.1")
        #expect(IPAddress("1:2:3:4:5:6:7:8")?.description == "1:2:3:4:5:6:7:8")
        for bad in ["127.1", "0x7f.0.0.1", "256.0.0.1", "01.2.3.4", "1.2.3", "127.evil.example", "1::2::3", "::g", ""] {
            #expect(IPAddress(bad) == nil, "\(bad)")
        }
        let block = IPNetwork("10.1.0.0/16")
        #expect(block?.contains(IPAddress("10.1.200.3")!) == true)
        #expect(block?.contains(IPAddress("10.2.0.1")!) == false)
        #expect(IPNetwork("2001:db8::/32")?.contains(IPAddress("2001:db8:ffff::1")!) == true)
        #expect(IPNetwork("::ffff:10.0.0.0/104")?.contains(IPAddress("10.9.9.9")!) == true)
        #expect(IPNetwork("192.0.2.7")?.contains(IPAddress("192.0.2.8")!) == false)
        for bad in ["10.0.0.0/33", "10.0.0.0/", "example.com/8", "10.0.0.0/-1"] {
            #expect(IPNetwork(bad) == nil, "\(bad)")
        }
    }

    @Test("X-Forwarded-For counts only from a trusted proxy, and only its rightmost untrusted entry")
    func forwardedForParsing() {
        let proxies = [IPNetwork("127.0.0.0/8")!, IPNetwork("10.0.0.0/8")!]
        func client(_ peer: String, _ header: [String], _ trusted: [IPNetwork] = proxies) -> String? {
            NetworkPolicy.clientAddress(peer: IPAddress(peer), forwardedFor: header, trustedProxies: trusted)?
                .description
        }
        #expect(client("127.0.0.1", ["203.0.113.7"], []) == "127.0.0.1", "no trusted proxy: the header is ignored")
        #expect(client("192.0.2.9", ["203.0.113.7"]) == "192.0.2.9", "a peer that is not a trusted proxy")
        #expect(client("127.0.0.1", ["203.0.113.7"]) == "203.0.113.7")
        #expect(
            client("127.0.0.1", ["198.51.100.1, 203.0.113.7", "10.0.0.5"]) == "203.0.113.7",
            "a forged entry on the left")
        #expect(client("127.0.0.1", ["10.0.0.6, 10.0.0.5"]) == "10.0.0.6", "only proxies: the first")
        #expect(client("127.0.0.1", ["203.0.113.7, garbage"]) == "127.0.0.1", "not an address: the proxy stands in")
        #expect(client("127.0.0.1", ["[2001:db8::7]:4711"]) == "2001:db8::7")
        #expect(client("127.0.0.1", []) == "127.0.0.1")
    }

    @Test("A non-loopback address without TLS is refused unless allowed explicitly; the server does not start")
    func cleartextOnNetworkRefused() async throws {
        var configuration = RelayConfiguration(
            host: "192.0.2.10", port: 0, clientTokens: ["t"], assemblyAI: Self.access)
        let error = #expect(throws: RelayConfigurationError.self) { try configuration.validate() }
        #expect(error?.message.contains("TLS") == true)
        let relay = TranscriptionRelay(configuration: configuration, logger: LogRecorder().logger())
        await #expect(throws: RelayConfigurationError.self) { try await relay.application().runService() }

        configuration.allowsInsecureBind = true
        try configuration.validate()
        configuration.allowsInsecureBind = false
        configuration.serverTLS = RelayServerTLS(
            certificateChainFile: sharedAuthority.serverCertificatePath, privateKeyFile: sharedAuthority.serverKeyPath)
        try configuration.validate()
        configuration.serverTLS = RelayServerTLS(
            certificateChainFile: sharedAuthority.serverCertificatePath, privateKeyFile: "/nonexistent/key.pem")
        #expect(throws: RelayConfigurationError.self) { try configuration.validate() }
    }

    @Test("With a certificate the relay serves HTTPS and WSS, and a client session works through it")
    func servesTLS() async throws {
        let emulator = try makeEmulator()
        defer { emulator.shutdown() }
        var configuration = relayConfiguration(emulator: emulator)
        configuration.serverTLS = RelayServerTLS(
            certificateChainFile: sharedAuthority.serverCertificatePath, privateKeyFile: sharedAuthority.serverKeyPath)
        let relay = TranscriptionRelay(configuration: configuration, logger: LogRecorder().logger())
        try await relay.application().test(.live) { client in
            let port = try #require(client.port)
            var wsConfiguration = WebSocketConfiguration()
            wsConfiguration.additionalHeaders = [("Authorization", "Bearer \(clientToken)")]
            wsConfiguration.tls = .init(additionalTrustRoots: [.file(sharedAuthority.caCertificatePath)])
            let settings = wsConfiguration
            let (events, closure) = try await withTimeout {
                let connection = try await WebSocketConnection.connect(
                    to: "wss://127.0.0.1:\(port)/v1/listen", configuration: settings)
                let ws = RelayClient(connection: connection)
                try await ws.connection.send(text: #"{"type":"start","provider":"assemblyai"}"#)
                try await ws.send(audio: audio(seconds: script.duration + 1.5))
                try await ws.connection.send(text: #"{"type":"stop"}"#)
                return try await ws.readAll()
            }
            #expect(events.first?.type == "begin")
            #expect(events.filter { $0.type == "final" }.compactMap(\.text).joined(separator: " ") == script.transcript)
            #expect(events.last?.type == "terminated")
            #expect(closure?.peerCode == 1000)

            // HTTPS for the page.
            var tls = NIOSSL.TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(sharedAuthority.caCertificatePath)
            let page = try await rawRequest(port: port, "/", authority: "localhost:\(port)", tls: tls)
            #expect(page.status == .ok)

            // Plain WS to the TLS port gets no session.
            await #expect(throws: WebSocketError.self) {
                let ws = try await RelayClient.connect(port: port, token: clientToken)
                ws.connection.cancel()
            }
        }
    }

    @Test("Behind a trusted proxy the per-client limit counts forwarded clients; without trust the peer is the client")
    func trustedProxyLimits() async throws {
        let emulator = try makeEmulator()
        defer { emulator.shutdown() }
        for trusted in [true, false] {
            var configuration = relayConfiguration(emulator: emulator, clientTokens: [])
            configuration.maxSessionsPerClient = 1
            if trusted { configuration.trustedProxies = [IPNetwork("127.0.0.0/8")!] }
            let relay = TranscriptionRelay(configuration: configuration, logger: LogRecorder().logger())
            try await relay.application().test(.live) { client in
                let port = try #require(client.port)
                try await withTimeout {
                    func open(forwardedFor: String) async throws -> (RelayClient, RelayEvent?) {
                        let ws = try await RelayClient.connect(
                            port: port, token: nil, headers: [("X-Forwarded-For", forwardedFor)])
                        // A refused session may be closed before its start is sent, or before its
                        // error event is read.
                        try? await ws.connection.send(text: #"{"type":"start","provider":"assemblyai"}"#)
                        var iterator = ws.connection.messages.makeAsyncIterator()
                        return (ws, try? await ws.next(&iterator))
                    }
                    let (first, firstEvent) = try await open(forwardedFor: "203.0.113.1")
                    #expect(firstEvent?.type == "begin")
                    let (second, secondEvent) = try await open(forwardedFor: "203.0.113.2")
                    if trusted {
                        #expect(secondEvent?.type == "begin", "another client behind the proxy")
                    } else {
                        // The same peer, whatever the header says: over its limit.
                        #expect(secondEvent?.type != "begin")
                        #expect(
                            await second.connection.closed().peerCode == TranscriptionRelay.CloseCode.tooManySessions)
                    }
                    for ws in [first, second] {
                        try? await ws.connection.send(text: #"{"type":"stop"}"#)
                        _ = try await ws.readAll()
                    }
                }
            }
        }
    }
}

/// The `stt-server` command refusing unsafe settings: exit code 2 and one line.
@Suite("stt-server command, exposure", .timeLimit(.minutes(1)))
struct ServerCommandTests {
    /// The `stt-server` built beside the test bundle.
    static var executable: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("stt-server")
    }

    /// Runs `stt-server` with `arguments` and an AssemblyAI key in its environment.
    static func run(_ arguments: [String]) async throws -> (status: Int32, stderr: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ["ASSEMBLYAI_API_KEY": "test-key", "PATH": "/usr/bin:/bin"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        let (ended, endedSink) = AsyncStream.makeStream(of: Int32.self)
        process.terminationHandler = { endedSink.yield($0.terminationStatus) }
        try process.run()
        let status = try await withTimeout(.seconds(20)) {
            var iterator = ended.makeAsyncIterator()
            return await iterator.next() ?? -1
        }
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (status, text)
    }

    @Test("A non-loopback address without TLS, or 127.evil.example, ends the command with exit 2 and one line")
    func refusesCleartextOnNetwork() async throws {
        for host in ["192.0.2.10", "127.evil.example"] {
            let (status, stderr) = try await Self.run(["--host", host, "--port", "0", "--client-token", "t"])
            #expect(status == 2, "\(host): \(stderr)")
            #expect(stderr.split(separator: "\n").count == 1, "\(host): \(stderr)")
            #expect(stderr.contains(host), "\(host): \(stderr)")
        }
    }

    @Test("--allow-insecure-bind lets it through with a warning about cleartext")
    func insecureBindWarns() async throws {
        // 192.0.2.10 is not on this machine: the bind itself then fails, after the warning.
        let (status, stderr) = try await Self.run([
            "--host", "192.0.2.10", "--port", "0", "--client-token", "t", "--allow-insecure-bind",
        ])
        #expect(stderr.contains("warning") && stderr.contains("cleartext"), "\(stderr)")
        #expect(status != 0)
    }
}
