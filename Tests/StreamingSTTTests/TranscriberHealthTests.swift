import Foundation
import StreamingSTTSupport
import StreamingSTTTesting
import Testing

@testable import StreamingSTT

/// Session health against the emulator, for both vendors: the connection state as a property and
/// as a sequence (through a reconnection too), the session statistics read mid-session and in the
/// summary, and the transcript-lag warning.
@Suite("StreamingTranscriber session health")
struct TranscriberHealthTests {
    typealias Vendor = TranscriberFaultTests.Vendor

    /// Two words a sentence, then 0.45 s of silence: sentences end at 0.5, 1.4, 2.3, 3.2 and 4.1 s,
    /// and AssemblyAI ends each turn 0.4 s (`min_turn_silence`) later.
    static let script = EmulatorScript(
        text: String(repeating: "one two. ", count: 5), startingAt: 0.05, wordDuration: 0.2, gap: 0.05,
        sentenceGap: 0.45)
    static let piece = [UInt8](repeating: 0, count: 3200)  // 100 ms of 16 kHz s16le

    static func emulator(
        _ speechmatics: SpeechmaticsBehaviour = .init(closeGrace: .milliseconds(100)),
        faults: @escaping @Sendable (EmulatorSessionInfo) -> [EmulatorFault] = { _ in [] }
    ) throws -> TranscriptionEmulator {
        try TranscriptionEmulator(
            configuration: .init(
                script: script, assemblyAI: .init(enforceRealTime: false, terminationDelay: .milliseconds(20)),
                speechmatics: speechmatics, faults: faults))
    }

    static func configuration(
        reconnection: ReconnectionPolicy? = nil, lagWarning: Duration? = nil
    ) -> StreamingTranscriber.Configuration {
        var configuration = StreamingTranscriber.Configuration(
            startTimeout: .seconds(10), stopTimeout: .seconds(10), reconnection: reconnection)
        configuration.transcriptLagWarning = lagWarning
        return configuration
    }

    /// Collects every event and every connection state until the session ends.
    struct Collectors {
        let events: Task<[TranscriptEvent], Never>
        let states: Task<[ConnectionState], Never>

        init(_ transcriber: StreamingTranscriber, onEvent: @escaping @Sendable (TranscriptEvent) -> Void = { _ in }) {
            let stream = transcriber.connectionStates  // subscribed now: it starts with the current state
            states = Task {
                var all: [ConnectionState] = []
                for await state in stream { all.append(state) }
                return all
            }
            events = Task {
                var all: [TranscriptEvent] = []
                for await event in transcriber.events {
                    onEvent(event)
                    all.append(event)
                }
                return all
            }
        }
    }

    /// `states` are in the order of `expected`, each at most once (a slow reader may miss some).
    static func expectInOrder(_ states: [ConnectionState], _ expected: [ConnectionState]) {
        var rest = expected[...]
        for state in states {
            guard let index = rest.firstIndex(of: state) else {
                Issue.record("\(state) out of order in \(states)")
                return
            }
            rest = rest[(index + 1)...]
        }
    }

    @Test(
        "the connection state: a property, and a sequence that starts with the current state",
        arguments: Vendor.allCases)
    func connectionState(vendor: Vendor) async throws {
        let emulator = try Self.emulator()
        defer { emulator.shutdown() }
        let transcriber = StreamingTranscriber(
            provider: TranscriberFaultTests.provider(vendor, emulator), configuration: Self.configuration())
        #expect(transcriber.connectionState == .idle)
        let collectors = Collectors(transcriber)
        let summary = try await withTimeout(.seconds(20), "the session") {
            try await transcriber.start()
            #expect(transcriber.connectionState == .open)
            // A late subscriber is given the current state first.
            var late = transcriber.connectionStates.makeAsyncIterator()
            #expect(await late.next() == .open)
            for _ in 0..<10 { try await transcriber.send(audio: Self.piece) }
            return try await transcriber.stop()
        }
        #expect(summary.finalCount > 0)
        #expect(transcriber.connectionState == .ended(nil))
        let states = try await withTimeout { await collectors.states.value }
        #expect(states.first == .idle)
        #expect(states.last == .ended(nil))
        #expect(states.contains(.open))
        Self.expectInOrder(states, [.idle, .connecting, .open, .stopping, .ended(nil)])
        // After the end: the last state, and the sequence finishes.
        let after = try await withTimeout {
            await transcriber.connectionStates.reduce(into: [ConnectionState]()) { $0.append($1) }
        }
        #expect(after == [.ended(nil)])
        _ = await collectors.events.value
    }

    @Test("a failure ends the states with its error", arguments: Vendor.allCases)
    func failedState(vendor: Vendor) async throws {
        let emulator = try Self.emulator { _ in [.vendorError(afterAudioChunks: 5)] }
        defer { emulator.shutdown() }
        let transcriber = StreamingTranscriber(
            provider: TranscriberFaultTests.provider(vendor, emulator), configuration: Self.configuration())
        let collectors = Collectors(transcriber)
        try await withTimeout(.seconds(20), "the session") {
            try await transcriber.start()
            for _ in 0..<20 { try? await transcriber.send(audio: Self.piece) }
            _ = try? await transcriber.stop()
        }
        let states = try await withTimeout { await collectors.states.value }
        guard case .ended(let error?) = states.last else {
            Issue.record("\(states)")
            return
        }
        #expect(error.code == .vendorError)
        #expect(transcriber.connectionState == .ended(error))
        _ = await collectors.events.value
    }

    @Test(
        "a reconnection: reconnecting, then open again; the statistics count it", arguments: Vendor.allCases)
    func reconnection(vendor: Vendor) async throws {
        let emulator = try Self.emulator { info in info.index == 0 ? [.dropConnection(afterAudioChunks: 10)] : [] }
        defer { emulator.shutdown() }
        // A long first delay: the reconnecting state lasts long enough for the reader to see it.
        let policy = ReconnectionPolicy(initialDelay: .milliseconds(400), maxDelay: .seconds(1), jitter: 0)
        let transcriber = StreamingTranscriber(
            provider: TranscriberFaultTests.provider(vendor, emulator),
            configuration: Self.configuration(reconnection: policy))
        let reconnected = Promise<Void>()
        let collectors = Collectors(transcriber) { if case .reconnected = $0 { reconnected.fulfill(()) } }
        let summary = try await withTimeout(.seconds(30), "the session") {
            try await transcriber.start()
            for _ in 0..<30 { try await transcriber.send(audio: Self.piece) }
            await reconnected.value
            #expect(transcriber.connectionState == .open)
            return try await transcriber.stop()
        }
        let states = try await withTimeout { await collectors.states.value }
        #expect(states.contains(.reconnecting(attempt: 1)), "\(states)")
        Self.expectInOrder(
            states, [.idle, .connecting, .open, .reconnecting(attempt: 1), .open, .stopping, .ended(nil)])
        #expect(states.last == .ended(nil))
        #expect(summary.sessionCount == 2)
        #expect(summary.statistics.reconnections == 1)
        #expect(summary.statistics.rollovers == 0)
        #expect(summary.statistics.lostAudioSeconds == 0)
        #expect(abs(summary.statistics.audioSecondsSent - 3.0) < 1e-9)
        _ = await collectors.events.value
    }

    @Test(
        "statistics: read mid-session and in the summary, with the values the script implies",
        arguments: Vendor.allCases)
    func statistics(vendor: Vendor) async throws {
        let emulator = try Self.emulator()
        defer { emulator.shutdown() }
        let transcriber = StreamingTranscriber(
            provider: TranscriberFaultTests.provider(vendor, emulator), configuration: Self.configuration())
        let collectors = Collectors(transcriber)
        let clock = ContinuousClock()
        let began = clock.now
        let (midway, summary) = try await withTimeout(.seconds(20), "the session") {
            try await transcriber.start()
            let before = await transcriber.statistics
            #expect(before.audioSecondsSent == 0)
            #expect(before.timeToFirstPartial == nil)
            for _ in 0..<20 { try await transcriber.send(audio: Self.piece) }
            let midway = await transcriber.statistics
            for _ in 0..<20 { try await transcriber.send(audio: Self.piece) }
            return (midway, try await transcriber.stop())
        }
        // The durations are timings: within the session, whatever the machine's load (their
        // arithmetic is table-tested in SessionHealthTests).
        let session = clock.now - began
        let events = try await withTimeout { await collectors.events.value }
        let finals = events.compactMap { if case .final(let t) = $0 { t } else { nil } }
        let partials = events.filter { if case .partial = $0 { true } else { false } }
        // 20 of 40 pieces of 100 ms had gone midway (the last chunk may be held back to merge a tail).
        #expect(midway.audioSecondsSent >= 1.9 && midway.audioSecondsSent <= 2.0, "\(midway.audioSecondsSent)")
        let stats = summary.statistics
        #expect(abs(stats.audioSecondsSent - 4.0) < 1e-9, "\(stats.audioSecondsSent)")
        #expect(stats.finalCount == finals.count)
        #expect(stats.finalCount == summary.finalCount)
        #expect(stats.partialCount == partials.count)
        #expect(!finals.isEmpty)
        // The lag is the audio sent past the newest final's end; the script has speech to the end.
        let ends = finals.map(\.end)
        let newest = try #require(ends.max())
        #expect(abs(stats.transcriptLag - (4.0 - newest)) < 1e-9)
        #expect(stats.transcriptLag < 1.0)
        #expect(stats.maxTranscriptLag >= stats.transcriptLag)
        #expect(stats.maxTranscriptLag <= 4.0)
        let firstFinal = try #require(stats.timeToFirstFinal)
        #expect(firstFinal > .zero && firstFinal < session)
        if !partials.isEmpty {
            let firstPartial = try #require(stats.timeToFirstPartial)
            #expect(firstPartial > .zero && firstPartial <= firstFinal)
        }
        let latency = try #require(stats.receiveToEventLatency)
        #expect(latency >= .zero && latency < session)
        #expect(try #require(stats.maxReceiveToEventLatency) >= latency && stats.maxReceiveToEventLatency! < session)
        #expect(try #require(stats.meanReceiveToEventLatency) <= stats.maxReceiveToEventLatency!)
        #expect(try #require(stats.lastMessageAge) < session)
        #expect(stats.reconnections == 0)
        #expect(stats.lostAudioSeconds == 0)
        switch vendor {
        case .speechmatics: #expect(stats.audioSecondsAcknowledged.map { abs($0 - 4.0) < 1e-9 } == true)
        case .assemblyAI: #expect(stats.audioSecondsAcknowledged == nil)
        }
        #expect(await transcriber.statistics.finalCount == stats.finalCount)
    }

    @Test("the ping round trip: measured once the service answered a keepalive ping", arguments: Vendor.allCases)
    func pingRoundTrip(vendor: Vendor) async throws {
        let emulator = try Self.emulator()
        defer { emulator.shutdown() }
        var configuration = Self.configuration()
        configuration.keepalive = .enabled(pingInterval: .milliseconds(20), pongTimeout: .seconds(5))
        let transcriber = StreamingTranscriber(
            provider: TranscriberFaultTests.provider(vendor, emulator), configuration: configuration)
        let collectors = Collectors(transcriber)
        let summary = try await withTimeout(.seconds(20), "the session") {
            try await transcriber.start()
            // Audio goes out in real time, as from a live source, until the first pong has come
            // back (a ping every 20 ms: usually after the first piece). Keepalive runs on the wall
            // clock: real-time pacing is the behaviour under test here, not a wait.
            let clock = ContinuousClock()
            let began = clock.now
            var sent = 0
            while await transcriber.statistics.pingRoundTrip == nil, sent < 100 {
                try await Task.sleep(until: began + .milliseconds(100 * sent), clock: clock)
                try await transcriber.send(audio: Self.piece)
                sent += 1
            }
            return try await transcriber.stop()
        }
        let roundTrip = try #require(summary.statistics.pingRoundTrip, "no pong within 10 s")
        // A round trip longer than the pong timeout would have failed the session.
        #expect(roundTrip > .zero && roundTrip < .seconds(5))
        _ = await collectors.events.value
    }

    @Test("no ping round trip without keepalive")
    func noPingRoundTrip() async throws {
        let emulator = try Self.emulator()
        defer { emulator.shutdown() }
        var configuration = Self.configuration()
        configuration.keepalive = .disabled
        let transcriber = StreamingTranscriber(
            provider: TranscriberFaultTests.provider(.assemblyAI, emulator), configuration: configuration)
        let collectors = Collectors(transcriber)
        let summary = try await withTimeout(.seconds(20), "the session") {
            try await transcriber.start()
            for _ in 0..<10 { try await transcriber.send(audio: Self.piece) }
            return try await transcriber.stop()
        }
        #expect(summary.statistics.pingRoundTrip == nil)
        _ = await collectors.events.value
    }

    @Test("the lag warning: once per excursion above the bound, again after the finals caught up")
    func lagWarning() async throws {
        // Every reply comes 0.3 s late. A burst of 2 s of audio goes 1 s ahead of the transcript
        // before any final can arrive (a warning); the turns ending at 0.5 and 1.4 s bring it
        // back to about 0.6 s (re-armed); 2 s more go above the bound again (a second warning);
        // the turns ending at 2.3 and 3.2 s bring it back to about 0.8 s.
        let emulator = try Self.emulator { _ in [.delayReplies(.milliseconds(300))] }
        defer { emulator.shutdown() }
        let transcriber = StreamingTranscriber(
            provider: TranscriberFaultTests.provider(.assemblyAI, emulator),
            configuration: Self.configuration(lagWarning: .seconds(1)))
        let caughtUp = Promise<Void>()
        let collectors = Collectors(transcriber) { event in
            if case .final(let transcript) = event, transcript.end >= 1.4 { caughtUp.fulfill(()) }
        }
        let summary = try await withTimeout(.seconds(20), "the session") {
            try await transcriber.start()
            for _ in 0..<20 { try await transcriber.send(audio: Self.piece) }
            await caughtUp.value
            let stats = await transcriber.statistics
            // The last 50 ms chunk may be held back to merge a short tail (AssemblyAI).
            #expect(stats.audioSecondsSent >= 1.95 && stats.audioSecondsSent <= 2.0, "\(stats)")
            #expect(abs(stats.transcriptLag - (stats.audioSecondsSent - 1.4)) < 1e-9, "\(stats)")
            for _ in 0..<20 { try await transcriber.send(audio: Self.piece) }
            return try await transcriber.stop()
        }
        let events = try await withTimeout { await collectors.events.value }
        let warnings = events.compactMap { if case .lagging(let lag) = $0 { lag } else { nil } }
        #expect(warnings.count == 2, "\(warnings)")
        for warning in warnings {
            #expect(warning.lag > 1.0 && warning.lag <= 1.1, "warned as soon as the lag went above the bound")
            #expect(warning.bound == 1.0)
        }
        #expect(warnings.map(\.transcribedUntil) == [0, 1.4])
        // The first warning came before the finals that ended its excursion.
        let warned = events.firstIndex { if case .lagging = $0 { true } else { false } }
        let final = events.firstIndex { if case .final = $0 { true } else { false } }
        #expect(warned != nil && final != nil && warned! < final!)
        #expect(summary.statistics.maxTranscriptLag >= 2.0 - 1e-9)  // 2 s sent before any final
    }

    @Test("no lag warning without a bound, or below it", arguments: Vendor.allCases, [nil, 10] as [Int?])
    func noLagWarning(vendor: Vendor, bound: Int?) async throws {
        let emulator = try Self.emulator()
        defer { emulator.shutdown() }
        let transcriber = StreamingTranscriber(
            provider: TranscriberFaultTests.provider(vendor, emulator),
            configuration: Self.configuration(lagWarning: bound.map { .seconds($0) }))
        let collectors = Collectors(transcriber)
        let summary = try await withTimeout(.seconds(20), "the session") {
            try await transcriber.start()
            for _ in 0..<30 { try await transcriber.send(audio: Self.piece) }
            return try await transcriber.stop()
        }
        let events = try await withTimeout { await collectors.events.value }
        #expect(!events.contains { if case .lagging = $0 { true } else { false } })
        #expect(summary.statistics.maxTranscriptLag > 0)
    }
}
