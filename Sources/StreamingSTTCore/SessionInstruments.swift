import CoreMetrics
import Tracing

/// The swift-metrics instruments of one transcription (see `Docs/Observability.md` for every
/// name, dimension and unit). Made from ``StreamingTranscriber/Configuration/metricsFactory``, or
/// from the global `MetricsSystem` when that is `nil`: without a factory and without a bootstrap
/// it is the no-op one, and the driver skips even the sampling (``isEnabled``).
///
/// Dimensions are the provider (`provider`: `assemblyai`, `speechmatics`) and, for failures, the
/// error code (`error_code`); never a key, a token, a URL or transcript text. Isolated to the
/// driver: the driver calls it where things happen, the audio counters once per caller's
/// `send(audio:)`, not per wire chunk.
struct SessionInstruments {
    /// The metric names, with the common prefix `stt_`.
    enum Name {
        static let sessionsStarted = "stt_sessions_started_total"
        static let sessionsEnded = "stt_sessions_ended_total"
        static let sessionsFailed = "stt_sessions_failed_total"
        static let reconnections = "stt_reconnections_total"
        static let rollovers = "stt_rollovers_total"
        static let audioSent = "stt_audio_sent_seconds_total"
        static let audioLost = "stt_audio_lost_seconds_total"
        static let sessionsActive = "stt_sessions_active"
        static let queuedBytes = "stt_queued_bytes"
        static let connectDuration = "stt_connect_duration_seconds"
        static let timeToBegin = "stt_time_to_begin_seconds"
        static let receiveToEventLatency = "stt_receive_to_event_latency_seconds"
        static let transcriptLag = "stt_transcript_lag_seconds"
    }

    /// Whether a real backend records (anything but swift-metrics' no-op factory).
    let isEnabled: Bool
    private let factory: any MetricsFactory
    private let provider: ProviderKind
    private let started: Counter
    private let ended: Counter
    private let reconnections: Counter
    private let rollovers: Counter
    private let audioSent: FloatingPointCounter
    private let audioLost: FloatingPointCounter
    private let active: Meter
    private let queued: Meter
    private let connect: Timer
    private let timeToBegin: Timer
    private let receiveToEventLatency: Timer
    private let transcriptLag: Timer
    /// What the audio counters and the queue meter have been given so far (bytes).
    private var recordedStream = 0
    private var recordedLost = 0
    private var recordedQueued = 0
    private var isActive = false
    /// The session's spans.
    var trace: SessionTrace

    /// Makes the instruments of one transcription with `provider`, from `factory` (`nil`: the
    /// global `MetricsSystem.factory`) and `tracer` (see ``SessionTrace``).
    init(provider: ProviderKind, factory: (any MetricsFactory)?, tracer: (any Tracer)? = nil) {
        trace = SessionTrace(provider: provider, tracer: tracer)
        let factory = factory ?? MetricsSystem.factory
        self.factory = factory
        self.provider = provider
        self.isEnabled = !(factory is NOOPMetricsHandler)
        let dimensions = [("provider", provider.rawValue)]
        started = Counter(label: Name.sessionsStarted, dimensions: dimensions, factory: factory)
        ended = Counter(label: Name.sessionsEnded, dimensions: dimensions, factory: factory)
        reconnections = Counter(label: Name.reconnections, dimensions: dimensions, factory: factory)
        rollovers = Counter(label: Name.rollovers, dimensions: dimensions, factory: factory)
        audioSent = FloatingPointCounter(label: Name.audioSent, dimensions: dimensions, factory: factory)
        audioLost = FloatingPointCounter(label: Name.audioLost, dimensions: dimensions, factory: factory)
        active = Meter(label: Name.sessionsActive, dimensions: dimensions, factory: factory)
        queued = Meter(label: Name.queuedBytes, dimensions: dimensions, factory: factory)
        connect = Timer(label: Name.connectDuration, dimensions: dimensions, factory: factory)
        timeToBegin = Timer(label: Name.timeToBegin, dimensions: dimensions, factory: factory)
        receiveToEventLatency = Timer(label: Name.receiveToEventLatency, dimensions: dimensions, factory: factory)
        transcriptLag = Timer(label: Name.transcriptLag, dimensions: dimensions, factory: factory)
    }

    /// `start()` was called: one more session started and active, its span opened in the calling
    /// task's context.
    mutating func sessionStarted() {
        trace.sessionStarted()
        started.increment()
        active.increment()
        isActive = true
    }

    /// A connection attempt made its WebSocket connection (DNS, TCP, TLS and the handshake) in
    /// `duration`.
    func connected(after duration: Duration) {
        connect.record(duration)
    }

    /// The service started a session (`Begin`, `RecognitionStarted`) `duration` after its
    /// connection was made.
    func began(after duration: Duration) {
        timeToBegin.record(duration)
    }

    /// A session lost to a failure was replaced by a new one.
    func reconnected() { reconnections.increment() }

    /// The audio moved to the next session before the session limit.
    func rolledOver() { rollovers.increment() }

    /// Brings the audio counters and the queue meter up to date: `streamed` bytes of the stream
    /// so far, `lost` of them lost, `queued` bytes waiting to be sent now; `seconds` converts.
    mutating func audioProgress(
        streamed: Int, lost: Int, queued queuedNow: @autoclosure () -> Int, seconds: (Int) -> Double
    ) {
        guard isEnabled else { return }
        if streamed > recordedStream {
            audioSent.increment(by: seconds(streamed - recordedStream))
            recordedStream = streamed
        }
        if lost > recordedLost {
            audioLost.increment(by: seconds(lost - recordedLost))
            recordedLost = lost
        }
        setQueued(isActive ? queuedNow() : 0)
    }

    /// The transcription ended: stopped (`terminated`) or failed with the error's code.
    mutating func sessionEnded(_ result: Result<SessionSummary, TranscriptionError>, sessionID: String?) {
        trace.sessionEnded(result, sessionID: sessionID)
        guard isActive else { return }
        isActive = false
        setQueued(0)
        active.decrement()
        switch result {
        case .success:
            ended.increment()
        case .failure(let error):
            Counter(
                label: Name.sessionsFailed,
                dimensions: [("provider", provider.rawValue), ("error_code", error.code.description)],
                factory: factory
            ).increment()
        }
    }

    /// Where the session statistics hand over their two timings: the time from a message's arrival
    /// to its event, and how far the newest final trails the audio sent.
    /// (`SessionStatisticsRecorder`: the latency once per batch of decoded messages, the lag at
    /// each final.)
    func recordStatistics(receiveToEventLatency latency: Duration?, transcriptLag lag: Duration?) {
        if let latency { receiveToEventLatency.record(latency) }
        if let lag { transcriptLag.record(lag) }
    }

    private mutating func setQueued(_ value: Int) {
        if value > recordedQueued {
            queued.increment(by: Double(value - recordedQueued))
        } else if value < recordedQueued {
            queued.decrement(by: Double(recordedQueued - value))
        }
        recordedQueued = value
    }
}

extension Timer {
    /// Records `duration` (negative ones as zero).
    fileprivate func record(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        recordNanoseconds(max(0, seconds * 1_000_000_000 + attoseconds / 1_000_000_000))
    }
}

extension TranscriptionDriver {
    /// Brings the audio counters and the queue meter up to date (see
    /// ``SessionInstruments/audioProgress(streamed:lost:queued:seconds:)``): the bytes in the
    /// active connection's send queue plus the audio kept for it and not yet sent.
    func recordAudioProgress() {
        guard recordsMetrics else { return }
        let leg = activeLeg
        instruments.audioProgress(
            streamed: ledger.streamPosition, lost: ledger.lostBytes,
            queued: leg.map { $0.connection.queuedOutboundBytes + max(0, ledger.streamPosition - $0.sentPosition) }
                ?? 0,
            seconds: wire.seconds(ofBytes:))
    }
}
