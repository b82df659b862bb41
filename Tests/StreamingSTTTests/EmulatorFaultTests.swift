import Foundation
import StreamingSTT
import StreamingSTTSupport
import StreamingSTTTesting
import StreamingSTTWebSocket
import Testing

@Suite("Emulator: injected faults")
struct EmulatorFaultTests {
    static func emulator(
        _ faults: [EmulatorFault], configure: (inout TranscriptionEmulator.Configuration) -> Void = { _ in }
    )
        throws -> TranscriptionEmulator
    {
        try TranscriptionEmulator(
            configuration: fastConfiguration {
                $0.faults = { _ in faults }
                configure(&$0)
            })
    }

    /// Opens a session and waits until it has started (Begin / RecognitionStarted).
    static func open(
        _ emulator: TranscriptionEmulator, _ vendor: EmulatorVendor,
        configure: (inout WebSocketConfiguration) -> Void = { _ in }
    ) async throws -> EmulatorClient {
        switch vendor {
        case .assemblyAI:
            let client = try await EmulatorClient.connect(
                emulator.assemblyAIURL + EmulatorAssemblyAITests.u3Query, headers: assemblyAIKey, configure: configure)
            try await client.waitForMessage("Begin")
            return client
        case .speechmatics:
            let client = try await EmulatorClient.connect(
                emulator.speechmaticsURL, headers: speechmaticsKey, configure: configure)
            try await client.send(json: EmulatorSpeechmaticsTests.start())
            try await client.waitForMessage("RecognitionStarted")
            return client
        }
    }

    /// Sends `count` 100 ms chunks.
    static func chunks(_ client: EmulatorClient, _ count: Int) async throws {
        _ = try await client.sendSilence(seconds: Double(count) / 10, chunkMilliseconds: 100)
    }

    /// Ends the session the vendor's way after `chunks` chunks.
    static func end(_ client: EmulatorClient, _ vendor: EmulatorVendor, chunks: Int) async throws {
        switch vendor {
        case .assemblyAI: try await client.send(json: #"{"type":"Terminate"}"#)
        case .speechmatics: try await client.send(json: #"{"message":"EndOfStream","last_seq_no":\#(chunks)}"#)
        }
    }

    static func finalMessage(_ vendor: EmulatorVendor) -> String {
        vendor == .assemblyAI ? "Termination" : "EndOfTranscript"
    }

    @Test("dropConnection: TCP goes away without a close frame", arguments: EmulatorVendor.allCases)
    func drop(vendor: EmulatorVendor) async throws {
        let emulator = try Self.emulator([.dropConnection(afterAudioChunks: 2)])
        defer { emulator.shutdown() }
        let client = try await Self.open(emulator, vendor)
        try? await Self.chunks(client, 2)
        let closure = try await client.closed()
        guard case .failed(let error) = closure else {
            Issue.record("expected a failed connection, got \(closure)")
            return
        }
        #expect(error.code == .connectionLost)
        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(record.closeCode == nil)
        #expect(record.notes.contains("fault: dropConnection after 2 chunks"))
    }

    @Test("close: the given code and reason, with no Error before", arguments: EmulatorVendor.allCases)
    func close(vendor: EmulatorVendor) async throws {
        let emulator = try Self.emulator([.close(code: 4999, reason: "going away", afterAudioChunks: 1)])
        defer { emulator.shutdown() }
        let client = try await Self.open(emulator, vendor)
        try await Self.chunks(client, 1)
        let closure = try await client.closed()
        #expect(closure.peerCode == 4999)
        #expect(closure.peerReason == "going away")
        #expect(!client.objects.contains { discriminator($0) == "Error" })
        #expect(try #require(await emulator.waitForSessions(count: 1).first).closeCode == 4999)
    }

    @Test(
        "malformed JSON and an unknown message are sent, then the session carries on",
        arguments: EmulatorVendor.allCases)
    func strayMessages(vendor: EmulatorVendor) async throws {
        let emulator = try Self.emulator([
            .sendMalformedJSON(afterAudioChunks: 1), .sendUnknownMessage(afterAudioChunks: 2),
        ])
        defer { emulator.shutdown() }
        let client = try await Self.open(emulator, vendor)
        try await Self.chunks(client, 40)
        try await Self.end(client, vendor, chunks: 40)
        try await client.waitForMessage(Self.finalMessage(vendor))
        #expect(client.texts.filter { parseObject($0) == nil }.count == 1)
        #expect(
            client.objects.contains {
                ($0["type"] ?? $0["message"]) as? String ?? ""
                    == (vendor == .assemblyAI ? "EmulatorUnknownEvent" : "EmulatorUnknownMessage")
            })
        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(record.transcript == "Hello world. How are you?")
    }

    @Test(
        "a huge frame: over the client's limit it fails the connection, under it arrives whole",
        arguments: EmulatorVendor.allCases)
    func hugeFrame(vendor: EmulatorVendor) async throws {
        let emulator = try Self.emulator([.sendHugeFrame(bytes: 2 << 20, afterAudioChunks: 1)])
        defer { emulator.shutdown() }
        let client = try await Self.open(emulator, vendor)
        try? await Self.chunks(client, 1)
        guard case .failed(let error) = try await client.closed() else {
            Issue.record("expected messageTooLarge")
            return
        }
        #expect(error.code == .messageTooLarge)

        let small = try Self.emulator([.sendHugeFrame(bytes: 300_000, afterAudioChunks: 0)])
        defer { small.shutdown() }
        let other = try await Self.open(small, vendor)
        let texts = try await other.wait(for: "the huge frame") { $0.contains { $0.utf8.count == 300_000 } }
        let frame = try #require(texts.first { $0.utf8.count == 300_000 })
        #expect(parseObject(frame) != nil)
        await other.close()
    }

    @Test("delayReplies: every message comes that much later", arguments: EmulatorVendor.allCases)
    func delayReplies(vendor: EmulatorVendor) async throws {
        let emulator = try Self.emulator([.delayReplies(.milliseconds(300))])
        defer { emulator.shutdown() }
        let clock = ContinuousClock()
        let start = clock.now
        let client = try await Self.open(emulator, vendor)
        #expect(clock.now - start >= .milliseconds(300))
        let began = clock.now
        try await Self.chunks(client, 1)
        try await client.wait(for: "a reply to audio") { texts in
            vendor == .assemblyAI || texts.contains { $0.contains("AudioAdded") }
        }
        if vendor == .speechmatics { #expect(clock.now - began >= .milliseconds(300)) }
        await client.close()
    }

    @Test("stopReading: the client's sends back up", arguments: EmulatorVendor.allCases)
    func stopReading(vendor: EmulatorVendor) async throws {
        // The unknown message tells the client the emulator is about to stop reading.
        let emulator = try Self.emulator([.sendUnknownMessage(afterAudioChunks: 1), .stopReading(afterAudioChunks: 1)])
        defer { emulator.shutdown() }
        let client = try await Self.open(emulator, vendor) { $0.maxQueuedOutboundBytes = 64 << 10 }
        try await Self.chunks(client, 1)
        try await client.wait(for: "the unknown message") { $0.contains { $0.contains("EmulatorUnknown") } }
        let queued = LockedState(0)
        let sender = Task {
            let chunk = [UInt8](repeating: 0, count: 3200)
            while !Task.isCancelled {
                do { try await client.send(audio: chunk) } catch { return }
                queued.withLock { $0 += 1 }
            }
        }
        try await withTimeout(.seconds(20), "a blocked sender") {
            await client.connection.channel.waitUntilSenderBlocked()
        }
        sender.cancel()
        client.connection.cancel()
        // While the emulator does not read, it cannot see the client leave: shut it down.
        emulator.shutdown()
        let record = try #require(emulator.sessions.first)
        #expect(record.notes.contains("fault: stop reading after 1 chunks"))
        // The emulator read (almost) nothing after it stopped, while the client queued on.
        #expect(record.audioChunkSizes.count < max(2, queued.withLock { $0 } / 2), "\(record.audioChunkSizes.count)")
    }

    @Test("rejectHandshake: the HTTP status, chosen per session")
    func rejectHandshake() async throws {
        let emulator = try TranscriptionEmulator(
            configuration: fastConfiguration {
                $0.faults = { info in info.vendorIndex == 1 ? [.rejectHandshake(status: 429)] : [] }
            })
        defer { emulator.shutdown() }
        for vendor in EmulatorVendor.allCases {
            let first = try await Self.open(emulator, vendor)
            await first.close()
            let error = await failure { _ = try await Self.open(emulator, vendor) }
            #expect(error?.code == .handshakeRejected)
            #expect(error?.httpStatus == 429)
        }
        let records = await emulator.waitForSessions(count: 4)
        #expect(records.map(\.handshakeStatus) == [nil, 429, nil, 429])
        #expect(records.map(\.index) == [0, 1, 2, 3])
    }

    @Test(
        "neverSendFinalMessage: finals still come, Termination / EndOfTranscript never",
        arguments: EmulatorVendor.allCases)
    func neverFinal(vendor: EmulatorVendor) async throws {
        let emulator = try Self.emulator([.neverSendFinalMessage]) { $0.assemblyAI.terminationDelay = .zero }
        defer { emulator.shutdown() }
        let client = try await Self.open(emulator, vendor)
        try await Self.chunks(client, 40)
        try await Self.end(client, vendor, chunks: 40)
        try await client.wait(for: "the last final") { texts in
            texts.contains {
                $0.contains("you?") && ($0.contains(#""end_of_turn":true"#) || $0.contains("AddTranscript"))
            }
        }
        await client.close()
        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(!record.messagesSent.contains { $0.contains(Self.finalMessage(vendor)) })
        #expect(record.transcript == "Hello world. How are you?")
        #expect(record.closedByClient)
    }

    @Test(
        "vendorError: AssemblyAI Error 3005 / Speechmatics job_error 4013 mid-stream",
        arguments: EmulatorVendor.allCases)
    func vendorError(vendor: EmulatorVendor) async throws {
        let emulator = try Self.emulator([.vendorError(afterAudioChunks: 2)])
        defer { emulator.shutdown() }
        let client = try await Self.open(emulator, vendor)
        try? await Self.chunks(client, 2)
        let error = try await client.waitForMessage("Error")
        let closure = try await client.closed()
        switch vendor {
        case .assemblyAI:
            #expect(error["error_code"] as? Int == 3005)
            #expect(error["error"] as? String == "Session Cancelled: An error occurred")
            #expect(closure.peerCode == 3005)
        case .speechmatics:
            #expect(error["type"] as? String == "job_error")
            #expect(closure.peerCode == 4013)
            #expect(closure.peerReason == "job_error")
        }
    }

    @Test("closeBeforeStart: closed before Begin / RecognitionStarted", arguments: EmulatorVendor.allCases)
    func closeBeforeStart(vendor: EmulatorVendor) async throws {
        let emulator = try Self.emulator([.closeBeforeStart(code: 1011)])
        defer { emulator.shutdown() }
        let client: EmulatorClient
        switch vendor {
        case .assemblyAI:
            client = try await EmulatorClient.connect(
                emulator.assemblyAIURL + EmulatorAssemblyAITests.u3Query, headers: assemblyAIKey)
        case .speechmatics:
            client = try await EmulatorClient.connect(emulator.speechmaticsURL, headers: speechmaticsKey)
            try await client.send(json: EmulatorSpeechmaticsTests.start())
        }
        #expect(try await client.closed().peerCode == 1011)
        #expect(!client.objects.contains { ["Begin", "RecognitionStarted"].contains(discriminator($0) ?? "") })
    }

    @Test("neverStart: no Begin / RecognitionStarted")
    func neverStart() async throws {
        let emulator = try Self.emulator([.neverStart])
        defer { emulator.shutdown() }
        let aai = try await EmulatorClient.connect(
            emulator.assemblyAIURL + EmulatorAssemblyAITests.u3Query, headers: assemblyAIKey)
        try await aai.send(json: #"{"type":"Terminate"}"#)
        try await aai.waitForMessage("Termination")
        #expect(aai.objects.compactMap(discriminator) == ["Termination"])

        let sm = try await EmulatorClient.connect(emulator.speechmaticsURL, headers: speechmaticsKey)
        try await sm.send(json: EmulatorSpeechmaticsTests.start())
        try await sm.send(json: #"{"message":"EndOfStream","last_seq_no":0}"#)
        try await sm.waitForMessage("EndOfTranscript")
        #expect(sm.objects.compactMap(discriminator) == ["Info", "EndOfTranscript"])
        await sm.close()
    }
}
