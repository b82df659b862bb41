import Foundation
import StreamingSTTTesting
import Testing

@testable import StreamingSTT

/// Multichannel transcription over the emulator's socket (ws and wss): a stereo buffer is split
/// into its channels in our code (never mixed down), each channel goes to Speechmatics as its own
/// `AddChannelAudio` stream, and each final carries the label of the channel it was heard on.
@Suite("Channels against the emulator")
struct TranscriberChannelsTests {
    /// The left channel says one thing, the right another.
    static let script =
        EmulatorScript(text: "Hello there.", startingAt: 0.3, channel: 0)
        + EmulatorScript(text: "Good morning to you.", startingAt: 0.5, channel: 1)

    /// A transcriber of the emulator's AssemblyAI with one session per channel of `labels`,
    /// configured as the emulator tests configure theirs, then by `configure`.
    static func assemblyAIPerChannel(
        _ emulator: TranscriptionEmulator, labels: [String],
        configure: (inout StreamingTranscriber.Configuration) -> Void = { _ in }
    ) -> StreamingTranscriber {
        let options = AssemblyAI(
            credentials: .apiKey("emulator-key"), speechModel: .u3RealtimePro, endpoint: .custom(emulator.assemblyAIURL)
        )
        var configuration = TranscriberEmulatorTests.configuration()
        configuration.channelLabels = labels
        configure(&configuration)
        return StreamingTranscriber(provider: .assemblyAI(options), configuration: configuration)
    }

    /// `seconds` of 16 kHz stereo s16: left samples all `left`, right samples all `right`.
    static func stereo(seconds: Double, left: Int16, right: Int16) -> AudioBuffer {
        let frames = Int(seconds * 16000)
        var samples = [Int16]()
        samples.reserveCapacity(frames * 2)
        for _ in 0..<frames { samples += [left, right] }
        return AudioBuffer(format: .pcm16(sampleRate: 16000, channelCount: 2), int16Samples: samples)
    }

    static func options(_ emulator: TranscriptionEmulator, labels: [String]) -> Speechmatics {
        var options = Speechmatics(credentials: .apiKey("emulator-key"), endpoint: .custom(emulator.speechmaticsURL))
        options.maxDelay = 1.0
        options.enablePartials = true
        options.diarization = .channel
        options.channelDiarizationLabels = labels
        return options
    }

    @Test(
        "a stereo buffer: finals labelled by the channel that said them, each channel's audio intact",
        arguments: [false, true])
    func stereoBuffer(secure: Bool) async throws {
        let emulator = try TranscriberEmulatorTests.emulator(secure: secure) { $0.script = Self.script }
        defer { emulator.shutdown() }
        let configuration = TranscriberEmulatorTests.configuration()
        let transcriber = StreamingTranscriber(
            provider: .speechmatics(Self.options(emulator, labels: ["agent", "caller"])), configuration: configuration)
        #expect(transcriber.wireFormat == .pcm16(sampleRate: 16000, channelCount: 2))
        let collector = Task {
            var all: [TranscriptEvent] = []
            for await event in transcriber.events { all.append(event) }
            return all
        }
        let seconds = Self.script.duration + 1.5
        let buffer = Self.stereo(seconds: seconds, left: 1000, right: -1000)
        try await withTimeout(.seconds(60)) {
            try await transcriber.start()
            // In pieces of 0.1 s, as a capture device would give them.
            let piece = 3200 * 2
            var offset = 0
            while offset < buffer.bytes.count {
                let end = min(buffer.bytes.count, offset + piece)
                try await transcriber.send(
                    AudioBuffer(format: buffer.format, bytes: Array(buffer.bytes[offset..<end])))
                offset = end
            }
            try await transcriber.stop()
        }
        let events = await collector.value
        let finals = TranscriberEmulatorTests.finals(events)
        let byChannel = Dictionary(grouping: finals, by: { $0.channel ?? "none" })
        #expect(Set(byChannel.keys) == ["agent", "caller"])
        #expect(byChannel["agent"]?.map(\.text).joined(separator: " ") == "Hello there.")
        #expect(byChannel["caller"]?.map(\.text).joined(separator: " ") == "Good morning to you.")
        // Each channel's times only go forward.
        for (_, transcripts) in byChannel {
            #expect(zip(transcripts, transcripts.dropFirst()).allSatisfy { $0.end <= $1.start + 1e-9 })
        }
        let partials = events.compactMap { if case .partial(let transcript) = $0 { transcript } else { nil } }
        #expect(!partials.isEmpty && partials.allSatisfy { $0.channel == "agent" || $0.channel == "caller" })

        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(record.violations.isEmpty, "\(record.violations)")
        let start = try #require(record.textMessagesReceived.first)
        #expect(start.contains(#""diarization":"channel","channel_diarization_labels":["agent","caller"]"#))
        // Every AddChannelAudio carries one channel's samples only: 1000 on the left, -1000 on the
        // right, none mixed (a down-mix would give 0), and all of them.
        let samples = stride(from: 0, to: record.audio.count - 1, by: 2).map {
            Int16(bitPattern: UInt16(record.audio[$0]) | UInt16(record.audio[$0 + 1]) << 8)
        }
        #expect(samples.count == buffer.bytes.count / 2)
        #expect(samples.filter { $0 == 1000 }.count == samples.count / 2)
        #expect(samples.filter { $0 == -1000 }.count == samples.count / 2)
        let channelMessages = record.textMessagesReceived.filter { $0.contains(#""AddChannelAudio""#) }
        #expect(channelMessages.count % 2 == 0 && !channelMessages.isEmpty)
        let ends = record.textMessagesReceived.filter { $0.contains("EndOfChannel") }
        let perChannel = channelMessages.count / 2
        #expect(
            ends == [
                #"{"message":"EndOfChannel","channel":"agent","last_seq_no":\#(perChannel)}"#,
                #"{"message":"EndOfChannel","channel":"caller","last_seq_no":\#(perChannel)}"#,
            ])
    }

    @Test("a buffer whose channel count is not the session's is refused, not mixed down")
    func wrongChannelCount() async throws {
        let emulator = try TranscriberEmulatorTests.emulator(secure: false) { $0.script = Self.script }
        defer { emulator.shutdown() }
        let transcriber = StreamingTranscriber(
            provider: .speechmatics(Self.options(emulator, labels: ["agent", "caller"])),
            configuration: TranscriberEmulatorTests.configuration())
        try await withTimeout(.seconds(30)) {
            try await transcriber.start()
            let mono = AudioBuffer(format: .pcm16(sampleRate: 16000), int16Samples: [Int16](repeating: 0, count: 1600))
            await #expect(throws: TranscriptionError.self) { try await transcriber.send(mono) }
            await transcriber.cancel()
        }
    }

    /// Runs `transcriber` over `buffer` in 0.1 s pieces; returns its events and summary.
    static func run(
        _ transcriber: StreamingTranscriber, _ buffer: AudioBuffer
    ) async throws -> (events: [TranscriptEvent], summary: SessionSummary) {
        let collector = Task {
            var all: [TranscriptEvent] = []
            for await event in transcriber.events { all.append(event) }
            return all
        }
        let summary = try await withTimeout(.seconds(60)) {
            try await transcriber.start()
            let piece = 3200 * buffer.format.channelCount
            var offset = 0
            while offset < buffer.bytes.count {
                let end = min(buffer.bytes.count, offset + piece)
                try await transcriber.send(AudioBuffer(format: buffer.format, bytes: Array(buffer.bytes[offset..<end])))
                offset = end
            }
            return try await transcriber.stop()
        }
        return (await collector.value, summary)
    }

    @Test(
        "AssemblyAI: one session per channel, events merged and labelled, each channel's times forward, stop drains all",
        arguments: [false, true])
    func assemblyAISessionPerChannel(secure: Bool) async throws {
        let emulator = try TranscriberEmulatorTests.emulator(secure: secure) {
            // The n-th session hears the n-th channel (the transcriber opens them in channel order).
            $0.sessionScript = { info in Self.script.channel(info.vendorIndex) }
        }
        defer { emulator.shutdown() }
        let transcriber = Self.assemblyAIPerChannel(emulator, labels: ["agent", "caller"])
        #expect(transcriber.wireFormat == .pcm16(sampleRate: 16000, channelCount: 2))
        let buffer = Self.stereo(seconds: Self.script.duration + 1.5, left: 1000, right: -1000)
        let (events, summary) = try await Self.run(transcriber, buffer)

        // One begin first, one terminated last, nothing in between but labelled transcripts.
        #expect(events.filter { if case .begin = $0 { true } else { false } }.count == 1)
        if case .begin = events.first {} else { Issue.record("first: \(String(describing: events.first))") }
        if case .terminated = events.last {} else { Issue.record("last: \(String(describing: events.last))") }
        let finals = TranscriberEmulatorTests.finals(events)
        let byChannel = Dictionary(grouping: finals, by: { $0.channel ?? "none" })
        #expect(Set(byChannel.keys) == ["agent", "caller"])
        #expect(byChannel["agent"]?.map(\.text).joined(separator: " ") == "Hello there.")
        #expect(byChannel["caller"]?.map(\.text).joined(separator: " ") == "Good morning to you.")
        for (_, transcripts) in byChannel {
            #expect(zip(transcripts, transcripts.dropFirst()).allSatisfy { $0.end <= $1.start + 1e-9 })
        }
        #expect(summary.finalCount == finals.count)
        #expect(summary.sessionCount == 2)

        // Two sessions, each given one channel of the buffer, mono, whole.
        let records = await emulator.waitForSessions(count: 2)
        #expect(records.count == 2)
        for (record, value) in zip(records, [Int16(1000), -1000]) {
            #expect(record.violations.isEmpty, "\(record.violations)")
            let samples = stride(from: 0, to: record.audio.count - 1, by: 2).map {
                Int16(bitPattern: UInt16(record.audio[$0]) | UInt16(record.audio[$0 + 1]) << 8)
            }
            #expect(samples.count == buffer.bytes.count / 4)
            #expect(samples.allSatisfy { $0 == value })
        }
    }

    @Test("AssemblyAI per channel: interleaved wire bytes through send(audio:) are split the same way")
    func assemblyAIWireBytes() async throws {
        let emulator = try TranscriberEmulatorTests.emulator(secure: false) {
            $0.sessionScript = { info in Self.script.channel(info.vendorIndex) }
        }
        defer { emulator.shutdown() }
        let transcriber = Self.assemblyAIPerChannel(emulator, labels: ["left", "right"])
        let buffer = Self.stereo(seconds: Self.script.duration + 1.5, left: 7, right: -7)
        let (events, _) = try await TranscriberEmulatorTests.run(transcriber, audio: buffer.bytes, piece: 6400)
        let finals = TranscriberEmulatorTests.finals(events)
        #expect(finals.filter { $0.channel == "left" }.map(\.text).joined(separator: " ") == "Hello there.")
        #expect(finals.filter { $0.channel == "right" }.map(\.text).joined(separator: " ") == "Good morning to you.")
    }

    @Test("Speechmatics: Configuration.channelLabels is channel diarization with those labels")
    func speechmaticsConfigurationLabels() async throws {
        let emulator = try TranscriberEmulatorTests.emulator(secure: false) { $0.script = Self.script }
        defer { emulator.shutdown() }
        var options = Speechmatics(credentials: .apiKey("emulator-key"), endpoint: .custom(emulator.speechmaticsURL))
        options.maxDelay = 1.0
        options.diarization = .speaker
        var configuration = TranscriberEmulatorTests.configuration()
        configuration.channelLabels = ["agent", "caller"]
        let transcriber = StreamingTranscriber(provider: .speechmatics(options), configuration: configuration)
        let buffer = Self.stereo(seconds: Self.script.duration + 1.5, left: 1000, right: -1000)
        let (events, _) = try await Self.run(transcriber, buffer)
        let finals = TranscriberEmulatorTests.finals(events)
        #expect(finals.filter { $0.channel == "caller" }.map(\.text).joined(separator: " ") == "Good morning to you.")
        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(
            record.textMessagesReceived.first?.contains(
                #""diarization":"channel_and_speaker","channel_diarization_labels":["agent","caller"]"#) == true)
    }

    @Test("AssemblyAI per channel: a channel's lost session reconnects on its own; the other goes on; stop drains all")
    func assemblyAIReconnectionPerChannel() async throws {
        let emulator = try TranscriberEmulatorTests.emulator(secure: false) {
            // Session 0 is the left channel; every later one the right (its first one drops).
            $0.sessionScript = { info in Self.script.channel(info.vendorIndex == 0 ? 0 : 1) }
            $0.faults = { info in info.vendorIndex == 1 ? [.dropConnection(afterAudioChunks: 8)] : [] }
        }
        defer { emulator.shutdown() }
        let transcriber = Self.assemblyAIPerChannel(emulator, labels: ["agent", "caller"]) { configuration in
            configuration.reconnection = ReconnectionPolicy(
                initialDelay: .milliseconds(20), maxDelay: .milliseconds(100))
        }
        let buffer = Self.stereo(seconds: Self.script.duration + 1.5, left: 1000, right: -1000)
        let (events, summary) = try await Self.run(transcriber, buffer)
        let reconnected = events.compactMap { if case .reconnected(let notice) = $0 { notice } else { nil } }
        #expect(reconnected.count == 1)
        let finals = TranscriberEmulatorTests.finals(events)
        #expect(finals.filter { $0.channel == "agent" }.map(\.text).joined(separator: " ") == "Hello there.")
        let caller = finals.filter { $0.channel == "caller" }
        #expect(!caller.isEmpty && finals.allSatisfy { $0.channel != nil })
        for channel in [finals.filter { $0.channel == "agent" }, caller] {
            #expect(zip(channel, channel.dropFirst()).allSatisfy { $0.start <= $1.start })
        }
        #expect(summary.sessionCount == 3)
        #expect(summary.statistics.reconnections == 1, "the channels' reconnections summed")
        if case .terminated = events.last {} else { Issue.record("last: \(String(describing: events.last))") }
    }

    @Test("AssemblyAI per channel: one channel's failure is delivered once, as the last event; the others are ended")
    func assemblyAIFailureOfOneChannel() async throws {
        let emulator = try TranscriberEmulatorTests.emulator(secure: false) {
            $0.sessionScript = { info in Self.script.channel(info.vendorIndex) }
            $0.faults = { info in info.vendorIndex == 1 ? [.vendorError(afterAudioChunks: 5)] : [] }
        }
        defer { emulator.shutdown() }
        let transcriber = Self.assemblyAIPerChannel(emulator, labels: ["agent", "caller"])
        let collector = Task {
            var all: [TranscriptEvent] = []
            for await event in transcriber.events { all.append(event) }
            return all
        }
        let buffer = Self.stereo(seconds: Self.script.duration + 1.5, left: 1000, right: -1000)
        await #expect(throws: TranscriptionError.self) {
            try await withTimeout(.seconds(60)) {
                try await transcriber.start()
                var offset = 0
                while offset < buffer.bytes.count {
                    let end = min(buffer.bytes.count, offset + 6400)
                    try await transcriber.send(
                        AudioBuffer(format: buffer.format, bytes: Array(buffer.bytes[offset..<end])))
                    offset = end
                }
                try await transcriber.stop()
            }
        }
        let events = try await withTimeout(.seconds(30)) { await collector.value }
        let errors = events.compactMap { if case .error(let error) = $0 { error } else { nil } }
        #expect(errors.count == 1)
        #expect(errors.first?.code == .vendorError, "\(errors)")
        if case .error = events.last {} else { Issue.record("last: \(String(describing: events.last))") }
        #expect(!events.contains { if case .terminated = $0 { true } else { false } })
        let records = await emulator.waitForSessions(count: 2)
        #expect(records.count == 2)
        // The connection ended with the failure, not with the other channel's cancellation.
        let ended = try await withTimeout(.seconds(10), "the connection state") {
            var last: ConnectionState?
            for await state in transcriber.connectionStates { last = state }
            return last
        }
        guard case .ended(let error) = ended else { Issue.record("\(String(describing: ended))"); return }
        #expect(error?.code == .vendorError, "\(String(describing: error))")
    }

    @Test("AssemblyAI per channel: each channel's session rolls over on its own before its limit; nothing lost")
    func assemblyAIRolloverPerChannel() async throws {
        // Every session expires after 20 s (`expires_at`, in whole seconds); each channel's first
        // session starts its successor 10 s before, 9-10 s in, and switches at the next end of
        // turn (a sentence ends every 0.6 s), at 14-15 s at the latest; the successors would roll
        // over only after 19 s, after the 17 s of audio. Wide margins, as in the one-channel
        // rollover test, so that this holds on a loaded machine under a sanitizer. The same words
        // on both channels: the successors' order of opening is not fixed.
        let script = EmulatorScript(
            text: String(repeating: "One. Two. ", count: 20), startingAt: 0.05, wordDuration: 0.2, gap: 0.05,
            sentenceGap: 0.4)
        let emulator = try TranscriberEmulatorTests.emulator(secure: false) {
            $0.script = script
            $0.assemblyAI.maxSessionDuration = .seconds(20)
        }
        defer { emulator.shutdown() }
        let transcriber = Self.assemblyAIPerChannel(emulator, labels: ["agent", "caller"]) { configuration in
            configuration.reconnection = ReconnectionPolicy(rolloverLeadTime: .seconds(10))
        }
        let collector = Task {
            var all: [TranscriptEvent] = []
            for await event in transcriber.events { all.append(event) }
            return all
        }
        // 17 s of stereo audio in 0.1 s buffers, paced in real time (rollover follows the clock).
        let pieces = 170
        let piece = Self.stereo(seconds: 0.1, left: 1000, right: -1000)
        let buffers = [AudioBuffer](repeating: piece, count: pieces).enumerated().map { index, buffer in
            AudioBuffer(format: buffer.format, bytes: buffer.bytes, startFrame: Int64(index * 1600))
        }
        let summary = try await withTimeout(.seconds(90)) {
            try await transcriber.start()
            try await transcriber.stream(
                from: AudioSequenceSource(
                    buffers: AsyncStream { continuation in
                        for buffer in buffers { continuation.yield(buffer) }
                        continuation.finish()
                    }, format: piece.format), pacing: .realTime)
            return try await transcriber.stop()
        }
        let events = await collector.value
        let rollovers = events.compactMap { if case .reconnected(let notice) = $0 { notice } else { nil } }
        // One rollover per channel. On a machine so loaded that the paced audio outlasts a
        // successor's own schedule (seen with two sanitized test runs beside this one), that
        // successor rolls over too: allowed, as long as nothing is lost.
        #expect(rollovers.count >= 2 && rollovers.allSatisfy { $0.reason == .rollover && $0.lostAudio == 0 })
        #expect(summary.sessionCount == 2 + rollovers.count)
        let finals = TranscriberEmulatorTests.finals(events)
        var delivered: [String] = []
        for label in ["agent", "caller"] {
            let channel = finals.filter { $0.channel == label }
            #expect(zip(channel, channel.dropFirst()).allSatisfy { $0.end <= $1.start + 1e-9 }, "\(label)")
            let sessions = Set(channel.map(\.sessionIndex))
            #expect(sessions.isSuperset(of: [0, 1]), "\(label): its first two sessions, at least")
            for index in sessions.sorted() {
                delivered.append(channel.filter { $0.sessionIndex == index }.map(\.text).joined(separator: " "))
            }
        }
        let records = await emulator.waitForSessions(count: summary.sessionCount)
        // Every session's finals delivered, once, to its channel (each emulated session says the
        // script from its own start, so a channel's sessions are compared one by one; a session
        // that took over too late to transcribe anything has nothing to deliver).
        #expect(delivered.sorted() == records.map(\.transcript).filter { !$0.isEmpty }.sorted())
        #expect(records.count == summary.sessionCount && records.allSatisfy { $0.violations.isEmpty })
        let received: Int = records.map(\.audioByteCount).reduce(0, +)
        let sent: Int = pieces * 3200 * 2
        #expect(received == sent, "every byte went to exactly one session of its channel")
    }

    @Test(
        "AssemblyAI per channel: the connection state, the statistics and the lag warnings are the channels' merged"
    )
    func assemblyAIHealthPerChannel() async throws {
        let emulator = try TranscriberEmulatorTests.emulator(secure: false) {
            $0.sessionScript = { info in Self.script.channel(info.vendorIndex) }
        }
        defer { emulator.shutdown() }
        let transcriber = Self.assemblyAIPerChannel(emulator, labels: ["agent", "caller"]) { configuration in
            // Each channel's first final ends after 0.3 s of its audio: every channel lags past this.
            configuration.transcriptLagWarning = .milliseconds(200)
        }
        let stateSequence = transcriber.connectionStates
        let states = Task {
            var all: [ConnectionState] = []
            for await state in stateSequence { all.append(state) }
            return all
        }
        let buffer = Self.stereo(seconds: Self.script.duration + 1.5, left: 1000, right: -1000)
        let (events, summary) = try await Self.run(transcriber, buffer)
        let seen = try await withTimeout(.seconds(10), "the connection states") { await states.value }

        // Open only once every channel is; ended only once every channel is.
        #expect(seen.first == .idle && seen.last == .ended(nil), "\(seen)")
        if let open = seen.firstIndex(of: .open) {
            #expect(!seen[open...].contains(.connecting), "\(seen)")
        } else {
            Issue.record("never open: \(seen)")
        }
        #expect(transcriber.connectionState == .ended(nil))

        let finals = TranscriberEmulatorTests.finals(events)
        #expect(Set(finals.compactMap(\.channel)) == ["agent", "caller"])
        let duration = Double(buffer.bytes.count / 4) / 16000
        for statistics in [summary.statistics, await transcriber.statistics] {
            #expect(abs(statistics.audioSecondsSent - duration) < 1e-9, "the audio once, not per channel")
            #expect(statistics.finalCount == finals.count, "\(statistics)")
            #expect(statistics.partialCount == events.filter { if case .partial = $0 { true } else { false } }.count)
        }
        if case .terminated(let terminated) = events.last {
            #expect(terminated.statistics.finalCount == finals.count)
        } else {
            Issue.record("last: \(String(describing: events.last))")
        }

        // Each channel warned of its own lag, and says which it is.
        let warnings = events.compactMap { if case .lagging(let lag) = $0 { lag } else { nil } }
        #expect(Set(warnings.compactMap(\.channel)) == ["agent", "caller"], "\(warnings)")
        #expect(warnings.allSatisfy { $0.channel != nil })
    }
}
