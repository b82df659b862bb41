import ArgumentParser
import Foundation
import Hummingbird
import Logging
import StreamingSTT
import TranscriptionServer

/// `stt-server`: relays browser microphone audio to AssemblyAI or Speechmatics, keeping the
/// vendor key on the server.
@main
struct STTServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stt-server",
        abstract: "Relay browser microphone audio to a real-time speech-to-text service over WebSocket.",
        discussion: """
            Vendor keys come from the environment only (ASSEMBLYAI_API_KEY, SPEECHMATICS_API_KEY), so they \
            never show in the process list. Client tokens come from --client-token or STT_SERVER_CLIENT_TOKENS \
            (comma-separated). Open http://HOST:PORT/ for the microphone page.
            """
    )

    @Option(help: "The address to bind. Anything but loopback needs --client-token (or --allow-anonymous).")
    var host = "127.0.0.1"

    @Option(help: "The port to bind (0: any free port).")
    var port = 8080

    @Option(
        name: .customLong("client-token"),
        help: "A token clients must present (repeatable). Also STT_SERVER_CLIENT_TOKENS, comma-separated.")
    var clientTokens: [String] = []

    @Flag(help: "Serve clients without a client token on a non-loopback address (not recommended).")
    var allowAnonymous = false

    @Option(name: .customLong("allowed-origin"), help: "A browser origin allowed besides the server's own (repeatable).")
    var allowedOrigins: [String] = []

    @Option(help: "The most sessions at once, for all clients.")
    var maxSessions = 8

    @Option(help: "The most sessions at once per client.")
    var maxSessionsPerClient = 2

    @Option(help: "The longest session, in seconds; it is then stopped gracefully.")
    var maxSessionDuration = 300

    @Option(help: "The most temporary tokens a client may mint per minute.")
    var maxTokensPerMinute = 10

    @Option(help: "The provider for clients that do not choose: assemblyai or speechmatics.")
    var provider: String?

    @Option(
        help: ArgumentHelp(
            "The vendor's WebSocket URL, as PROVIDER=URL (repeatable), for a region, on-premises or an emulator.",
            valueName: "provider=url"))
    var endpoint: [String] = []

    @Option(
        name: .customLong("token-url"),
        help: ArgumentHelp("The vendor's temporary-token endpoint, as PROVIDER=URL (repeatable).", valueName: "provider=url"))
    var tokenURLs: [String] = []

    @Option(help: "A PEM file of extra CA certificates to trust for the vendor connections (an emulator's CA).")
    var caFile: String?

    @Option(help: "The log level: trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        var configuration = RelayConfiguration(
            host: host, port: port, allowedOrigins: allowedOrigins, maxSessions: maxSessions,
            maxSessionsPerClient: maxSessionsPerClient, maxSessionDuration: .seconds(maxSessionDuration),
            maxTokensPerClientPerMinute: maxTokensPerMinute)
        var tokens = clientTokens
        for token in (environment["STT_SERVER_CLIENT_TOKENS"] ?? "").split(separator: ",") {
            tokens.append(token.trimmingCharacters(in: .whitespaces))
        }
        configuration.clientTokens = tokens.filter { !$0.isEmpty }.map { Secret($0) }
        if configuration.clientTokens.isEmpty, !RelayConfiguration.isLoopback(host), !allowAnonymous {
            throw ValidationError(
                "Binding \(host) without --client-token would let anyone on the network spend your API key. "
                    + "Set --client-token (or STT_SERVER_CLIENT_TOKENS), or pass --allow-anonymous.")
        }
        let endpoints = try Self.perProvider(endpoint, option: "--endpoint")
        let tokenURLs = try Self.perProvider(self.tokenURLs, option: "--token-url")
        for kind in [ProviderKind.assemblyAI, .speechmatics] {
            let variable = kind == .assemblyAI ? "ASSEMBLYAI_API_KEY" : "SPEECHMATICS_API_KEY"
            guard let key = environment[variable], !key.isEmpty else { continue }
            let access = VendorAccess(apiKey: Secret(key), endpoint: endpoints[kind], tokenURL: tokenURLs[kind])
            if kind == .assemblyAI { configuration.assemblyAI = access } else { configuration.speechmatics = access }
        }
        guard configuration.assemblyAI != nil || configuration.speechmatics != nil else {
            throw ValidationError("Set ASSEMBLYAI_API_KEY or SPEECHMATICS_API_KEY (or both) in the environment.")
        }
        if let name = provider {
            guard let kind = ProviderKind(rawValue: name.lowercased()) else {
                throw ValidationError("--provider must be assemblyai or speechmatics.")
            }
            guard configuration.access(for: kind) != nil else {
                throw ValidationError("--provider \(kind) needs its API key in the environment.")
            }
            configuration.defaultProvider = kind
        } else {
            configuration.defaultProvider = configuration.assemblyAI != nil ? .assemblyAI : .speechmatics
        }
        if let caFile {
            guard FileManager.default.isReadableFile(atPath: caFile) else {
                throw ValidationError("--ca-file \(caFile) cannot be read.")
            }
            configuration.tls = TLSConfiguration(additionalTrustRoots: [.file(caFile)])
        }
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical.")
        }
        var logger = Logger(label: "stt-server")
        logger.logLevel = level

        let offered = [configuration.assemblyAI.map { _ in "assemblyai" }, configuration.speechmatics.map { _ in "speechmatics" }]
            .compactMap { $0 }.joined(separator: ", ")
        let settings = configuration
        let relay = TranscriptionRelay(configuration: settings, logger: logger)
        let app = relay.application { port in
            let shown = settings.host.contains(":") ? "[\(settings.host)]" : settings.host
            print("stt-server listening on http://\(shown):\(port)/ (providers: \(offered); default \(settings.defaultProvider))")
            print(
                settings.clientTokens.isEmpty
                    ? "client authentication: off (loopback only); temporary tokens: disabled"
                    : "client authentication: \(settings.clientTokens.count) client token(s); temporary tokens: POST /v1/token")
        }
        try await app.runService()
    }

    /// Parses `PROVIDER=URL` options.
    static func perProvider(_ values: [String], option: String) throws -> [ProviderKind: String] {
        var result: [ProviderKind: String] = [:]
        for value in values {
            let parts = value.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let kind = ProviderKind(rawValue: parts[0].lowercased()), !parts[1].isEmpty else {
                throw ValidationError("\(option) takes PROVIDER=URL, such as assemblyai=wss://127.0.0.1:9000/v3/ws.")
            }
            result[kind] = parts[1]
        }
        return result
    }
}
