import StreamingSTT
import StreamingSTTTesting
import StreamingSTTWebSocket
import Testing

@Suite("Plain HTTP over the transport (token endpoints)")
struct HTTPTests {
    @Test(
        "GET and POST reach the server with path, query, headers and body; any status comes back",
        arguments: [false, true])
    func roundTrip(secure: Bool) async throws {
        let server = try TestWebSocketServer(
            tls: secure ? sharedAuthority : nil,
            httpHandler: .init { request in
                let summary =
                    "\(request.method) \(request.path) q=\(request.query.map { "\($0.name)=\($0.value)" }) "
                    + "auth=\(request.header("authorization") ?? "-") body=\(String(decoding: request.body, as: UTF8.self))"
                let status = request.path == "/missing" ? 401 : (request.method == "POST" ? 201 : 200)
                return .init(status: status, body: Array(summary.utf8))
            })
        defer { server.shutdown() }
        let scheme = secure ? "https" : "http"
        let base = "\(scheme)://127.0.0.1:\(server.port)"
        let tls = TLSConfiguration(additionalTrustRoots: [.file(sharedAuthority.caCertificatePath)])

        let get = try await withTimeout {
            try await HTTPClient.send(
                "GET", url: base + "/v3/token?expires_in_seconds=60", headers: [("Authorization", "key-1")], tls: tls)
        }
        #expect(get.status == 200)
        #expect(
            String(decoding: get.body, as: UTF8.self) == "GET /v3/token q=[\"expires_in_seconds=60\"] auth=key-1 body=")

        let post = try await withTimeout {
            try await HTTPClient.send(
                "POST", url: base + "/v1/api_keys?type=rt",
                headers: [("Authorization", "Bearer key-2"), ("Content-Type", "application/json")],
                body: Array(#"{"ttl":60}"#.utf8), tls: tls)
        }
        #expect(post.status == 201)
        #expect(
            String(decoding: post.body, as: UTF8.self)
                == "POST /v1/api_keys q=[\"type=rt\"] auth=Bearer key-2 body={\"ttl\":60}")

        let rejected = try await withTimeout {
            try await HTTPClient.send("GET", url: base + "/missing", tls: tls)
        }
        #expect(rejected.status == 401)
    }

    @Test("without an HTTP handler the server answers 404")
    func notFound() async throws {
        let server = try TestWebSocketServer()
        defer { server.shutdown() }
        let response = try await withTimeout {
            try await HTTPClient.send("GET", url: "http://127.0.0.1:\(server.port)/anything")
        }
        #expect(response.status == 404)
    }

    @Test("connection failures are typed errors")
    func failures() async throws {
        let closedPort = try ClosedPort()
        defer { closedPort.close() }
        let port = closedPort.port
        let refused = await failure { _ = try await HTTPClient.send("GET", url: "http://127.0.0.1:\(port)/") }
        #expect(refused?.code == .connectionRefused)
        let server = try TestWebSocketServer(tls: sharedAuthority, httpHandler: .init { _ in .init(status: 200) })
        defer { server.shutdown() }
        let untrusted = await failure { _ = try await HTTPClient.send("GET", url: "https://127.0.0.1:\(server.port)/") }
        #expect(untrusted?.code == .tlsFailure)
        let listener = try SilentListener()
        defer { listener.close() }
        let slow = await failure {
            _ = try await HTTPClient.send("GET", url: "http://127.0.0.1:\(listener.port)/", timeout: .milliseconds(300))
        }
        #expect(slow?.code == .connectTimeout)
    }
}
