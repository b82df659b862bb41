import ArgumentParser
import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import StreamingSTTCore
import StreamingSTTTesting
import TranscriptionRelay

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
            (comma-separated). Open http://HOST:PORT/ for the microphone page (https:// with --tls-certificate).
            An address other than loopback needs a client token and TLS (or the --allow-* flags that say what \
            they give up). Settings that would make the server unsafe end it at once with exit code 2 and one \
            line saying why.
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

    @Option(help: "The TLS certificate chain (PEM) to serve HTTPS and WSS with; needs --tls-key.")
    var tlsCertificate: String?

    @Option(help: "The private key (unencrypted PEM) of --tls-certificate.")
    var tlsKey: String?

    @Flag(
        help: """
            Serve plain HTTP and WS on a non-loopback address: client tokens and audio then cross the \
            network in cleartext (not recommended; prefer --tls-certificate, or a TLS proxy in front).
            """)
    var allowInsecureBind = false

    @Option(
        name: .customLong("allowed-host"),
        help: ArgumentHelp(
            """
            A Host name clients may use besides localhost, 127.0.0.1, [::1] and --host (repeatable): NAME for \
            any port or NAME:PORT. Other names get 403 (against DNS rebinding).
            """, valueName: "host"))
    var allowedHosts: [String] = []

    @Option(
        name: .customLong("trusted-proxy"),
        help: ArgumentHelp(
            "A proxy, as an address or CIDR block, whose X-Forwarded-For gives the client address (repeatable).",
            valueName: "cidr"))
    var trustedProxies: [String] = []

    @Option(
        name: .customLong("allowed-origin"), help: "A browser origin allowed besides the server's own (repeatable).")
    var allowedOrigins: [String] = []

    @Option(help: "The most sessions at once, for all clients.")
    var maxSessions = 8

    @Option(help: "The most sessions at once per client.")
    var maxSessionsPerClient = 2

    @Option(help: "The longest session, in seconds; it is then stopped gracefully.")
    var maxSessionDuration = 300

    @Option(help: "The most temporary tokens a client may mint per minute.")
    var maxTokensPerMinute = 10

    @Option(
        help: """
            The most sessions a client may start per minute, WebSocket sessions and minted temporary tokens \
            together (429 / close 4429 beyond).
            """)
    var maxNewSessionsPerMinute = 10

    @Option(
        help: ArgumentHelp(
            """
            The fastest a session may send audio, as a multiple of real time in its audio format \
            (16 kHz 16-bit mono: 32000 bytes/s); faster ends the session (audio_rate_exceeded, close 4413).
            """, valueName: "factor"))
    var maxAudioRate = 1.25

    @Option(
        help: ArgumentHelp(
            "How much audio a session may send at once above --max-audio-rate (a network catch-up).",
            valueName: "seconds"))
    var audioBurst = 2.0

    @Option(
        help: ArgumentHelp(
            """
            Send a session's client a lagging message when its transcript trails the audio sent by more than \
            this (the lag messages come either way).
            """, valueName: "seconds"))
    var lagWarning: Double?

    @Option(help: "The provider for clients that do not choose: assemblyai or speechmatics.")
    var provider: String?

    @Option(
        help: ArgumentHelp(
            "The vendor's WebSocket URL, as PROVIDER=URL (repeatable), for a region, on-premises or an emulator.",
            valueName: "provider=url"))
    var endpoint: [String] = []

    @Option(
        name: .customLong("token-url"),
        help: ArgumentHelp(
            "The vendor's temporary-token endpoint, as PROVIDER=URL (repeatable).", valueName: "provider=url"))
    var tokenURLs: [String] = []

    @Option(help: "A PEM file of extra CA certificates to trust for the vendor connections (an emulator's CA).")
    var caFile: String?

    @Flag(
        help: """
            Try it offline: start the bundled emulator of both services in-process (TLS, generated CA) and \
            relay to it instead of the real services. Its transcript is scripted, not your speech.
            """)
    var emulator = false

    @Option(
        help: ArgumentHelp(
            """
            Serve Prometheus metrics at this path (/metrics): the relay's sessions and refusals and \
            the library's stt_* metrics. Off by default. Answers only requests naming one of the \
            server's hosts (see --allowed-host).
            """, valueName: "path"))
    var metricsPath: String?

    @Option(
        help: ArgumentHelp(
            "The health check path: 200 with the open sessions, 503 while shutting down (\"\" for none).",
            valueName: "path"))
    var healthPath = "/healthz"

    @Option(help: "The log level: trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        var configuration = RelayConfiguration(
            host: host, port: port, allowedOrigins: allowedOrigins, maxSessions: maxSessions,
            maxSessionsPerClient: maxSessionsPerClient, maxSessionDuration: .seconds(maxSessionDuration),
            maxTokensPerClientPerMinute: maxTokensPerMinute)
        configuration.maxNewSessionsPerClientPerMinute = maxNewSessionsPerMinute
        configuration.maxAudioRealTimeFactor = maxAudioRate
        guard audioBurst.isFinite, audioBurst > 0 else { throw ValidationError("--audio-burst must be positive.") }
        configuration.audioBurst = .milliseconds(Int64((audioBurst * 1000).rounded()))
        if let lagWarning {
            guard lagWarning.isFinite, lagWarning > 0 else { throw ValidationError("--lag-warning must be positive.") }
            configuration.transcriptLagWarning = .milliseconds(Int64((lagWarning * 1000).rounded()))
        }
        var tokens = clientTokens
        for token in (environment["STT_SERVER_CLIENT_TOKENS"] ?? "").split(separator: ",") {
            tokens.append(token.trimmingCharacters(in: .whitespaces))
        }
        configuration.clientTokens = tokens.filter { !$0.isEmpty }.map { Secret($0) }
        configuration.allowsAnonymousRemoteClients = allowAnonymous
        configuration.allowsInsecureBind = allowInsecureBind
        configuration.allowedHosts = allowedHosts
        configuration.metricsPath = metricsPath
        configuration.healthPath = healthPath.isEmpty ? nil : healthPath
        for block in trustedProxies {
            guard let network = IPNetwork(block) else {
                throw ValidationError("--trusted-proxy takes an address or a CIDR block, such as 10.0.0.0/8.")
            }
            configuration.trustedProxies.append(network)
        }
        switch (tlsCertificate, tlsKey) {
        case (let certificate?, let key?):
            configuration.serverTLS = RelayServerTLS(certificateChainFile: certificate, privateKeyFile: key)
        case (nil, nil): break
        default: throw ValidationError("--tls-certificate and --tls-key go together.")
        }
        let endpoints = try Self.perProvider(endpoint, option: "--endpoint")
        let tokenURLs = try Self.perProvider(self.tokenURLs, option: "--token-url")
        for kind in [ProviderKind.assemblyAI, .speechmatics] where !emulator {
            let variable = kind == .assemblyAI ? "ASSEMBLYAI_API_KEY" : "SPEECHMATICS_API_KEY"
            guard let key = environment[variable], !key.isEmpty else { continue }
            let access = VendorAccess(apiKey: Secret(key), endpoint: endpoints[kind], tokenURL: tokenURLs[kind])
            if kind == .assemblyAI { configuration.assemblyAI = access } else { configuration.speechmatics = access }
        }
        var localEmulator: (emulator: TranscriptionEmulator, authority: TestCertificateAuthority)?
        if emulator {
            localEmulator = try Self.startEmulator(into: &configuration)
        }
        defer {
            localEmulator?.emulator.shutdown()
            localEmulator?.authority.remove()
        }
        guard configuration.assemblyAI != nil || configuration.speechmatics != nil else {
            throw ValidationError("Set ASSEMBLYAI_API_KEY or SPEECHMATICS_API_KEY (or both) in the environment.")
        }
        if let name = provider {
            guard let kind = ProviderKind(relayName: name) else {
                throw ValidationError("--provider must be assemblyai or speechmatics.")
            }
            guard configuration.access(for: kind) != nil else {
                throw ValidationError("--provider \(kind) needs its API key in the environment.")
            }
            configuration.defaultProvider = kind
        } else {
            configuration.defaultProvider = configuration.assemblyAI != nil ? .assemblyAI : .speechmatics
        }
        if let caFile, !emulator {
            guard FileManager.default.isReadableFile(atPath: caFile) else {
                throw ValidationError("--ca-file \(caFile) cannot be read.")
            }
            configuration.tls = TLSConfiguration(additionalTrustRoots: [.file(caFile)])
        }
        do {
            try configuration.validate()
        } catch {
            // One line, exit 2: the settings would make the server unsafe or useless.
            FileHandle.standardError.write(Data("stt-server: refusing to start: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let cleartextOnNetwork = configuration.serverTLS == nil && !RelayConfiguration.isLoopback(configuration.host)
        if cleartextOnNetwork {
            FileHandle.standardError.write(
                Data(
                    ("stt-server: warning: serving plain HTTP on \(configuration.host) (--allow-insecure-bind): "
                        + "client tokens and audio cross the network in cleartext\n").utf8))
        }
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical.")
        }
        var logger = Logger(label: "stt-server")
        logger.logLevel = level

        let offered = [
            configuration.assemblyAI.map { _ in "assemblyai" }, configuration.speechmatics.map { _ in "speechmatics" },
        ]
        .compactMap { $0 }.joined(separator: ", ")
        let settings = configuration
        // The process's metrics go to one Prometheus registry, which the metrics path serves: the
        // relay's and, through the bootstrapped MetricsSystem, the library's.
        var registry: PrometheusCollectorRegistry?
        if settings.metricsPath != nil {
            let prometheus = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: prometheus))
            registry = prometheus
        }
        let relay = TranscriptionRelay(configuration: settings, logger: logger, prometheusRegistry: registry)
        let services = relay.services { port in
            let shown = settings.host.contains(":") ? "[\(settings.host)]" : settings.host
            let scheme = settings.serverTLS == nil ? "http" : "https"
            Self.say(
                "stt-server listening on \(scheme)://\(shown):\(port)/ (providers: \(offered); default \(settings.defaultProvider))"
            )
            Self.say(
                settings.clientTokens.isEmpty
                    ? "client authentication: off (loopback only); temporary tokens: disabled"
                    : "client authentication: \(settings.clientTokens.count) client token(s); temporary tokens: POST /v1/token"
            )
        }
        // SIGINT/SIGTERM: the sessions are drained first (last finals, then 1001), then the server stops.
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    /// Starts the emulator of both services on loopback over TLS and points `configuration` at it.
    static func startEmulator(
        into configuration: inout RelayConfiguration
    ) throws -> (emulator: TranscriptionEmulator, authority: TestCertificateAuthority) {
        let authority = try TestCertificateAuthority.generate(names: ["localhost", "127.0.0.1"])
        let script = EmulatorScript(
            text: "This transcript comes from the local emulator, not from your speech. "
                + "Start the server with an API key to transcribe for real.",
            startingAt: 0.5, wordDuration: 0.3, gap: 0.1, sentenceGap: 1.0)
        let emulator = try TranscriptionEmulator(
            configuration: .init(tls: authority, apiKeys: ["emulator-key"], script: script))
        configuration.assemblyAI = VendorAccess(
            apiKey: "emulator-key", endpoint: emulator.assemblyAIURL, tokenURL: emulator.assemblyAITokenURL)
        configuration.speechmatics = VendorAccess(
            apiKey: "emulator-key", endpoint: emulator.speechmaticsURL, tokenURL: emulator.speechmaticsTokenURL)
        configuration.tls = TLSConfiguration(additionalTrustRoots: [.file(authority.caCertificatePath)])
        Self.say("Relaying to the LOCAL EMULATOR at 127.0.0.1:\(emulator.port) (TLS), not to the real services.")
        return (emulator, authority)
    }

    /// Writes a line to stdout at once (`print` is buffered when stdout is a pipe).
    static func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// Parses `PROVIDER=URL` options.
    static func perProvider(_ values: [String], option: String) throws -> [ProviderKind: String] {
        var result: [ProviderKind: String] = [:]
        for value in values {
            let parts = value.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let kind = ProviderKind(relayName: String(parts[0])), !parts[1].isEmpty else {
                throw ValidationError("\(option) takes PROVIDER=URL, such as assemblyai=wss://127.0.0.1:9000/v3/ws.")
            }
            result[kind] = parts[1]
        }
        return result
    }
}
