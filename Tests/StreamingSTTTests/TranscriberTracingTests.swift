import InMemoryTracing
import StreamingSTTTesting
import Testing
import Tracing

@testable import StreamingSTT

/// swift-distributed-tracing: a span per session, child of the caller's, and a child span per
/// connection attempt; the error code and the error on failure; no secret in attributes. The
/// tracer is given to the configuration (no global bootstrap).
@Suite("StreamingTranscriber tracing")
struct TranscriberTracingTests {
    typealias Vendor = TranscriberFaultTests.Vendor

    static func name(_ vendor: Vendor) -> String { vendor == .assemblyAI ? "assemblyai" : "speechmatics" }

    /// One session inside the caller's span `request`: 1 s of audio, then stop.
    static func run(
        _ vendor: Vendor, tracer: InMemoryTracer,
        faults: @escaping @Sendable (EmulatorSessionInfo) -> [EmulatorFault] = { _ in [] }
    ) async throws {
        try await tracer.withSpan("request") { _ in
            _ = try await TranscriberMetricsTests.run(
                vendor, seconds: 1, configure: { $0.tracer = tracer }, faults: faults)
        }
    }

    static func spans(_ tracer: InMemoryTracer, _ name: String) -> [FinishedInMemorySpan] {
        tracer.finishedSpans.filter { $0.operationName == name }
    }

    /// No attribute of any span holds the key.
    static func expectNoSecret(_ tracer: InMemoryTracer) {
        for span in tracer.finishedSpans {
            span.attributes.forEach { key, value in
                #expect(!"\(value)".contains("emulator-key"), "\(span.operationName) \(key)")
            }
        }
    }

    @Test("a session: its span is the caller's child, the connection attempt the session's", arguments: Vendor.allCases)
    func session(vendor: Vendor) async throws {
        let tracer = InMemoryTracer()
        try await Self.run(vendor, tracer: tracer)
        let request = try #require(Self.spans(tracer, "request").first)
        let session = try #require(Self.spans(tracer, "stt.session").first)
        let connect = Self.spans(tracer, "stt.connect")
        #expect(session.parentSpanID == request.spanID)
        #expect(session.traceID == request.traceID)
        #expect(session.attributes.get("stt.provider") == .string(Self.name(vendor)))
        #expect(session.attributes.get("stt.session.id") != nil)
        #expect(session.attributes.get("stt.error.code") == nil)
        #expect(session.errors.isEmpty)
        #expect(connect.count == 1)
        #expect(connect.first?.parentSpanID == session.spanID)
        #expect(connect.first?.attributes.get("stt.session.index") == .int64(0))
        #expect(connect.first?.errors.isEmpty == true)
        Self.expectNoSecret(tracer)
    }

    @Test("a failed session: the error recorded, its code an attribute, on both spans", arguments: Vendor.allCases)
    func failure(vendor: Vendor) async throws {
        let tracer = InMemoryTracer()
        try await Self.run(vendor, tracer: tracer) { _ in [.rejectHandshake(status: 401)] }
        let session = try #require(Self.spans(tracer, "stt.session").first)
        let connect = try #require(Self.spans(tracer, "stt.connect").first)
        for span in [session, connect] {
            #expect(span.attributes.get("stt.error.code") == .string("authenticationFailed"), "\(span.operationName)")
            #expect(span.errors.count == 1, "\(span.operationName)")
            #expect(span.status?.code == .error, "\(span.operationName)")
        }
        #expect(connect.parentSpanID == session.spanID)
        Self.expectNoSecret(tracer)
    }

    @Test("a reconnection: one connection attempt span per session, children of the session's")
    func reconnection() async throws {
        let tracer = InMemoryTracer()
        let outcome = try await TranscriberReconnectionTests.run(
            .speechmatics, policy: TranscriberReconnectionTests.quickPolicy,
            configure: { configuration, _ in configuration.tracer = tracer }
        ) { info in info.index == 0 ? [.dropConnection(afterAudioChunks: 10)] : [] }
        _ = try #require(outcome.summary)
        let session = try #require(Self.spans(tracer, "stt.session").first)
        let connect = Self.spans(tracer, "stt.connect")
        #expect(connect.count == 2)
        #expect(connect.allSatisfy { $0.parentSpanID == session.spanID })
        #expect(connect.compactMap { $0.attributes.get("stt.session.index") } == [.int64(0), .int64(1)])
        #expect(session.attributes.get("stt.session.count") == .int64(2))
    }
}
