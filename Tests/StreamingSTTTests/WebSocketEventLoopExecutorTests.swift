import StreamingSTTTesting
import StreamingSTTWebSocket
import Testing

@testable import StreamingSTT

/// An actor the tests call from tasks that prefer a loop (default actors run there too).
private actor Counter {
    var value = 0
    func increment(on loop: WebSocketEventLoop) -> Bool {
        value += 1
        return loop.isServiceThread
    }
}

@Suite("WebSocket transport: the event loop as a task executor")
struct WebSocketEventLoopExecutorTests {
    @Test("a task that prefers a loop runs on its service thread, and so do the default actors it calls")
    func runsOnTheServiceThread() async throws {
        let loop = try WebSocketEventLoop()
        defer { loop.shutdown() }
        let counter = Counter()
        let (onLoop, actorOnLoop, childOnLoop) = try await withTimeout {
            try await Task(executorPreference: loop) {
                let onLoop = loop.isServiceThread
                let actorOnLoop = await counter.increment(on: loop)
                async let child = loop.isServiceThread  // structured children inherit the preference
                return (onLoop, actorOnLoop, await child)
            }.value
        }
        #expect(onLoop && actorOnLoop && childOnLoop)
        #expect(!loop.isServiceThread)
        #expect(await counter.value == 1)
    }

    @Test("messages sent and received by a task on the loop's own thread, over ws and wss", arguments: [false, true])
    func echoOnTheLoop(secure: Bool) async throws {
        let server = try TestWebSocketServer(tls: secure ? sharedAuthority : nil)
        defer { server.shutdown() }
        let loop = try WebSocketEventLoop()
        defer { loop.shutdown() }
        let configuration = {
            var configuration = trusting(sharedAuthority)
            configuration.maxQueuedOutboundBytes = 64 * 1024  // the sender waits for the socket now and then
            return configuration
        }()
        let received = try await withTimeout {
            try await withTaskExecutorPreference(loop) {
                let connection = try await WebSocketConnection.connect(
                    to: server.url(path: "/echo"), configuration: configuration, eventLoop: loop)
                let sent = (0..<300).map { WebSocketMessage.binary([UInt8](repeating: UInt8($0 & 0xFF), count: 1600)) }
                async let echoed: [WebSocketMessage] = {
                    var received: [WebSocketMessage] = []
                    for try await message in connection.messages {
                        received.append(message)
                        if received.count == sent.count { break }
                    }
                    return received
                }()
                for message in sent { try await connection.send(message) }
                let received = try await echoed
                #expect(loop.isServiceThread)
                await connection.close()
                return received == sent
            }
        }
        #expect(received)
    }

    @Test("whole sessions of both vendors with every task on the loop's thread", arguments: [false, true])
    func sessionsOnTheLoop(speechmatics: Bool) async throws {
        let emulator = try TranscriberEmulatorTests.emulator(secure: true)
        defer { emulator.shutdown() }
        let loop = try WebSocketEventLoop()
        defer { loop.shutdown() }
        var configuration = TranscriberEmulatorTests.configuration()
        configuration.eventLoop = loop
        let provider: StreamingTranscriber.Provider =
            speechmatics
            ? .speechmatics(
                Speechmatics(
                    credentials: .apiKey("emulator-key"), language: "en", endpoint: .custom(emulator.speechmaticsURL)))
            : .assemblyAI(
                AssemblyAI(
                    credentials: .apiKey("emulator-key"), speechModel: .u3RealtimePro,
                    endpoint: .custom(emulator.assemblyAIURL)))
        let transcriber = StreamingTranscriber(provider: provider, configuration: configuration)
        let audio = TranscriberEmulatorTests.audio(seconds: TranscriberEmulatorTests.script.duration + 1.5)
        let (events, summary) = try await withTaskExecutorPreference(loop) {
            try await TranscriberEmulatorTests.run(transcriber, audio: audio, readerExecutor: loop)
        }
        let finals = TranscriberEmulatorTests.finals(events)
        #expect(finals.map(\.text).joined(separator: " ") == TranscriberEmulatorTests.script.transcript)
        #expect(summary.finalCount == finals.count)
        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(record.violations.isEmpty, "\(record.violations)")
        #expect(record.audio == audio)
    }

    @Test("shutting the loop down while a task prefers it: the task goes on, on the global executor")
    func shutdownStrandsNoTask() async throws {
        let loop = try WebSocketEventLoop()
        let gate = Promise<Void>()
        let started = Promise<Bool>()
        let task = Task(executorPreference: loop) { () -> Bool in
            started.fulfill(loop.isServiceThread)
            await gate.value
            return loop.isServiceThread
        }
        #expect(try await withTimeout { await started.value })
        loop.shutdown()
        gate.fulfill(())
        let onLoopAfterShutdown = try await withTimeout { await task.value }
        #expect(!onLoopAfterShutdown)
        // New tasks that prefer the loop still run.
        #expect(try await withTimeout { await Task(executorPreference: loop) { 42 }.value } == 42)
    }

    @Test("shutdown() called from a task on the loop's own thread does not wait for itself")
    func shutdownFromTheLoop() async throws {
        let loop = try WebSocketEventLoop()
        let (wasOnLoop, isOnLoopAfter) = try await withTimeout {
            await Task(executorPreference: loop) { () -> (Bool, Bool) in
                let wasOnLoop = loop.isServiceThread
                loop.shutdown()
                await Task.yield()  // re-enqueued: the stopped loop sends it to the global executor
                return (wasOnLoop, loop.isServiceThread)
            }.value
        }
        #expect(wasOnLoop && !isOnLoopAfter)
        #expect(loop.connectionCount == 0)
    }
}
