import Foundation
import StreamingSTTTesting
import Testing

@testable import StreamingSTT

/// A credential never travels unencrypted to another machine: `ws://` and `http://` are refused,
/// before any byte is sent, unless the host is loopback or the caller opts in. 192.0.2.1
/// (TEST-NET-1, RFC 5737) is never routed: a connection attempt there could only time out, so a
/// quick refusal proves that none was made.
@Suite("Credentials over cleartext")
struct CleartextCredentialTests {
    typealias Vendor = TranscriberFaultTests.Vendor

    /// A remote host reached over `ws://`.
    static let remote = "192.0.2.1:9"

    static func provider(
        _ vendor: Vendor, credentials: Credentials, endpoint: String
    ) -> StreamingTranscriber.Provider {
        switch vendor {
        case .assemblyAI:
            .assemblyAI(AssemblyAI(credentials: credentials, speechModel: .u3RealtimePro, endpoint: .custom(endpoint)))
        case .speechmatics:
            .speechmatics(Speechmatics(credentials: credentials, endpoint: .custom(endpoint)))
        }
    }

    /// Starts a session and returns its error and how long `start()` took.
    static func start(
        _ provider: StreamingTranscriber.Provider,
        configure: (inout StreamingTranscriber.Configuration) -> Void = { _ in }
    ) async throws -> (error: TranscriptionError?, elapsed: Duration) {
        var configuration = StreamingTranscriber.Configuration(connectTimeout: .seconds(10))
        configure(&configuration)
        let transcriber = StreamingTranscriber(provider: provider, configuration: configuration)
        let clock = ContinuousClock()
        let began = clock.now
        let error = try await withTimeout(.seconds(20), "start()") {
            await transcriptionFailure { try await transcriber.start() }
        }
        return (error, clock.now - began)
    }

    @Test(
        "an API key or a token over ws:// to a remote host is refused at once, nothing sent",
        arguments: Vendor.allCases, ["192.0.2.1:9", "127.evil.example:9", "[2001:db8::1]:9", "0127.0.0.1:9"])
    func webSocketToRemoteHostRefused(vendor: Vendor, host: String) async throws {
        for credentials: Credentials in [.apiKey("q7Z"), .temporaryToken("q7Z")] {
            let (error, elapsed) = try await Self.start(
                Self.provider(vendor, credentials: credentials, endpoint: "ws://\(host)/v2"))
            #expect(error?.code == .invalidConfiguration, "\(host): \(error.map { "\($0)" } ?? "no error")")
            #expect(error?.isRetryable == false)
            #expect(error?.reason.contains("allowsCredentialsOverCleartext") == true)
            #expect(error?.reason.contains("q7Z") == false)
            // Refused before the transport was asked for anything: a connection attempt, even one
            // refused at once, would have left its `WebSocketError` here. (A bound on the time
            // says the same less reliably on a loaded machine.)
            #expect(error?.underlyingError == nil, "a connection was attempted")
            #expect(elapsed < .seconds(8), "no connect timeout waited for (took \(elapsed))")
        }
    }

    @Test("the token endpoints refuse http:// to a remote host at once, nothing sent")
    func tokenEndpointsToRemoteHostRefused() async throws {
        let clock = ContinuousClock()
        let began = clock.now
        let assemblyAI = await transcriptionFailure {
            _ = try await AssemblyAI.createTemporaryToken(
                apiKey: "q7Z", url: "http://\(Self.remote)/v3/token", timeout: .seconds(10))
        }
        let speechmatics = await transcriptionFailure {
            _ = try await Speechmatics.createTemporaryKey(
                apiKey: "q7Z", url: "http://\(Self.remote)/v1/api_keys", timeout: .seconds(10))
        }
        for error in [assemblyAI, speechmatics] {
            #expect(error?.code == .invalidConfiguration, "\(error.map { "\($0)" } ?? "no error")")
            #expect(error?.isRetryable == false)
            #expect(error?.underlyingError == nil, "a connection was attempted")
        }
        #expect(clock.now - began < .seconds(8), "no connect timeout waited for")
    }

    @Test("loopback over ws:// and http:// works as before: 127.0.0.1 and localhost, sessions and tokens")
    func loopbackAllowed() async throws {
        let emulator = try TranscriberEmulatorTests.emulator(secure: false)
        defer { emulator.shutdown() }
        #expect(emulator.assemblyAIURL.hasPrefix("ws://127.0.0.1:"))
        let token = try await withTimeout {
            try await AssemblyAI.createTemporaryToken(apiKey: "emulator-key", url: emulator.assemblyAITokenURL)
        }
        let key = try await withTimeout {
            try await Speechmatics.createTemporaryKey(apiKey: "emulator-key", url: emulator.speechmaticsTokenURL)
        }
        let localhost = emulator.speechmaticsURL.replacingOccurrences(of: "127.0.0.1", with: "localhost")
        let sessions: [StreamingTranscriber.Provider] = [
            Self.provider(.assemblyAI, credentials: .apiKey("emulator-key"), endpoint: emulator.assemblyAIURL),
            Self.provider(.assemblyAI, credentials: .temporaryToken(token), endpoint: emulator.assemblyAIURL),
            Self.provider(.speechmatics, credentials: .temporaryToken(key), endpoint: emulator.speechmaticsURL),
            Self.provider(.speechmatics, credentials: .apiKey("emulator-key"), endpoint: localhost),
        ]
        for provider in sessions {
            let transcriber = StreamingTranscriber(provider: provider)
            let (_, summary) = try await TranscriberEmulatorTests.run(
                transcriber, audio: TranscriberEmulatorTests.audio(seconds: 0.3))
            #expect(summary.sessionCount == 1)
        }
    }

    @Test("without credentials (an on-premises container) ws:// to a remote host is not refused")
    func noCredentialsNotRefused() async throws {
        let (error, _) = try await Self.start(
            Self.provider(.speechmatics, credentials: .none, endpoint: "ws://\(Self.remote)/v2")
        ) { $0.connectTimeout = .milliseconds(300) }
        // It tried to connect: refused or timed out, depending on the network.
        #expect(
            error?.code == .timeout || error?.code == .connectionFailed, "\(error.map { "\($0)" } ?? "no error")")
    }

    @Test("allowsCredentialsOverCleartext: the session and the token request go ahead (and fail to connect)")
    func explicitPermission() async throws {
        for vendor in Vendor.allCases {
            let (error, _) = try await Self.start(
                Self.provider(vendor, credentials: .apiKey("q7Z"), endpoint: "ws://\(Self.remote)/v2")
            ) {
                $0.allowsCredentialsOverCleartext = true
                $0.connectTimeout = .milliseconds(300)
            }
            #expect(
                error?.code == .timeout || error?.code == .connectionFailed, "\(error.map { "\($0)" } ?? "no error")")
        }
        let token = await transcriptionFailure {
            _ = try await AssemblyAI.createTemporaryToken(
                apiKey: "q7Z", url: "http://\(Self.remote)/v3/token", timeout: .milliseconds(300),
                allowsCredentialsOverCleartext: true)
        }
        #expect(token?.code == .timeout || token?.code == .connectionFailed, "\(token.map { "\($0)" } ?? "no error")")
    }
}
