import StreamingSTTSupport
import StreamingSTTTesting
import Testing

@testable import StreamingSTT
@testable import StreamingSTTCore

/// Who owns a session's work: the scoped API runs it inside the call; a transcriber released
/// without `stop()` leaves no session, socket or task behind.
@Suite("StreamingTranscriber lifetime")
struct TranscriberLifetimeTests {
    enum Vendor: String, CaseIterable, Sendable { case assemblyAI, speechmatics }

    static func provider(_ vendor: Vendor, _ emulator: TranscriptionEmulator) -> StreamingTranscriber.Provider {
        switch vendor {
        case .assemblyAI:
            .assemblyAI(
                AssemblyAI(
                    credentials: .apiKey("emulator-key"), speechModel: .u3RealtimePro,
                    endpoint: .custom(emulator.assemblyAIURL)))
        case .speechmatics:
            .speechmatics(
                Speechmatics(credentials: .apiKey("emulator-key"), endpoint: .custom(emulator.speechmaticsURL)))
        }
    }

    /// Starts a transcriber, sends a second of audio, and returns what outlives the transcriber:
    /// its background work and a weak reference to its driver.
    static func startAndRelease(
        _ vendor: Vendor, _ emulator: TranscriptionEmulator
    ) async throws -> (work: Task<Void, Never>, driver: WeakReference<TranscriptionDriver>) {
        let transcriber = StreamingTranscriber(provider: provider(vendor, emulator))
        try await transcriber.start()
        try await transcriber.send(audio: [UInt8](repeating: 0, count: 32000))
        let work = try #require(transcriber.backgroundWork)
        return (work, WeakReference(transcriber.driver))
    }

    @Test(
        "a started transcriber released without stop(): the server sees its connection close, its work ends, it is freed",
        arguments: Vendor.allCases)
    func releasedWithoutStop(vendor: Vendor) async throws {
        let emulator = try TranscriptionEmulator(configuration: fastConfiguration())
        defer { emulator.shutdown() }
        let (work, driver) = try await Self.startAndRelease(vendor, emulator)
        // The transcriber is gone: its session ends at once, without the vendor's end message.
        let records = try await withTimeout(.seconds(10), "the server seeing the connection close") {
            await emulator.waitForSessions(count: 1)
        }
        let record = try #require(records.first)
        #expect(record.ended)
        #expect(!record.textMessagesReceived.contains { $0.contains("Terminate") || $0.contains("EndOfStream") })
        try await withTimeout(.seconds(10), "the background work ending") { await work.value }
        #expect(driver.value == nil, "the driver outlived its work")
    }

    @Test(
        "withSession: the session starts, the body runs, the session stops and its work ends with the call",
        arguments: Vendor.allCases)
    func scoped(vendor: Vendor) async throws {
        let emulator = try TranscriptionEmulator(configuration: fastConfiguration())
        defer { emulator.shutdown() }
        let (finals, summary, driver) = try await withTimeout {
            try await StreamingTranscriber.withSession(provider: Self.provider(vendor, emulator)) { transcriber in
                async let events: [TranscriptEvent] = {
                    var all: [TranscriptEvent] = []
                    for await event in transcriber.events { all.append(event) }
                    return all
                }()
                try await transcriber.send(audio: [UInt8](repeating: 0, count: 32000 * 3))
                let summary = try await transcriber.stop()
                let finals = await events.compactMap {
                    if case .final(let transcript) = $0 { transcript.text } else { nil }
                }
                #expect(transcriber.backgroundWork == nil, "the scope runs the work, not a task of its own")
                return (finals, summary, WeakReference(transcriber.driver))
            }
        }
        #expect(!finals.isEmpty)
        #expect(summary.finalCount == finals.count)
        #expect(driver.value == nil, "the driver outlived the scope")
        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(record.violations.isEmpty, "\(record.violations)")
    }

    @Test("withSession: a body that throws cancels the session and the error comes out", arguments: Vendor.allCases)
    func scopedFailure(vendor: Vendor) async throws {
        struct Stop: Error {}
        let emulator = try TranscriptionEmulator(configuration: fastConfiguration())
        defer { emulator.shutdown() }
        await #expect(throws: Stop.self) {
            try await withTimeout {
                try await StreamingTranscriber.withSession(provider: Self.provider(vendor, emulator)) { transcriber in
                    try await transcriber.send(audio: [UInt8](repeating: 0, count: 32000))
                    throw Stop()
                }
            }
        }
        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(!record.textMessagesReceived.contains { $0.contains("Terminate") || $0.contains("EndOfStream") })
    }
}

/// A weak reference that can cross tasks.
final class WeakReference<Object: AnyObject & Sendable>: Sendable {
    private let box: LockedState<Weak>

    private struct Weak: @unchecked Sendable {
        // Justification for @unchecked: the object is Sendable; the weak reference is only read
        // and written under the lock.
        weak var object: Object?
    }

    init(_ object: Object) {
        box = LockedState(Weak(object: object))
    }

    var value: Object? { box.withLock { $0.object } }
}
