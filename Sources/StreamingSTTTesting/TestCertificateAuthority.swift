import CSTTTestServer
import StreamingSTTWebSocket

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A throwaway certificate authority and a server certificate it signed, written to a new
/// temporary directory, for TLS tests and the offline demo.
///
/// ```swift
/// let authority = try TestCertificateAuthority.generate(names: ["localhost", "127.0.0.1"])
/// let server = try TestWebSocketServer(tls: authority)
/// var configuration = WebSocketConfiguration()
/// configuration.tls.additionalTrustRoots = [.file(authority.caCertificatePath)]
/// ```
///
/// The keys are P-256, the certificates valid from an hour ago for a year. Names that parse as
/// IP addresses become IP subject alternative names, the others DNS names.
public struct TestCertificateAuthority: Sendable, Hashable {
    /// The directory holding the three files.
    public let directory: String
    /// The CA certificate (PEM) to trust.
    public var caCertificatePath: String { directory + "/ca.pem" }
    /// The server certificate (PEM), signed by the CA.
    public var serverCertificatePath: String { directory + "/server.pem" }
    /// The server's private key (PEM).
    public var serverKeyPath: String { directory + "/server.key" }
    /// The names the server certificate is valid for.
    public let names: [String]

    /// Generates a CA and a server certificate for `names` in a new temporary directory.
    /// - Throws: ``TestServerError`` if key generation or writing fails.
    public static func generate(
        names: [String] = ["localhost", "127.0.0.1"]
    ) throws(TestServerError)
        -> TestCertificateAuthority
    {
        var template = Array("/tmp/stt-test-ca-XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else {
            throw TestServerError("could not create a temporary directory")
        }
        let directory = String(cString: created)
        var blob: [CChar] = []
        for name in names { blob += Array(name.utf8CString) }
        var error = [CChar](repeating: 0, count: 256)
        let status = stt_generate_test_certificates(directory, blob, blob.count, &error, error.count)
        guard status == 0 else {
            throw TestServerError(
                String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return TestCertificateAuthority(directory: directory, names: names)
    }

    /// Deletes the files and the directory.
    public func remove() {
        for path in [caCertificatePath, serverCertificatePath, serverKeyPath] { unlink(path) }
        rmdir(directory)
    }
}

/// An error from the test support library (server start-up, certificate generation).
public struct TestServerError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public var message: String
    /// Creates an error.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { "TestServerError: \(message)" }
}
