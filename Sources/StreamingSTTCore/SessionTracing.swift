import Tracing

/// The swift-distributed-tracing spans of one transcription: `stt.session` from `start()` to the
/// end, a child of the caller's span (the `ServiceContext` of the task that calls `start()`), and
/// a child `stt.connect` per connection attempt (the credentials supplier, DNS, TCP, TLS and the
/// WebSocket handshake). The tracer is ``StreamingTranscriber/Configuration/tracer``, or the one
/// `InstrumentationSystem` gives the task that calls `start()` (a `withTracer` scope, the
/// bootstrapped one, or the no-op tracer).
///
/// Attributes: `stt.provider`; `stt.session.id` (the vendor's session id), `stt.session.count`,
/// `stt.audio.seconds`, `stt.finals` on the session; `stt.session.index` on an attempt;
/// `stt.error.code` with the error recorded (its description names no key or token) and the
/// status `error` on failure. Never a key, a token, a URL or transcript text.
struct SessionTrace {
    private let configured: (any Tracer)?
    private let provider: ProviderKind
    private var tracer: (any Tracer)?
    private var session: (any Span)?

    init(provider: ProviderKind, tracer: (any Tracer)?) {
        self.provider = provider
        self.configured = tracer
    }

    /// Opens the session's span, as a child of the calling task's context.
    mutating func sessionStarted() {
        let tracer = configured ?? InstrumentationSystem.tracer
        let span = tracer.startSpan("stt.session", context: ServiceContext.current ?? .topLevel, ofKind: .client)
        span.attributes["stt.provider"] = provider.rawValue
        self.tracer = tracer
        session = span
    }

    /// Opens the span of the attempt to connect session `index`.
    func attemptStarted(index: Int) -> (any Span)? {
        guard let tracer, let session else { return nil }
        let span = tracer.startSpan("stt.connect", context: session.context, ofKind: .client)
        span.attributes["stt.provider"] = provider.rawValue
        span.attributes["stt.session.index"] = index
        return span
    }

    /// Ends an attempt's span, with `error` when it failed.
    func attemptEnded(_ span: (any Span)?, error: TranscriptionError?) {
        guard let span else { return }
        if let error { Self.record(error, on: span) }
        span.end()
    }

    /// Ends the session's span with how the transcription ended.
    mutating func sessionEnded(_ result: Result<SessionSummary, TranscriptionError>, sessionID: String?) {
        guard let span = session else { return }
        session = nil
        if let sessionID, !sessionID.isEmpty { span.attributes["stt.session.id"] = sessionID }
        switch result {
        case .success(let summary):
            span.attributes["stt.session.count"] = summary.sessionCount
            span.attributes["stt.audio.seconds"] = summary.audioDuration
            span.attributes["stt.finals"] = summary.finalCount
        case .failure(let error):
            Self.record(error, on: span)
        }
        span.end()
    }

    private static func record(_ error: TranscriptionError, on span: any Span) {
        span.attributes["stt.error.code"] = error.code.description
        span.recordError(error)
        span.setStatus(SpanStatus(code: .error))
    }
}

extension TranscriptionDriver {
    /// Opens a leg (see ``connectLeg()``) inside the span of its connection attempt.
    func openLeg() async throws(TranscriptionError) -> SessionLeg {
        let attempt = instruments.trace.attemptStarted(index: nextLegIndex)
        do {
            let leg = try await connectLeg()
            instruments.trace.attemptEnded(attempt, error: nil)
            return leg
        } catch {
            instruments.trace.attemptEnded(attempt, error: error)
            throw error
        }
    }
}
