import Testing

@testable import StreamingSTTProtocol

/// Which URLs a credential may go to, decided on the parsed host, never on a prefix of its text.
@Suite("CredentialTransport")
struct CredentialTransportTests {
    @Test(
        "loopback is localhost, 127.0.0.0/8 in dotted decimal, and ::1 in any spelling",
        arguments: [
            ("localhost", true), ("LOCALHOST", true), ("127.0.0.1", true), ("127.1.2.3", true),
            ("127.255.255.255", true), ("::1", true), ("0:0:0:0:0:0:0:1", true), ("0::1", true),
            ("0000:0000::0001", true),
            ("127.evil.example", false), ("127.0.0.1.nip.io", false), ("localhost.evil.example", false),
            ("evil-localhost", false), ("0127.0.0.1", false), ("127.1", false), ("127.0.0.01", false),
            ("0x7f.0.0.1", false), ("2130706433", false), ("128.0.0.1", false), ("126.0.0.1", false),
            ("127.0.0.256", false), ("127.0.0.1 ", false), ("::2", false), ("::", false), ("::ffff:127.0.0.1", false),
            ("fe80::1%lo", false), ("1::1::1", false), ("0:0:0:0:0:0:0:0:1", false), ("192.0.2.1", false),
            ("", false), ("localhost.", false),
        ])
    func loopbackHosts(host: String, loopback: Bool) {
        #expect(CredentialTransport.isLoopback(host: host) == loopback)
    }

    @Test(
        "ws:// and http:// to a host that is not loopback are refused; wss://, https:// and loopback pass",
        arguments: [
            ("wss://streaming.assemblyai.com/v3/ws", true), ("https://mp.speechmatics.com/v1/api_keys", true),
            ("ws://127.0.0.1:9000/v2", true), ("ws://localhost/v2", true), ("ws://[::1]:8080/v3/ws?x=1", true),
            ("http://127.0.0.1:8080/v3/token", true), ("http://localhost?x=1", true), ("ws://127.0.0.1#f", true),
            ("ws://192.0.2.1:9/v2", false), ("ws://127.evil.example/v2", false), ("http://10.0.0.5:9000/v1", false),
            ("ws://[2001:db8::1]/v2", false), ("ws://user@127.0.0.1/v2", false), ("ws://0127.0.0.1/v2", false),
            ("http://127.0.0.1.evil.example:80/", false), ("ws:///v2", false), ("ws://[::1/v2", false),
            // Not a URL the transport accepts (it refuses it before sending anything).
            ("ftp://192.0.2.1/", true), ("WS://192.0.2.1/", true),
        ])
    func urls(url: String, allowed: Bool) {
        do {
            try CredentialTransport.check(url: url, provider: .speechmatics, allowsCleartext: false)
            #expect(allowed, "\(url) passed")
        } catch {
            #expect(!allowed, "\(url): \(error)")
            #expect(error.code == .invalidConfiguration && !error.isRetryable && error.provider == .speechmatics)
            #expect(error.reason.contains("allowsCredentialsOverCleartext"))
        }
        // The caller's explicit permission lets everything through.
        #expect(throws: Never.self) { try CredentialTransport.check(url: url, provider: nil, allowsCleartext: true) }
    }
}
