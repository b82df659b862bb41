import CSTTShim
import Foundation
import Logging
import StreamingSTTSupport
import StreamingSTTTesting
import StreamingSTTWebSocket
import Testing

@testable import StreamingSTT

/// No key or token shows in a log line, an error, a description or a dump, whatever its length.
///
/// The keys are chosen so that they cannot occur by chance in what is searched: `q7Z` (three
/// characters: a digit between two letters of different case, which no word, number, hex session
/// id or UUID the library or the emulator prints contains) and 200 characters of `Zq7XJ` repeated
/// after a `K` (no text but the key holds that). The minted tokens are the emulator's random
/// base64url signatures, long enough never to be met by chance.
@Suite("Secrets stay secret")
struct SecretRedactionTests {
    typealias Vendor = TranscriberFaultTests.Vendor

    static let shortKey = "q7Z"
    static let longKey = "K" + String(repeating: "Zq7XJ", count: 40).dropLast()
    /// A refused key, for the errors of a refused session and a refused token request.
    static let wrongKey = "J4v"

    /// Everything `dump` prints for `value`.
    static func dumped(_ value: some Any) -> String {
        var text = ""
        dump(value, to: &text)
        return text
    }

    /// Whatever of `texts` holds one of `secrets`.
    static func leaks(of secrets: [String], in texts: [String]) -> [String] {
        texts.filter { text in secrets.contains { !$0.isEmpty && text.contains($0) } }
    }

    @Test("dump and String(reflecting:) of requests, configurations and URLs show no credential")
    func dumpsShowNoCredential() throws {
        let key = Secret(Self.shortKey)
        var texts: [String] = []
        let aaiKey = AssemblyAI(credentials: .apiKey(key), speechModel: .u3RealtimePro)
        let aaiToken = AssemblyAI(credentials: .temporaryToken(key), speechModel: .u3RealtimePro)
        let smKey = Speechmatics(credentials: .apiKey(key))
        let smToken = Speechmatics(credentials: .temporaryToken(key))
        for request in [
            aaiKey.connectRequest(), aaiToken.connectRequest(), smKey.connectRequest(), smToken.connectRequest(),
        ] {
            texts += [Self.dumped(request), String(reflecting: request)]
        }
        let aaiTokenRequest = try AssemblyAI.temporaryTokenRequest(
            apiKey: key, expiresIn: 60, maxSessionDuration: nil, url: "https://streaming.assemblyai.com/v3/token")
        let smTokenRequest = try Speechmatics.temporaryKeyRequest(
            apiKey: key, ttl: 60, url: "https://mp.speechmatics.com/v1/api_keys")
        texts += [Self.dumped(aaiTokenRequest), Self.dumped(smTokenRequest)]
        let configuration = WebSocketConfiguration(additionalHeaders: [("Authorization", "Bearer \(Self.shortKey)")])
        texts += [Self.dumped(configuration), String(reflecting: configuration)]
        let url = try WebSocketURL("wss://example.com/v3/ws?sample_rate=16000&token=\(Self.shortKey)")
        texts += [Self.dumped(url), String(reflecting: url), "\(url)"]
        texts += [
            Self.dumped(aaiKey), Self.dumped(smToken), Self.dumped(StreamingTranscriber.Provider.assemblyAI(aaiKey)),
        ]
        #expect(Self.leaks(of: [Self.shortKey], in: texts) == [])
    }

    @Test(
        "the scrubber: header and query forms whatever the value, long secrets anywhere, short ones standing alone",
        arguments: [
            ("Authorization: Bearer q7Z", "Authorization: <redacted>"),
            ("authorization:q7Z\r\nHost: x", "authorization:<redacted>\r\nHost: x"),
            (#"{"Authorization":"x"}"#, #"{"Authorization":"x"}"#),
            ("GET /v2?jwt=q7Z&x=1 HTTP/1.1", "GET /v2?jwt=<redacted>&x=1 HTTP/1.1"),
            ("see token=anything; then", "see token=<redacted>; then"),
            ("key q7Z refused", "key <redacted> refused"),
            ("(q7Z)", "(<redacted>)"),
            ("q7Z", "<redacted>"),
            ("q7Zebra and aq7Z stay", "q7Zebra and aq7Z stay"),
            ("monkey=business", "monkey=business"),
            ("x\(SecretRedactionTests.longKey)y", "x<redacted>y"),
            ("no secret here", "no secret here"),
        ])
    func scrubber(line: String, expected: String) {
        let scrubber = LogScrubber(secrets: ["Bearer \(Self.shortKey)", Self.longKey])
        #expect(scrubber.scrub(line) == expected)
    }

    @Test("a connection's libwebsockets lines lose short and long secrets, in header, query and bare forms")
    func connectionLinesScrubbed() {
        let (logger, store) = RecordingLogHandler.logger()
        let channel = WebSocketChannel(
            logger: logger, secrets: ["Bearer \(Self.shortKey)", Self.longKey], maxBufferedInbound: 1024)
        let lines = [
            "Authorization: Bearer \(Self.shortKey)",
            "GET /v3/ws?sample_rate=16000&token=\(Self.shortKey) HTTP/1.1",
            "key \(Self.shortKey) refused",
            #"{"key":"\#(Self.shortKey)"}"#,
            "Authorization: \(Self.longKey)x",
            "prefix\(Self.longKey)suffix",
        ]
        for line in lines { channel.log(level: 2, line: line) }
        #expect(store.all.count == lines.count)
        #expect(Self.leaks(of: [Self.shortKey, Self.longKey], in: store.all) == [])
    }

    @Test("the event loop's own lines (no connection) lose the secrets of its live connections")
    func loopLinesScrubbed() async throws {
        let (loopLogger, store) = RecordingLogHandler.logger()
        let loop = try WebSocketEventLoop(logger: loopLogger)
        defer { loop.shutdown() }
        let emulator = try TranscriptionEmulator(configuration: .init(apiKeys: [Self.shortKey, Self.longKey]))
        defer { emulator.shutdown() }
        for key in [Self.shortKey, Self.longKey] {
            var configuration = WebSocketConfiguration(additionalHeaders: [("Authorization", key)])
            configuration.connectTimeout = .seconds(20)
            let connection = try await WebSocketConnection.connect(
                to: emulator.assemblyAIURL + "?sample_rate=16000&speech_model=u3-rt-pro", configuration: configuration,
                eventLoop: loop)
            // A line libwebsockets writes on the loop's thread outside any connection's callback.
            try await withTimeout {
                await Task(executorPreference: loop) {
                    stt_log_line(2, "loop line: Authorization: \(key); key \(key) seen; token=\(key)")
                }.value
            }
            connection.cancel()
            await connection.released()
        }
        let loopLines = store.all.filter { $0.contains("loop line") }
        #expect(loopLines.count == 2, "\(store.all)")
        #expect(Self.leaks(of: [Self.shortKey, Self.longKey], in: store.all) == [])
    }

    @Test(
        "a traced session with a 3- and a 200-character key, minted tokens and a reconnection leaks nothing",
        arguments: Vendor.allCases)
    func tracedSessionsLeakNothing(vendor: Vendor) async throws {
        let (logger, store) = RecordingLogHandler.logger()
        var traced = logger
        traced.logLevel = .trace
        let loop = try WebSocketEventLoop(logger: traced)
        defer { loop.shutdown() }
        let tls = TLSConfiguration(additionalTrustRoots: [.file(sharedAuthority.caCertificatePath)])
        let minted = LockedState<[String]>([])
        var texts: [String] = []

        for key in [Self.shortKey, Self.longKey] {
            let emulator = try TranscriptionEmulator(
                configuration: .init(
                    tls: sharedAuthority, apiKeys: [key], script: TranscriberReconnectionTests.script,
                    assemblyAI: .init(enforceRealTime: false, terminationDelay: .milliseconds(20)),
                    speechmatics: .init(closeGrace: .milliseconds(100)),
                    faults: { info in info.index == 0 ? [.dropConnection(afterAudioChunks: 10)] : [] }))
            defer { emulator.shutdown() }
            let mint: @Sendable () async throws -> Secret = {
                let token =
                    switch vendor {
                    case .assemblyAI:
                        try await AssemblyAI.createTemporaryToken(
                            apiKey: Secret(key), url: emulator.assemblyAITokenURL, tls: tls, eventLoop: loop)
                    case .speechmatics:
                        try await Speechmatics.createTemporaryKey(
                            apiKey: Secret(key), url: emulator.speechmaticsTokenURL, tls: tls, eventLoop: loop)
                    }
                minted.withLock { $0.append(token.revealedValue) }
                return token
            }
            var configuration = StreamingTranscriber.Configuration(
                startTimeout: .seconds(10), stopTimeout: .seconds(10), tls: tls,
                keepalive: .enabled(pingInterval: .milliseconds(500), pongTimeout: .milliseconds(2000)),
                reconnection: TranscriberReconnectionTests.quickPolicy, eventLoop: loop)
            // The first session with the key, every later one with a token minted for it.
            configuration.credentials = SessionCredentials { index in
                index == 0 ? .apiKey(Secret(key)) : .temporaryToken(try await mint())
            }
            let provider = CleartextCredentialTests.provider(
                vendor, credentials: .apiKey(Secret(key)),
                endpoint: vendor == .assemblyAI ? emulator.assemblyAIURL : emulator.speechmaticsURL)
            let transcriber = StreamingTranscriber(provider: provider, configuration: configuration, logger: traced)
            let (events, summary) = try await TranscriberEmulatorTests.run(
                transcriber, audio: TranscriberReconnectionTests.chunk + [UInt8](repeating: 0, count: 3200 * 29))
            #expect(summary.sessionCount >= 2, "a reconnection happened")
            for case .reconnecting(let reconnecting) in events {
                texts += [Self.dumped(reconnecting), "\(reconnecting.reason)", String(reflecting: reconnecting.reason)]
            }
            texts += [Self.dumped(configuration), Self.dumped(provider), Self.dumped(events)]

            // Errors: a refused key on the WebSocket and on the token endpoint.
            configuration.credentials = nil
            let refused = StreamingTranscriber(
                provider: CleartextCredentialTests.provider(
                    vendor, credentials: .apiKey(Secret(Self.wrongKey)),
                    endpoint: vendor == .assemblyAI ? emulator.assemblyAIURL : emulator.speechmaticsURL),
                configuration: configuration, logger: traced)
            var errors = [await transcriptionFailure { try await refused.start() }]
            errors.append(
                await transcriptionFailure {
                    _ = try await AssemblyAI.createTemporaryToken(
                        apiKey: Secret(Self.wrongKey), url: emulator.assemblyAITokenURL, tls: tls, eventLoop: loop)
                })
            for error in errors.compactMap({ $0 }) {
                texts += [
                    "\(error)", String(reflecting: error), Self.dumped(error),
                    error.underlyingError.map { "\($0)" } ?? "",
                    error.underlyingError.map { String(reflecting: $0) } ?? "",
                ]
            }
            #expect(errors.allSatisfy { $0?.code == .authenticationFailed })
        }
        let tokens = minted.withLock { $0 }
        #expect(tokens.count >= 2, "tokens were minted")
        texts += store.all
        #expect(store.all.contains { $0.contains("session started") }, "the trace was recorded")
        #expect(Self.leaks(of: [Self.shortKey, Self.longKey, Self.wrongKey] + tokens, in: texts) == [])
    }
}
