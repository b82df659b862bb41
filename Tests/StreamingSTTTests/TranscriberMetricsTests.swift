import CoreMetrics
import MetricsTestKit
import StreamingSTTSupport
import StreamingSTTTesting
import Testing

@testable import StreamingSTT
@testable import StreamingSTTCore

/// swift-metrics: the transcriber's counters, meters and timers, read from a test factory given
/// to the configuration (no global bootstrap), for whole sessions against the emulator.
@Suite("StreamingTranscriber metrics")
struct TranscriberMetricsTests {
    typealias Vendor = TranscriberFaultTests.Vendor

    /// Every metric the transcriber makes up front (`stt_sessions_failed_total` comes with its
    /// error code, at the failure).
    static let names = [
        "stt_sessions_started_total", "stt_sessions_ended_total", "stt_reconnections_total", "stt_rollovers_total",
        "stt_audio_sent_seconds_total", "stt_audio_lost_seconds_total", "stt_sessions_active", "stt_queued_bytes",
        "stt_connect_duration_seconds", "stt_time_to_begin_seconds", "stt_receive_to_event_latency_seconds",
        "stt_transcript_lag_seconds",
    ]

    /// One session of `seconds` of audio in 100 ms pieces, with `metrics` in its configuration.
    static func run(
        _ vendor: Vendor, seconds: Double, metrics: any MetricsFactory,
        faults: @escaping @Sendable (EmulatorSessionInfo) -> [EmulatorFault] = { _ in [] }
    ) async throws -> (summary: SessionSummary?, error: TranscriptionError?) {
        try await run(vendor, seconds: seconds, configure: { $0.metricsFactory = metrics }, faults: faults)
    }

    /// One session of `seconds` of audio in 100 ms pieces against the emulator, its configuration
    /// set by `configure`: the summary of its stop, or the error it ended with.
    static func run(
        _ vendor: Vendor, seconds: Double, configure: (inout StreamingTranscriber.Configuration) -> Void,
        faults: @escaping @Sendable (EmulatorSessionInfo) -> [EmulatorFault] = { _ in [] }
    ) async throws -> (summary: SessionSummary?, error: TranscriptionError?) {
        let emulator = try TranscriptionEmulator(
            configuration: .init(
                script: TranscriberFaultTests.script,
                assemblyAI: .init(enforceRealTime: false, terminationDelay: .milliseconds(20)), faults: faults))
        defer { emulator.shutdown() }
        var configuration = StreamingTranscriber.Configuration()
        configure(&configuration)
        let transcriber = StreamingTranscriber(
            provider: TranscriberFaultTests.provider(vendor, emulator), configuration: configuration)
        let collector = Task { for await _ in transcriber.events {} }
        defer { collector.cancel() }
        do {
            let summary = try await withTimeout(.seconds(30)) {
                try await transcriber.start()
                for _ in 0..<Int((seconds * 10).rounded()) {
                    try await transcriber.send(audio: [UInt8](repeating: 0, count: 3200))
                }
                return try await transcriber.stop()
            }
            return (summary, nil)
        } catch let error as TranscriptionError {
            return (nil, error)
        }
    }

    @Test("one full session: names, the provider dimension and the values", arguments: Vendor.allCases)
    func fullSession(vendor: Vendor) async throws {
        let metrics = ExactTestMetrics()
        let (result, _) = try await Self.run(vendor, seconds: 2.5, metrics: metrics)
        let summary = try #require(result)
        let provider = [("provider", vendor == .assemblyAI ? "assemblyai" : "speechmatics")]
        #expect(try metrics.test.expectCounter("stt_sessions_started_total", provider).totalValue == 1)
        #expect(try metrics.test.expectCounter("stt_sessions_ended_total", provider).totalValue == 1)
        #expect(metrics.test.counters(label: "stt_sessions_failed_total").isEmpty)
        #expect(try metrics.test.expectCounter("stt_reconnections_total", provider).totalValue == 0)
        #expect(try metrics.test.expectCounter("stt_rollovers_total", provider).totalValue == 0)
        #expect(abs(metrics.floatingTotal("stt_audio_sent_seconds_total", provider) - 2.5) < 1e-9)
        #expect(metrics.floatingTotal("stt_audio_lost_seconds_total", provider) == 0)
        let active = try metrics.test.expectMeter("stt_sessions_active", provider)
        #expect(active.values.max() == 1)
        #expect(active.lastValue == 0)
        #expect(try metrics.test.expectMeter("stt_queued_bytes", provider).lastValue ?? 0 == 0)
        let connect = try metrics.test.expectTimer("stt_connect_duration_seconds", provider)
        #expect(connect.values.count == 1)
        #expect(connect.values.allSatisfy { $0 > 0 && $0 < 10_000_000_000 })
        #expect(try metrics.test.expectTimer("stt_time_to_begin_seconds", provider).values.count == 1)
        // The statistics hand over the transcript lag at each final, the latency per batch of
        // decoded messages.
        let lag = try metrics.test.expectTimer("stt_transcript_lag_seconds", provider).values
        #expect(summary.statistics.finalCount > 0)
        #expect(lag.count == summary.statistics.finalCount)
        #expect(lag.allSatisfy { $0 >= 0 && $0 <= 2_500_000_000 })
        #expect(!(try metrics.test.expectTimer("stt_receive_to_event_latency_seconds", provider).values.isEmpty))
        // Every metric carries the provider and nothing else: no key, token or text.
        #expect(Set(metrics.labels) == Set(Self.names))
        #expect(metrics.allDimensions.allSatisfy { $0.map(\.0) == ["provider"] && $0.map(\.1) == provider.map(\.1) })
    }

    @Test("a failed session is counted with its error code", arguments: Vendor.allCases)
    func failedSession(vendor: Vendor) async throws {
        let metrics = ExactTestMetrics()
        let (_, error) = try await Self.run(vendor, seconds: 1, metrics: metrics) { _ in
            [.rejectHandshake(status: 401)]
        }
        #expect(error?.code == .authenticationFailed)
        let name = vendor == .assemblyAI ? "assemblyai" : "speechmatics"
        #expect(try metrics.test.expectCounter("stt_sessions_started_total", [("provider", name)]).totalValue == 1)
        #expect(try metrics.test.expectCounter("stt_sessions_ended_total", [("provider", name)]).totalValue == 0)
        let failed = try metrics.test.expectCounter(
            "stt_sessions_failed_total", [("provider", name), ("error_code", "authenticationFailed")])
        #expect(failed.totalValue == 1)
        #expect(try metrics.test.expectMeter("stt_sessions_active", [("provider", name)]).lastValue == 0)
        #expect(try metrics.test.expectTimer("stt_connect_duration_seconds", [("provider", name)]).values.isEmpty)
    }

    @Test("a reconnection is counted; the audio sent is the stream's, replay aside", arguments: Vendor.allCases)
    func reconnection(vendor: Vendor) async throws {
        let metrics = ExactTestMetrics()
        let outcome = try await TranscriberReconnectionTests.run(
            vendor, policy: TranscriberReconnectionTests.quickPolicy,
            configure: { configuration, _ in configuration.metricsFactory = metrics }
        ) { info in info.index == 0 ? [.dropConnection(afterAudioChunks: 20)] : [] }
        _ = try #require(outcome.summary)
        let provider = [("provider", vendor == .assemblyAI ? "assemblyai" : "speechmatics")]
        #expect(try metrics.test.expectCounter("stt_reconnections_total", provider).totalValue == 1)
        #expect(try metrics.test.expectCounter("stt_sessions_started_total", provider).totalValue == 1)
        #expect(try metrics.test.expectCounter("stt_sessions_ended_total", provider).totalValue == 1)
        #expect(
            abs(metrics.floatingTotal("stt_audio_sent_seconds_total", provider) - Double(outcome.bytesSent) / 32000)
                < 1e-9)
        #expect(metrics.floatingTotal("stt_audio_lost_seconds_total", provider) == 0)
        #expect(try metrics.test.expectTimer("stt_connect_duration_seconds", provider).values.count == 2)
        #expect(try metrics.test.expectTimer("stt_time_to_begin_seconds", provider).values.count == 2)
        #expect(try metrics.test.expectMeter("stt_sessions_active", provider).lastValue == 0)
    }

    @Test("the two timers of the session statistics are recorded where the statistics hand them over")
    func statisticsTimers() throws {
        let metrics = ExactTestMetrics()
        let instruments = SessionInstruments(provider: .speechmatics, factory: metrics)
        instruments.recordStatistics(receiveToEventLatency: .milliseconds(3), transcriptLag: .milliseconds(750))
        let provider = [("provider", "speechmatics")]
        #expect(try metrics.test.expectTimer("stt_receive_to_event_latency_seconds", provider).values == [3_000_000])
        #expect(try metrics.test.expectTimer("stt_transcript_lag_seconds", provider).values == [750_000_000])
    }

    @Test("without a factory and without a bootstrap nothing is recorded: the global factory is the no-op one")
    func noOpByDefault() {
        let instruments = SessionInstruments(provider: .assemblyAI, factory: nil)
        #expect(!instruments.isEnabled)
    }
}

/// `TestMetrics`, with floating-point counters kept exact (`TestMetrics` rounds them to integers).
final class ExactTestMetrics: MetricsFactory {
    let test = TestMetrics()
    private let floating = LockedState<[FloatingCounter]>([])

    final class FloatingCounter: FloatingPointCounterHandler {
        let label: String
        let dimensions: [(String, String)]
        let total = LockedState(0.0)
        init(label: String, dimensions: [(String, String)]) {
            self.label = label
            self.dimensions = dimensions
        }
        func increment(by amount: Double) { total.withLock { $0 += amount } }
        func reset() { total.withLock { $0 = 0 } }
    }

    /// The total of the floating-point counter `label` with `dimensions` (0 when there is none).
    func floatingTotal(_ label: String, _ dimensions: [(String, String)]) -> Double {
        floating.withLock { counters in
            counters.filter { $0.label == label && $0.dimensions.elementsEqual(dimensions, by: ==) }
                .reduce(0) { $0 + $1.total.withLock { $0 } }
        }
    }

    /// Every label made, of any kind.
    var labels: [String] {
        test.counters.map(\.label) + test.meters.map(\.label) + test.timers.map(\.label) + test.recorders.map(\.label)
            + floating.withLock { $0.map(\.label) }
    }

    /// The dimensions of every metric made.
    var allDimensions: [[(String, String)]] {
        test.counters.map(\.dimensions) + test.meters.map(\.dimensions) + test.timers.map(\.dimensions)
            + test.recorders.map(\.dimensions) + floating.withLock { $0.map(\.dimensions) }
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        test.makeCounter(label: label, dimensions: dimensions)
    }
    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        let counter = FloatingCounter(label: label, dimensions: dimensions)
        floating.withLock { $0.append(counter) }
        return counter
    }
    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        test.makeMeter(label: label, dimensions: dimensions)
    }
    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        test.makeRecorder(label: label, dimensions: dimensions, aggregate: aggregate)
    }
    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        test.makeTimer(label: label, dimensions: dimensions)
    }
    func destroyCounter(_ handler: any CounterHandler) { test.destroyCounter(handler) }
    func destroyMeter(_ handler: any MeterHandler) { test.destroyMeter(handler) }
    func destroyRecorder(_ handler: any RecorderHandler) { test.destroyRecorder(handler) }
    func destroyTimer(_ handler: any TimerHandler) { test.destroyTimer(handler) }
}
