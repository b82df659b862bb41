import Logging
import StreamingSTTSupport

/// Multichannel audio for a vendor without a multichannel protocol (AssemblyAI): one session of
/// the service per channel, the vendor's documented approach, each its own
/// ``TranscriptionDriver`` (with its own reconnection and rollover), and their events merged into
/// one sequence, transcripts labelled with their channel.
///
/// - `start()` opens the channels' sessions one after the other, in channel order; if one fails,
///   the others are cancelled and its error is thrown.
/// - Audio is interleaved in the wire format with one channel per label; each channel's samples go
///   to its own session.
/// - Events: one `begin` (the first channel's), then every channel's events as they come, with
///   ``Transcript/channel`` and ``EndOfUtterance/channel`` set; each channel's times are its own
///   session's, so they only go forward within a channel. The first failure is delivered once
///   (the other channels are cancelled); after a graceful stop of every channel, one `terminated`
///   with the channels' summaries merged. A `lagging` warning comes from one channel and says
///   which (``/StreamingSTTProtocol/TranscriptLag/channel``).
/// - The connection state and the statistics are the channels' merged
///   (``/StreamingSTTProtocol/ConnectionState/merging(_:)``,
///   ``/StreamingSTTProtocol/SessionStatistics/merging(_:)``), and so are those of the summary.
/// - `stop()` drains every channel's session.
package actor ChannelFanOut {
    /// The channels' labels, in wire order.
    package nonisolated let labels: [String]
    /// One driver per channel, in label order.
    package nonisolated let drivers: [TranscriptionDriver]
    /// The merged events.
    nonisolated let handOff = EventHandOff()
    /// The merged connection state, as it changes (while ``run()`` runs).
    nonisolated let connectionStates = ConnectionStateBroadcast()
    private nonisolated let provider: ProviderKind
    /// Opened once every channel's session started, so that `begin` comes first.
    private nonisolated let gates: [AsyncStream<Void>]
    private nonisolated let openGates: [AsyncStream<Void>.Continuation]
    /// Each channel's summary once it terminated, its error once it failed.
    private var summaries: [Int: SessionSummary] = [:]
    private var failure: TranscriptionError?
    private var ended = 0

    /// Creates one driver per label, each with `configuration`.
    package init(
        provider: TranscriptionProvider, configuration: StreamingTranscriber.Configuration, labels: [String],
        logger: Logger
    ) {
        self.labels = labels
        self.provider = provider.kind
        drivers = labels.map { label in
            var logger = logger
            logger[metadataKey: "stt.channel"] = "\(label)"
            return TranscriptionDriver(provider: provider, configuration: configuration, logger: logger)
        }
        var gates: [AsyncStream<Void>] = []
        var openGates: [AsyncStream<Void>.Continuation] = []
        for _ in labels {
            let (gate, open) = AsyncStream<Void>.makeStream()
            gates.append(gate)
            openGates.append(open)
        }
        self.gates = gates
        self.openGates = openGates
    }

    deinit {
        connectionStates.finish()
    }

    /// Runs every channel's background work and the merging of their events, until all ended.
    package func run() async {
        await withDiscardingTaskGroup { group in
            for (index, driver) in drivers.enumerated() {
                group.addTask { await driver.run() }
                group.addTask { await self.forward(channel: index) }
                group.addTask {
                    for await _ in driver.connectionStates.subscribe() { await self.publishConnectionState() }
                }
            }
        }
    }

    /// Starts every channel's session, in channel order.
    package func start() async throws(TranscriptionError) -> SessionInfo {
        defer { for gate in openGates { gate.finish() } }
        if labels.contains(where: \.isEmpty) || Set(labels).count != labels.count {
            let error = TranscriptionError(
                .invalidConfiguration, provider: provider, reason: "channel labels must be unique and not empty")
            failure = error
            handOff.yield(.error(error))
            for driver in drivers { await driver.cancel() }
            throw error
        }
        var first: SessionInfo?
        for driver in drivers {
            do {
                let info = try await driver.start()
                if first == nil { first = info }
            } catch {
                // Its error is the one delivered; the other channels' cancellations are not.
                if failure == nil {
                    failure = error
                    handOff.yield(.error(error))
                }
                for other in drivers where other !== driver { await other.cancel() }
                throw error
            }
        }
        guard let first else {
            throw TranscriptionError(.notStarted, provider: provider, reason: "no channel")
        }
        handOff.yield(.begin(first))
        return first
    }

    /// Forwards channel `index`'s events, labelled, once every channel started.
    private func forward(channel index: Int) async {
        for await _ in gates[index] {}
        let label = labels[index]
        for await event in TranscriptEvents(handOff: drivers[index].handOff) {
            switch event {
            case .begin:
                continue  // one begin, from start()
            case .partial(var transcript):
                transcript.channel = label
                if failure == nil { handOff.yield(.partial(transcript)) }
            case .final(var transcript):
                transcript.channel = label
                if failure == nil { handOff.yield(.final(transcript)) }
            case .endOfUtterance(var end):
                end.channel = label
                if failure == nil { handOff.yield(.endOfUtterance(end)) }
            case .lagging(var lag):
                lag.channel = label
                if failure == nil { handOff.yield(.lagging(lag)) }
            case .terminated(let summary):
                summaries[index] = summary
            case .error(let error):
                if failure == nil {
                    failure = error
                    handOff.yield(.error(error))
                    for driver in drivers { await driver.cancel() }
                }
            default:
                if failure == nil { handOff.yield(event) }
            }
        }
        ended += 1
        if ended == drivers.count {
            if failure == nil, let summary = merged() { handOff.yield(.terminated(summary)) }
            handOff.finish()
        }
    }

    /// A channel's connection state changed: publishes the merged state, from every channel's
    /// current one (on the actor, so that a later publication never carries older states).
    private func publishConnectionState() {
        connectionStates.publish(connectionState)
    }

    /// The merged connection state now, from the channels' current states.
    package nonisolated var connectionState: ConnectionState {
        .merging(drivers.map(\.connectionStates.current))
    }

    /// The channels' statistics now, merged.
    package nonisolated var statistics: SessionStatistics {
        get async {
            var all: [SessionStatistics] = []
            for driver in drivers { all.append(await driver.sessionStatistics) }
            return .merging(all)
        }
    }

    /// The channels' summaries as one: the first channel's id, the longest audio and session, the
    /// finals and sessions of all, the most audio lost, the statistics merged.
    private func merged() -> SessionSummary? {
        let all = drivers.indices.compactMap { summaries[$0] }
        guard all.count == drivers.count, var summary = all.first else { return nil }
        summary.audioDuration = all.map(\.audioDuration).max() ?? 0
        summary.sessionDuration = all.map(\.sessionDuration).max() ?? 0
        summary.finalCount = all.reduce(0) { $0 + $1.finalCount }
        summary.sessionCount = all.reduce(0) { $0 + $1.sessionCount }
        summary.lostAudio = all.map(\.lostAudio).max() ?? 0
        summary.statistics = .merging(all.map(\.statistics))
        return summary
    }

    /// Splits interleaved wire audio into its channels and sends each to its session.
    package func send(audio bytes: [UInt8]) async throws(TranscriptionError) {
        let channels = drivers.count
        let sample = drivers[0].wireFormat.bytesPerFrame
        let frame = sample * channels
        guard bytes.count % frame == 0 else {
            throw TranscriptionError(
                .audioFailed, provider: provider,
                reason: "multichannel audio must be whole frames of \(channels) interleaved channels")
        }
        for (index, driver) in drivers.enumerated() {
            var channel = [UInt8]()
            channel.reserveCapacity(bytes.count / channels)
            var start = index * sample
            while start < bytes.count {
                channel.append(contentsOf: bytes[start..<(start + sample)])
                start += frame
            }
            try await driver.send(audio: channel)
        }
    }

    /// Stops every channel's session, all at once, and returns the merged summary.
    package func stop() async throws(TranscriptionError) -> SessionSummary {
        let results = await withTaskGroup(of: (Int, Result<SessionSummary, TranscriptionError>).self) { group in
            for (index, driver) in drivers.enumerated() {
                group.addTask {
                    do throws(TranscriptionError) {
                        return (index, .success(try await driver.stop()))
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            var results: [Int: Result<SessionSummary, TranscriptionError>] = [:]
            for await (index, result) in group { results[index] = result }
            return results
        }
        for index in drivers.indices {
            if case .failure(let error) = results[index] { throw failure ?? error }
            if case .success(let summary) = results[index] { summaries[index] = summary }
        }
        guard let summary = merged() else {
            throw failure ?? TranscriptionError(.sessionEnded, provider: provider, reason: "the session has ended")
        }
        return summary
    }

    /// Cancels every channel's session.
    package func cancel() async {
        for driver in drivers { await driver.cancel() }
    }

    /// Runs `body` on every channel's driver, in order.
    package func forEach(
        _ body: (TranscriptionDriver) async throws(TranscriptionError) -> Void
    ) async throws(TranscriptionError) {
        for driver in drivers { try await body(driver) }
    }

    /// Whether every channel has ended.
    package var hasEnded: Bool {
        get async {
            for driver in drivers where await !driver.hasEnded { return false }
            return true
        }
    }
}
