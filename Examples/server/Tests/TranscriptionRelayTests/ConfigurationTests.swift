import StreamingSTTCore
import Testing
import TranscriptionRelay

/// The settings that would make the relay an open relay are refused before it starts.
@Suite("Relay configuration")
struct ConfigurationTests {
    static let access = VendorAccess(apiKey: Secret(vendorKey))

    @Test("Loopback without client tokens is fine; another address needs a token or an explicit opt-in")
    func anonymousOnlyOnLoopback() throws {
        for host in ["127.0.0.1", "localhost", "::1", "127.0.0.2"] {
            try RelayConfiguration(host: host, assemblyAI: Self.access).validate()
        }
        for host in ["0.0.0.0", "::", "192.0.2.10"] {
            #expect(throws: RelayConfigurationError.self) {
                try RelayConfiguration(host: host, assemblyAI: Self.access).validate()
            }
            // …and TLS, or an explicit insecure bind.
            var configuration = RelayConfiguration(host: host, clientTokens: ["t"], assemblyAI: Self.access)
            #expect(throws: RelayConfigurationError.self) { try configuration.validate() }
            configuration.allowsInsecureBind = true
            try configuration.validate()
            configuration = RelayConfiguration(host: host, assemblyAI: Self.access, allowsAnonymousRemoteClients: true)
            configuration.allowsInsecureBind = true
            try configuration.validate()
        }
    }

    @Test("No provider, a default provider without a key, empty tokens or zero limits are refused")
    func refusesUselessSettings() {
        #expect(throws: RelayConfigurationError.self) { try RelayConfiguration().validate() }
        #expect(throws: RelayConfigurationError.self) {
            try RelayConfiguration(defaultProvider: .speechmatics, assemblyAI: Self.access).validate()
        }
        #expect(throws: RelayConfigurationError.self) {
            try RelayConfiguration(clientTokens: [""], assemblyAI: Self.access).validate()
        }
        #expect(throws: RelayConfigurationError.self) {
            try RelayConfiguration(maxSessionsPerClient: 0, assemblyAI: Self.access).validate()
        }
    }

    @Test(
        "A path prefix is empty or /NAME of plain path characters (it is written into the page)",
        arguments: [
            ("", true), ("/stt", true), ("/api/v2/stt-relay_1.0~x", true), ("stt", false), ("/stt/", false),
            ("/", false), ("//stt", false), ("/s t", false), (#"/"><script>"#, false), ("/stt?x=1", false),
        ])
    func pathPrefix(prefix: String, valid: Bool) {
        var configuration = RelayConfiguration(assemblyAI: Self.access)
        configuration.pathPrefix = prefix
        #expect(((try? configuration.validate()) != nil) == valid, "\(prefix)")
    }

    @Test(
        "A transcript lag warning is off by default, and positive when set",
        arguments: [(Duration?.none, true), (.milliseconds(500), true), (.zero, false), (.seconds(-1), false)])
    func lagWarning(bound: Duration?, valid: Bool) {
        var configuration = RelayConfiguration(assemblyAI: Self.access)
        #expect(configuration.transcriptLagWarning == nil)
        configuration.transcriptLagWarning = bound
        #expect(((try? configuration.validate()) != nil) == valid, "\(String(describing: bound))")
    }

    @Test(
        "Lag reports come every second by default; an interval set is positive, or nil for after finals only",
        arguments: [(Duration?.none, true), (.milliseconds(200), true), (.zero, false), (.seconds(-1), false)])
    func lagReportInterval(interval: Duration?, valid: Bool) {
        var configuration = RelayConfiguration(assemblyAI: Self.access)
        #expect(configuration.lagReportInterval == .seconds(1))
        configuration.lagReportInterval = interval
        #expect(((try? configuration.validate()) != nil) == valid, "\(String(describing: interval))")
    }

    @Test("Descriptions never show the key")
    func redacted() {
        let configuration = RelayConfiguration(assemblyAI: Self.access, speechmatics: Self.access)
        #expect(!"\(Self.access)".contains(vendorKey))
        #expect(!"\(configuration)".contains(vendorKey))
        #expect(!String(reflecting: configuration).contains(vendorKey))
    }
}
