import StreamingSTT
import StreamingSTTTesting
import StreamingSTTWebSocket
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("WebSocket transport: TLS")
struct WebSocketTLSTests {
    @Test("a server certificate from an untrusted CA is refused")
    func untrusted() async throws {
        let server = try TestWebSocketServer(tls: sharedAuthority)
        defer { server.shutdown() }
        let (logger, logs) = RecordingLogHandler.logger()
        let loop = try WebSocketEventLoop(logger: logger)
        defer { loop.shutdown() }
        let error = try await withTimeout {
            await failure {
                _ = try await WebSocketConnection.connect(to: server.url(), eventLoop: loop, logger: logger)
            }
        }
        #expect(error?.code == .tlsFailure)
        // 20: X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
        #expect(error?.tlsVerifyResult == 20, "\(String(describing: error)) \(logs.all)")
        // libwebsockets' own report of the failure reaches the injected logger.
        #expect(logs.all.contains { $0.contains("libwebsockets") && $0.contains("SSL error") })
    }

    @Test("a certificate for another IP address is refused")
    func wrongAddress() async throws {
        let authority = try TestCertificateAuthority.generate(names: ["localhost"])
        defer { authority.remove() }
        let server = try TestWebSocketServer(tls: authority)
        defer { server.shutdown() }
        let error = try await withTimeout {
            await failure {
                _ = try await WebSocketConnection.connect(
                    to: server.url(host: "127.0.0.1"), configuration: trusting(authority))
            }
        }
        #expect(error?.code == .tlsFailure)
        #expect(error?.tlsVerifyResult == 64)  // X509_V_ERR_IP_ADDRESS_MISMATCH
    }

    @Test("a certificate for another host name is refused; the right name is accepted")
    func wrongHostName() async throws {
        let authority = try TestCertificateAuthority.generate(names: ["other.example"])
        defer { authority.remove() }
        let server = try TestWebSocketServer(tls: authority)
        defer { server.shutdown() }
        let error = try await withTimeout {
            await failure {
                _ = try await WebSocketConnection.connect(
                    to: server.url(host: "localhost"), configuration: trusting(authority))
            }
        }
        #expect(error?.code == .tlsFailure)
        #expect(error?.tlsVerifyResult == 62)  // X509_V_ERR_HOSTNAME_MISMATCH

        let good = try TestCertificateAuthority.generate(names: ["localhost"])
        defer { good.remove() }
        let goodServer = try TestWebSocketServer(tls: good)
        defer { goodServer.shutdown() }
        try await withTimeout {
            let connection = try await WebSocketConnection.connect(
                to: goodServer.url(host: "localhost"), configuration: trusting(good))
            await connection.close()
        }
    }

    @Test("CA certificates can be given as PEM text")
    func pemTrust() async throws {
        let server = try TestWebSocketServer(tls: sharedAuthority)
        defer { server.shutdown() }
        let pem = try #require(readFile(sharedAuthority.caCertificatePath))
        var configuration = WebSocketConfiguration()
        configuration.tls.additionalTrustRoots = [.pem(pem)]
        let message = try await withTimeout { [configuration] in
            let connection = try await WebSocketConnection.connect(to: server.url(), configuration: configuration)
            try await connection.send(text: "over tls")
            var iterator = connection.messages.makeAsyncIterator()
            return try await iterator.next()
        }
        #expect(message == .text("over tls"))
    }

    @Test("the explicitly insecure option accepts an untrusted certificate")
    func insecure() async throws {
        let server = try TestWebSocketServer(tls: sharedAuthority)
        defer { server.shutdown() }
        let configuration = WebSocketConfiguration(tls: .insecureNoVerification)
        try await withTimeout {
            let connection = try await WebSocketConnection.connect(to: server.url(), configuration: configuration)
            await connection.close()
        }
    }

    @Test("wss:// to a plain server is a TLS failure")
    func tlsToPlain() async throws {
        let server = try TestWebSocketServer()
        defer { server.shutdown() }
        let error = try await withTimeout {
            await failure {
                _ = try await WebSocketConnection.connect(to: server.url().replacingOccurrences("ws://", "wss://"))
            }
        }
        #expect(error?.code == .tlsFailure)
    }

    @Test("an unreadable CA file is reported before connecting")
    func missingCAFile() async throws {
        var configuration = WebSocketConfiguration()
        configuration.tls.additionalTrustRoots = [.file("/nonexistent/ca.pem")]
        let error = await failure {
            _ = try await WebSocketConnection.connect(to: "wss://127.0.0.1:9/", configuration: configuration)
        }
        #expect(error?.code == .tlsFailure)
    }
}

extension String {
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        replacing(target, with: replacement)
    }
}

func readFile(_ path: String) -> String? {
    guard let file = fopen(path, "rb") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = fread(&buffer, 1, buffer.count, file)
        bytes += buffer[0..<count]
        if count < buffer.count { break }
    }
    return String(decoding: bytes, as: UTF8.self)
}
