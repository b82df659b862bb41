import NIOSSL

/// The certificate chain and private key the relay serves HTTPS and WSS with, as PEM files.
public struct RelayServerTLS: Sendable, Hashable, CustomStringConvertible {
    /// The server's certificate, followed by any intermediates (PEM).
    public var certificateChainFile: String
    /// The certificate's private key (PEM, unencrypted).
    public var privateKeyFile: String

    /// Names the files; they are read when the configuration is validated and when the server starts.
    public init(certificateChainFile: String, privateKeyFile: String) {
        self.certificateChainFile = certificateChainFile
        self.privateKeyFile = privateKeyFile
    }

    /// The file names, never the key.
    public var description: String {
        "RelayServerTLS(certificateChainFile: \(certificateChainFile), privateKeyFile: \(privateKeyFile))"
    }

    /// The server-side TLS configuration (TLS 1.2 or later), checked by building a context from it.
    func serverConfiguration() throws(RelayConfigurationError) -> NIOSSL.TLSConfiguration {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificateChainFile)
        } catch {
            throw RelayConfigurationError("the TLS certificate \(certificateChainFile) cannot be read as PEM")
        }
        guard !chain.isEmpty else {
            throw RelayConfigurationError("the TLS certificate \(certificateChainFile) holds no certificate")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: privateKeyFile, format: .pem)
        } catch {
            throw RelayConfigurationError("the TLS key \(privateKeyFile) cannot be read as an unencrypted PEM key")
        }
        var configuration = NIOSSL.TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        do {
            _ = try NIOSSLContext(configuration: configuration)
        } catch {
            throw RelayConfigurationError(
                "the TLS key \(privateKeyFile) does not match the certificate \(certificateChainFile)")
        }
        return configuration
    }
}
