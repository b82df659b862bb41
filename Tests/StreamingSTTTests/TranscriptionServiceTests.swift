import Logging
import ServiceLifecycle
import StreamingSTTSupport
import StreamingSTTTesting
import StreamingSTTWebSocket
import Testing

@testable import StreamingSTT

/// swift-service-lifecycle: a ``TranscriptionService`` in a `ServiceGroup` stops its open sessions
/// on graceful shutdown, with their finals delivered, within its bound, then shuts its loop down.
@Suite("TranscriptionService under ServiceGroup")
struct TranscriptionServiceTests {
    typealias Vendor = TranscriberFaultTests.Vendor

    static let quiet = Logger(label: "stt.test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// A session of `vendor` from `service`, started and sent `seconds` of audio (not stopped),
    /// and the task collecting its events.
    static func openSession(
        _ vendor: Vendor, service: TranscriptionService, emulator: TranscriptionEmulator, seconds: Double,
        configuration: StreamingTranscriber.Configuration = .init()
    ) async throws -> (StreamingTranscriber, Task<[TranscriptEvent], Never>) {
        let transcriber = await service.transcriber(
            provider: TranscriberFaultTests.provider(vendor, emulator), configuration: configuration)
        let events = Task {
            var all: [TranscriptEvent] = []
            for await event in transcriber.events { all.append(event) }
            return all
        }
        try await withTimeout {
            try await transcriber.start()
            for _ in 0..<Int((seconds * 10).rounded()) {
                try await transcriber.send(audio: [UInt8](repeating: 0, count: 3200))
            }
        }
        return (transcriber, events)
    }

    /// Runs `group` beside `body`; returns how long `run()` took after `body` returned.
    static func running(
        _ group: ServiceGroup, _ body: @escaping @Sendable () async throws -> Void
    ) async throws -> Duration {
        try await withThrowingTaskGroup(of: Duration?.self) { tasks in
            let shutdownAsked = Promise<ContinuousClock.Instant>()
            tasks.addTask {
                try await group.run()
                return ContinuousClock.now - (await shutdownAsked.value)
            }
            tasks.addTask {
                try await body()
                shutdownAsked.fulfill(.now)
                await group.triggerGracefulShutdown()
                return nil
            }
            var took: Duration?
            for try await result in tasks { took = took ?? result }
            return try #require(took)
        }
    }

    @Test("graceful shutdown: both open sessions stopped, every final delivered, terminated, within the bound")
    func gracefulShutdown() async throws {
        let emulator = try TranscriptionEmulator(
            configuration: .init(
                script: TranscriberFaultTests.script,
                assemblyAI: .init(enforceRealTime: false, terminationDelay: .milliseconds(20))))
        defer { emulator.shutdown() }
        let loop = try await offThePool { try WebSocketEventLoop() }
        let service = TranscriptionService(eventLoop: loop, shutdownTimeout: .seconds(30), logger: Self.quiet)
        let group = ServiceGroup(services: [service], logger: Self.quiet)
        let sessions = LockedBox<[(Vendor, StreamingTranscriber, Task<[TranscriptEvent], Never>)]>([])
        let took = try await withTimeout(.seconds(60)) {
            try await Self.running(group) {
                for vendor in Vendor.allCases {
                    let (transcriber, events) = try await Self.openSession(
                        vendor, service: service, emulator: emulator, seconds: 3)
                    sessions.mutate { $0.append((vendor, transcriber, events)) }
                }
                #expect(await service.openSessionCount == 2)
            }
        }
        #expect(took < .seconds(30))
        let records = await emulator.waitForSessions(count: 2)
        for (vendor, transcriber, eventsTask) in sessions.value {
            let events = try await withTimeout { await eventsTask.value }
            let finals = events.compactMap { if case .final(let t) = $0 { t.text } else { nil } }
            let record = try #require(records.first { ($0.vendor == .assemblyAI) == (vendor == .assemblyAI) })
            #expect(!finals.isEmpty)
            #expect(finals.joined(separator: " ") == record.transcript, "\(vendor)")
            guard case .terminated(let summary) = events.last else {
                Issue.record("\(vendor): the last event is \(String(describing: events.last))")
                continue
            }
            #expect(summary.audioDuration >= 2.9)
            // The session was stopped by the service: stopping it again returns the same end.
            #expect(try await transcriber.stop().finalCount == summary.finalCount)
        }
        #expect(records.allSatisfy { $0.ended && $0.violations.isEmpty })
        #expect(await service.openSessionCount == 0)
        #expect(loop.connectionCount == 0)
    }

    @Test("a service that never ends its sessions: the bound holds, each session ends with a typed timeout")
    func boundHonoured() async throws {
        let emulator = try TranscriptionEmulator(
            configuration: .init(
                script: TranscriberFaultTests.script,
                assemblyAI: .init(enforceRealTime: false, terminationDelay: .milliseconds(20)),
                faults: { _ in [.neverSendFinalMessage] }))
        defer { emulator.shutdown() }
        let loop = try await offThePool { try WebSocketEventLoop() }
        let bound = Duration.milliseconds(700)
        let service = TranscriptionService(eventLoop: loop, shutdownTimeout: bound, logger: Self.quiet)
        let group = ServiceGroup(services: [service], logger: Self.quiet)
        let sessions = LockedBox<[(StreamingTranscriber, Task<[TranscriptEvent], Never>)]>([])
        let configuration = StreamingTranscriber.Configuration(stopTimeout: .seconds(60))
        let took = try await withTimeout(.seconds(30)) {
            try await Self.running(group) {
                for vendor in Vendor.allCases {
                    let (transcriber, events) = try await Self.openSession(
                        vendor, service: service, emulator: emulator, seconds: 1, configuration: configuration)
                    sessions.mutate { $0.append((transcriber, events)) }
                }
            }
        }
        #expect(took >= bound)
        #expect(took < bound + .seconds(5))
        for (transcriber, eventsTask) in sessions.value {
            let events = try await withTimeout { await eventsTask.value }
            guard case .error(let error) = events.last else {
                Issue.record("the last event is \(String(describing: events.last))")
                continue
            }
            #expect(error.code == .timeout)
            #expect(error.reason.contains("shut"))
            await #expect(throws: TranscriptionError.self) { try await transcriber.stop() }
        }
        #expect(loop.connectionCount == 0)
    }

    @Test("a session asked for once the shutdown has begun is refused")
    func refusedAfterShutdown() async throws {
        let emulator = try TranscriptionEmulator()
        defer { emulator.shutdown() }
        let service = TranscriptionService(logger: Self.quiet)
        let group = ServiceGroup(services: [service], logger: Self.quiet)
        _ = try await withTimeout { try await Self.running(group) {} }
        let late = await service.transcriber(provider: TranscriberFaultTests.provider(.assemblyAI, emulator))
        let error = await transcriptionFailure { try await late.start() }
        #expect(error?.code == .cancelled)
    }
}
