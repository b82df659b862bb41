import Foundation
import Hummingbird
import HummingbirdTesting
import StreamingSTTCore
import StreamingSTTTesting
import StreamingSTTWebSocket
import Testing
import TranscriptionRelay

/// The body of a minted token or of an error; each member `nil` when absent.
struct TokenReply: Decodable {
    var token: String?
    var expiresIn: Int?
    var maxSessionDuration: Int?
    var code: String?
    var message: String?
    var retryable: Bool?
}

/// The limits a client cannot sidestep: the audio rate, sessions per minute, and minted tokens
/// counted like sessions. The relay measures them on a ``ManualClock`` the test advances.
@Suite("Relay server, limits", .timeLimit(.minutes(1)))
struct LimitTests {
    static func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer \(token)"] }

    /// `POST /v1/token` for `token`; the status and the decoded body.
    static func mint(
        _ client: some TestClientProtocol, token: String, query: String = "provider=assemblyai"
    ) async throws -> (status: HTTPResponse.Status, reply: TokenReply, retryAfter: String?) {
        let response = try await client.execute(uri: "/v1/token?\(query)", method: .post, headers: bearer(token))
        let reply = try JSONDecoder().decode(TokenReply.self, from: Data(String(buffer: response.body).utf8))
        return (response.status, reply, response.headers[.retryAfter])
    }

    /// Opens a WebSocket session and stops it at once; what the relay sent and how it closed.
    static func openAndStop(port: Int, token: String) async throws -> (events: [RelayEvent], closure: WebSocketClosure?)
    {
        let ws = try await RelayClient.connect(port: port, token: token)
        try? await ws.connection.send(text: #"{"type":"stop"}"#)
        return try await ws.readAll()
    }

    /// The defaults of the audio rate cap (the shared test configuration allows a larger burst).
    static func defaultAudioRate(_ configuration: inout RelayConfiguration) {
        let defaults = RelayConfiguration()
        configuration.maxAudioRealTimeFactor = defaults.maxAudioRealTimeFactor
        configuration.audioBurst = defaults.audioBurst
    }

    @Test("Settings that would switch a limit off are refused")
    func refusesDisabledLimits() throws {
        let changes: [(String, @Sendable (inout RelayConfiguration) -> Void)] = [
            ("no new sessions", { $0.maxNewSessionsPerClientPerMinute = 0 }),
            ("below real time", { $0.maxAudioRealTimeFactor = 0.5 }),
            ("NaN rate", { $0.maxAudioRealTimeFactor = .nan }),
            ("infinite rate", { $0.maxAudioRealTimeFactor = .infinity }),
            ("no burst", { $0.audioBurst = .zero }),
        ]
        let valid = RelayConfiguration(assemblyAI: VendorAccess(apiKey: Secret(vendorKey)))
        try valid.validate()
        for (name, change) in changes {
            var configuration = valid
            change(&configuration)
            #expect(throws: RelayConfigurationError.self, "\(name)") { try configuration.validate() }
        }
    }

    // MARK: - Audio rate

    @Test(
        "Audio flooded at 10× real time ends the session with audio_rate_exceeded and close 4413",
        arguments: ["assemblyai", "speechmatics"])
    func audioFlood(provider: String) async throws {
        let emulator = try makeEmulator()
        defer { emulator.shutdown() }
        var configuration = relayConfiguration(emulator: emulator)
        Self.defaultAudioRate(&configuration)
        let clock = ManualClock()
        let logs = LogRecorder()
        let relay = TranscriptionRelay(configuration: configuration, logger: logs.logger(), clock: clock)
        try await relay.application().test(.live) { client in
            let port = try #require(client.port)
            let (events, closure) = try await withTimeout(.seconds(20)) {
                let ws = try await RelayClient.connect(port: port, token: clientToken)
                try await ws.connection.send(text: #"{"type":"start","provider":"\#(provider)"}"#)
                // 10 s of audio in 100 ms messages while the clock moves 10 ms per message.
                for _ in 0..<100 {
                    do { try await ws.connection.send(binary: audio(seconds: 0.1)) } catch { break }
                    clock.advance(by: .milliseconds(10))
                }
                try? await ws.connection.send(text: #"{"type":"stop"}"#)
                return try await ws.readAll()
            }
            let error = events.first { $0.type == "error" }
            #expect(error?.code == "audio_rate_exceeded")
            #expect(error?.retryable == false)
            #expect(error?.message?.contains("1.25") == true, "\(error?.message ?? "")")
            #expect(closure?.peerCode == TranscriptionRelay.CloseCode.audioRateExceeded)
            #expect(logs.lines.contains { $0.contains("audio rate") })
            // The vendor got the burst and what the clock allowed, far from the 10 s sent.
            let record = try #require(await emulator.waitForSessions(count: 1).first)
            #expect(record.audioByteCount < 4 * 32000, "\(record.audioByteCount) bytes")
        }
        #expect(relay.activeSessions == 0)
    }

    @Test(
        "A burst within the allowance (1.9 s of audio at once) is relayed to the end",
        arguments: ["assemblyai", "speechmatics"])
    func burstWithinAllowance(provider: String) async throws {
        let emulator = try makeEmulator()
        defer { emulator.shutdown() }
        var configuration = relayConfiguration(emulator: emulator)
        Self.defaultAudioRate(&configuration)
        let relay = TranscriptionRelay(
            configuration: configuration, logger: LogRecorder().logger(), clock: ManualClock())
        try await relay.application().test(.live) { client in
            let port = try #require(client.port)
            let (events, closure) = try await withTimeout(.seconds(20)) {
                let ws = try await RelayClient.connect(port: port, token: clientToken)
                try await ws.connection.send(text: #"{"type":"start","provider":"\#(provider)"}"#)
                // The clock never moves: all of it arrives at the same instant.
                try await ws.send(audio: audio(seconds: 1.9))
                try await ws.connection.send(text: #"{"type":"stop"}"#)
                return try await ws.readAll()
            }
            #expect(!events.contains { $0.type == "error" }, "\(events.map(\.json))")
            #expect(events.last?.type == "terminated")
            #expect(closure?.peerCode == 1000)
        }
    }

    @Test(
        "The audio bucket: real time with a stall passes, 10× real time is cut off, the relay's own waits are not held against the client"
    )
    func audioBucket() {
        let perSecond = 32000
        func bucket() -> AudioRateLimit {
            AudioRateLimit(bytesPerSecond: perSecond, realTimeFactor: 1.25, burst: .seconds(2), now: .zero)
        }
        // 60 s at real time in 100 ms messages, with 1.5 s arriving at once after a stall at 20 s.
        var realTime = bucket()
        var admitted = 0
        for index in 0..<600 {
            let now: Duration = (185..<200).contains(index) ? .seconds(20) : .milliseconds(100 * index)
            if realTime.admit(3200, now: now) { admitted += 1 }
        }
        #expect(admitted == 600)
        // 10× real time: cut off after the burst, about 0.23 s in.
        var flood = bucket()
        let firstRefused = (0..<1000).first { !flood.admit(3200, now: .milliseconds(10 * $0)) }
        #expect(firstRefused == 23)
        // A long silence does not save up more than the burst.
        var idle = bucket()
        let afterIdle = (0..<1000).first { _ in !idle.admit(3200, now: .seconds(600)) }
        #expect(afterIdle == 20)
        // 3 s spent starting the vendor session: the 3 s of audio that piled up pass, then the
        // burst; no more.
        var waited = bucket()
        waited.relayWaited(from: .zero, to: .seconds(3))
        let afterWait = (0..<1000).first { _ in !waited.admit(3200, now: .seconds(3)) }
        #expect(afterWait == 20 + 38)
    }

    // MARK: - New sessions per minute

    @Test("30 session starts in a minute from one client: those above the cap are refused, minted tokens included")
    func newSessionsPerMinute() async throws {
        let emulator = try makeEmulator()
        defer { emulator.shutdown() }
        var configuration = relayConfiguration(emulator: emulator)
        configuration.maxSessionsPerClient = 30
        configuration.maxSessions = 40
        #expect(configuration.maxNewSessionsPerClientPerMinute == 10)
        let clock = ManualClock()
        let relay = TranscriptionRelay(configuration: configuration, logger: LogRecorder().logger(), clock: clock)
        try await relay.application().test(.live) { client in
            let port = try #require(client.port)
            var outcomes: [String] = []
            // 4 minted tokens, then 26 WebSocket sessions, each stopped at once.
            for _ in 0..<4 {
                let (status, reply, retryAfter) = try await Self.mint(client, token: clientToken)
                outcomes.append(
                    status == .ok ? "accepted" : "refused \(status.code) \(reply.code ?? "") \(retryAfter ?? "")")
            }
            for _ in 0..<26 {
                let (events, closure) = try await withTimeout {
                    try await Self.openAndStop(port: port, token: clientToken)
                }
                if events.isEmpty && closure?.peerCode == 1000 {
                    outcomes.append("accepted")
                } else {
                    outcomes.append("refused \(closure?.peerCode ?? 0) \(events.first?.code ?? "")")
                    #expect(events.first?.retryable == true)
                }
            }
            #expect(outcomes.filter { $0 == "accepted" }.count == 10, "\(outcomes)")
            #expect(outcomes.prefix(10).allSatisfy { $0 == "accepted" }, "\(outcomes)")
            #expect(outcomes.dropFirst(10).allSatisfy { $0 == "refused 4429 too_many_new_sessions" }, "\(outcomes)")

            // Minting is refused the same way now.
            let (status, reply, retryAfter) = try await Self.mint(client, token: clientToken)
            #expect(status == .tooManyRequests)
            #expect(reply.code == "too_many_new_sessions")
            #expect(reply.retryable == true)
            #expect(retryAfter != nil)
            // Another client is not affected.
            let other = try await withTimeout { try await Self.openAndStop(port: port, token: secondClientToken) }
            #expect(other.events.isEmpty && other.closure?.peerCode == 1000)
            // A minute later the client may start sessions again.
            clock.advance(by: .seconds(61))
            let later = try await withTimeout { try await Self.openAndStop(port: port, token: clientToken) }
            #expect(later.events.isEmpty && later.closure?.peerCode == 1000, "\(later.events.map(\.json))")
        }
    }

    // MARK: - Minted tokens

    @Test(
        "A minted token never outlives the duration cap: the vendor is asked for at most the cap",
        arguments: ["assemblyai", "speechmatics"])
    func mintedTokenCapped(provider: String) async throws {
        let emulator = try makeEmulator()
        defer { emulator.shutdown() }
        var configuration = relayConfiguration(emulator: emulator)
        configuration.maxSessionDuration = .seconds(120)
        configuration.temporaryTokenLifetime = 600
        configuration.maxSessionsPerClient = 10  // each minted token holds a slot
        let relay = TranscriptionRelay(configuration: configuration, logger: LogRecorder().logger())
        try await relay.application().test(.live) { client in
            for (requested, expected) in [(nil, 120), (3600, 120), (90, 90)] as [(Int?, Int)] {
                let query = "provider=\(provider)" + (requested.map { "&maxSessionDuration=\($0)" } ?? "")
                let (status, reply, _) = try await Self.mint(client, token: clientToken, query: query)
                #expect(status == .ok, "\(query)")
                #expect(reply.maxSessionDuration == expected, "\(query)")
                let request = try #require(emulator.tokenRequests.last)
                if provider == "assemblyai" {
                    #expect(request.maxSessionDurationSeconds == expected, "\(query)")
                    #expect(request.expiresInSeconds == 600, "\(query)")
                    #expect(reply.expiresIn == 600, "\(query)")
                } else {
                    // A Speechmatics key bounds the session by its ttl.
                    #expect(request.ttl == expected, "\(query)")
                    #expect(reply.expiresIn == expected, "\(query)")
                }
            }
        }
    }

    @Test("With a duration cap below the vendors' shortest token (60 s), no token is minted")
    func durationCapBelowVendorMinimum() async throws {
        let emulator = try makeEmulator()
        defer { emulator.shutdown() }
        var configuration = relayConfiguration(emulator: emulator)
        configuration.maxSessionDuration = .seconds(30)
        let relay = TranscriptionRelay(configuration: configuration, logger: LogRecorder().logger())
        try await relay.application().test(.live) { client in
            for provider in ["assemblyai", "speechmatics"] {
                let (status, reply, _) = try await Self.mint(client, token: clientToken, query: "provider=\(provider)")
                #expect(status == .forbidden, "\(provider)")
                #expect(reply.code == "token_duration_unsupported", "\(provider)")
            }
            #expect(emulator.tokenRequests.isEmpty)
        }
    }

    @Test("A minted token holds a session slot for its lifetime: minting and sessions beyond the limits are refused")
    func mintedTokensHoldSlots() async throws {
        let emulator = try makeEmulator()
        defer { emulator.shutdown() }
        var configuration = relayConfiguration(emulator: emulator)
        configuration.maxSessionsPerClient = 1
        configuration.maxSessions = 2
        configuration.maxSessionDuration = .seconds(120)
        configuration.temporaryTokenLifetime = 60
        let clock = ManualClock()
        let relay = TranscriptionRelay(configuration: configuration, logger: LogRecorder().logger(), clock: clock)
        try await relay.application().test(.live) { client in
            let port = try #require(client.port)
            // AssemblyAI: the token may wait 60 s, then its session last 120 s.
            #expect(try await Self.mint(client, token: clientToken).status == .ok)
            let again = try await Self.mint(client, token: clientToken, query: "provider=speechmatics")
            #expect(again.status == .tooManyRequests)
            #expect(again.reply.code == "too_many_sessions")
            #expect(again.reply.retryable == true)
            #expect(again.retryAfter != nil)
            let session = try await withTimeout { try await Self.openAndStop(port: port, token: clientToken) }
            #expect(session.events.first?.code == "too_many_sessions")
            #expect(session.closure?.peerCode == TranscriptionRelay.CloseCode.tooManySessions)

            // Speechmatics: the key's ttl (the token lifetime, 60 s, under the cap) bounds its session.
            #expect(try await Self.mint(client, token: secondClientToken, query: "provider=speechmatics").status == .ok)
            let third = try await Self.mint(client, token: thirdClientToken)
            #expect(third.status == .tooManyRequests)
            #expect(third.reply.code == "too_many_sessions")
            let thirdSession = try await withTimeout { try await Self.openAndStop(port: port, token: thirdClientToken) }
            #expect(thirdSession.closure?.peerCode == TranscriptionRelay.CloseCode.tooManySessions)
            #expect(emulator.tokenRequests.count == 2)
            #expect(relay.activeSessions == 0)

            // Just before the AssemblyAI token's slot frees, its client is still at its limit.
            clock.advance(by: .seconds(179))
            #expect(try await Self.mint(client, token: clientToken).status == .tooManyRequests)
            clock.advance(by: .seconds(2))
            #expect(try await Self.mint(client, token: clientToken).status == .ok)
            let freed = try await withTimeout { try await Self.openAndStop(port: port, token: thirdClientToken) }
            #expect(freed.events.isEmpty && freed.closure?.peerCode == 1000)
        }
    }
}
