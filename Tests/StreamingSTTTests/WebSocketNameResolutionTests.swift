import Dispatch
import StreamingSTT
import StreamingSTTSupport
import StreamingSTTTesting
import StreamingSTTWebSocket
import Testing

/// Blocks the lookups of an injected resolver until it is opened (once, for every waiter).
private final class Gate: Sendable {
    private let group = DispatchGroup()
    private let opened = LockedState(false)

    init() { group.enter() }

    /// Blocks the calling thread until ``open()``.
    func wait() { group.wait() }

    func open() {
        let first = opened.withLock { opened in
            defer { opened = true }
            return !opened
        }
        if first { group.leave() }
    }
}

/// Counts the lookups running at once.
private final class LookupCounter: Sendable {
    private let state = LockedState((running: 0, peak: 0, started: 0))

    func enter() {
        state.withLock { state in
            state.running += 1
            state.started += 1
            state.peak = max(state.peak, state.running)
        }
    }

    func leave() { state.withLock { $0.running -= 1 } }

    var peak: Int { state.withLock { $0.peak } }
    var started: Int { state.withLock { $0.started } }
}

@Suite("Name resolution and connecting to every address")
struct WebSocketNameResolutionTests {
    /// How long a test lets a hung lookup block before opening its gate: far past the deadlines
    /// under test, so that a resolver that waits for the lookup fails the test instead of hanging it.
    static let bound: Duration = .seconds(20)
    /// What "returned at the deadline" means under sanitizers on a loaded machine: well under ``bound``.
    static let late: Duration = .seconds(10)

    /// An address whose TCP connect fails at once: the kernel refuses TCP to a multicast address
    /// (ENETUNREACH), whatever the port.
    static let unreachable = "224.0.0.1"

    /// Runs `body` while a child task opens `gate` after ``bound``; returns `body`'s result and
    /// how long it took.
    private static func measure<T: Sendable>(
        opening gate: Gate, _ body: @escaping @Sendable () async -> T
    ) async -> (T, Duration) {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                try? await Task.sleep(for: bound)
                gate.open()
            }
            let clock = ContinuousClock()
            let start = clock.now
            let value = await body()
            let elapsed = clock.now - start
            group.cancelAll()
            gate.open()
            return (value, elapsed)
        }
    }

    /// A configuration whose host names are looked up by `lookup`.
    private static func configuration(
        connectTimeout: Duration, lookup: @escaping HostResolver.Lookup
    ) -> WebSocketConfiguration {
        var configuration = WebSocketConfiguration(connectTimeout: connectTimeout)
        configuration.resolver = HostResolver(lookup: lookup)
        return configuration
    }

    @Test("a lookup that never returns: connect fails with connectTimeout at its deadline")
    func hungLookupWebSocket() async throws {
        let gate = Gate()
        let configuration = Self.configuration(connectTimeout: .milliseconds(300)) { _ in
            gate.wait()
            return .failure(WebSocketError(.dnsFailure, detail: "released by the test"))
        }
        let (error, elapsed) = await Self.measure(opening: gate) {
            await failure {
                _ = try await WebSocketConnection.connect(to: "ws://stt.test:9/", configuration: configuration)
            }
        }
        #expect(error?.code == .connectTimeout)
        #expect(elapsed >= .milliseconds(250))
        #expect(elapsed < Self.late, "connect returned after \(elapsed), its deadline was 300 ms")
    }

    @Test("a lookup that never returns: a token request fails with connectTimeout at its deadline")
    func hungLookupHTTP() async throws {
        let gate = Gate()
        let resolver = HostResolver { _ in
            gate.wait()
            return .failure(WebSocketError(.dnsFailure, detail: "released by the test"))
        }
        let (error, elapsed) = await Self.measure(opening: gate) {
            await failure {
                _ = try await HTTPClient.send(
                    "POST", url: "http://stt.test:9/v1/token", timeout: .milliseconds(300), resolver: resolver)
            }
        }
        #expect(error?.code == .connectTimeout)
        #expect(elapsed >= .milliseconds(250))
        #expect(elapsed < Self.late, "the request returned after \(elapsed), its deadline was 300 ms")
    }

    @Test("at most 4 lookups block threads at once; the queued ones still fail at their deadlines")
    func boundedLookups() async throws {
        let gate = Gate()
        let counter = LookupCounter()
        let resolver = HostResolver(maxConcurrentLookups: 4) { _ in
            counter.enter()
            defer { counter.leave() }
            gate.wait()
            return .failure(WebSocketError(.dnsFailure, detail: "released by the test"))
        }
        let lookups = 10
        let (outcomes, elapsed) = await Self.measure(opening: gate) {
            await withTaskGroup(of: WebSocketError?.self) { group in
                for index in 0..<lookups {
                    group.addTask {
                        await failure {
                            _ = try await resolver.resolve("host\(index).test", deadline: .now + .seconds(2))
                        }
                    }
                }
                var outcomes: [WebSocketError?] = []
                for await outcome in group { outcomes.append(outcome) }
                return outcomes
            }
        }
        #expect(outcomes.count == lookups)
        #expect(outcomes.allSatisfy { $0?.code == .connectTimeout }, "\(outcomes)")
        #expect(elapsed < Self.late, "the lookups returned after \(elapsed), their deadline was 2 s")
        #expect(counter.peak <= 4, "\(counter.peak) lookups ran at once")
        #expect(counter.peak == 4, "\(counter.peak) lookups ran at once")
    }

    @Test("a numeric host is never looked up")
    func numericHost() async throws {
        let counter = LookupCounter()
        let resolver = HostResolver { _ in
            counter.enter()
            defer { counter.leave() }
            return .failure(WebSocketError(.dnsFailure))
        }
        let v4 = try await resolver.resolve("127.0.0.1", deadline: .now + .seconds(5))
        let v6 = try await resolver.resolve("::1", deadline: .now + .seconds(5))
        #expect(v4 == ["127.0.0.1"])
        #expect(v6 == ["::1"])
        #expect(counter.started == 0)
    }

    @Test(
        "the first address refuses, the second accepts: the connection works, over ws and wss",
        arguments: [false, true])
    func secondAddressWins(secure: Bool) async throws {
        let authority = try await offThePool { try TestCertificateAuthority.generate(names: ["stt.test"]) }
        let server = try TestWebSocketServer(tls: secure ? authority : nil) { connection in
            try await connection.send(.text("host=\(connection.handshake.header("host") ?? "-")"))
            await TestWebSocketServer.echo(connection)
        }
        defer { server.shutdown() }
        let configuration = trusting(authority) {
            $0.resolver = HostResolver { host in
                host == "stt.test" ? .success([Self.unreachable, "127.0.0.1"]) : .failure(WebSocketError(.dnsFailure))
            }
        }
        let scheme = secure ? "wss" : "ws"
        let replies = try await withTimeout {
            try await WebSocketConnection.withConnection(
                to: "\(scheme)://stt.test:\(server.port)/echo", configuration: configuration
            ) { connection in
                try await connection.send(text: "hello")
                var replies: [WebSocketMessage] = []
                for try await message in connection.messages {
                    replies.append(message)
                    if replies.count == 2 { break }
                }
                return replies
            }
        }
        #expect(replies == [.text("host=stt.test"), .text("hello")])
    }

    @Test("a token request whose first address refuses is sent to the second, once")
    func secondAddressWinsHTTP() async throws {
        let requests = LookupCounter()
        let server = try TestWebSocketServer(
            httpHandler: .init { request in
                requests.enter()
                return .init(status: 200, body: Array("host=\(request.header("host") ?? "-")".utf8))
            })
        defer { server.shutdown() }
        let resolver = HostResolver { host in
            host == "stt.test" ? .success([Self.unreachable, "127.0.0.1"]) : .failure(WebSocketError(.dnsFailure))
        }
        let response = try await withTimeout {
            try await HTTPClient.send("POST", url: "http://stt.test:\(server.port)/v1/token", resolver: resolver)
        }
        #expect(response.status == 200)
        #expect(String(decoding: response.body, as: UTF8.self) == "host=stt.test")
        #expect(requests.started == 1)
    }

    @Test("every address refuses: connectionRefused")
    func everyAddressRefuses() async throws {
        let closedPort = try ClosedPort()
        defer { closedPort.close() }
        let configuration = Self.configuration(connectTimeout: .seconds(10)) { _ in
            .success([Self.unreachable, "127.0.0.1", "255.255.255.255"])
        }
        let error = try await withTimeout {
            await failure {
                _ = try await WebSocketConnection.connect(
                    to: "ws://stt.test:\(closedPort.port)/", configuration: configuration)
            }
        }
        #expect(error?.code == .connectionRefused)
    }

    @Test("an address that accepts TCP and never answers: no further address is tried, connectTimeout at the deadline")
    func reachedPeerIsFinal() async throws {
        let listener = try SilentListener()
        defer { listener.close() }
        let (logger, lines) = RecordingLogHandler.logger()
        // An attempt delay long enough for the first attempt to reach its server on a loaded
        // machine (it takes milliseconds; with two sanitized test runs beside this one, the
        // lookup and the first attempt together once took over 4 s), and a deadline well after it.
        var settings = Self.configuration(connectTimeout: .seconds(8)) { _ in
            .success(["127.0.0.1", "::1"])
        }
        settings.connectionAttemptDelay = .seconds(4)
        let configuration = settings
        let clock = ContinuousClock()
        let start = clock.now
        let error = try await withTimeout {
            await failure {
                _ = try await WebSocketConnection.connect(
                    to: "ws://stt.test:\(listener.port)/", configuration: configuration, logger: logger)
            }
        }
        let elapsed = clock.now - start
        let attempts = lines.all.filter { $0.contains("websocket connecting") }
        #expect(error?.code == .connectTimeout)
        #expect(elapsed >= .milliseconds(7900))
        #expect(attempts.count == 1, "\(attempts)")
        #expect(attempts.first?.contains("127.0.0.1") == true)
    }
}
