import Logging
import StreamingSTTWebSocket

/// Runs one transcription for a ``StreamingTranscriber``: opens the sessions of the service,
/// feeds their ``SessionStateMachine``s what happens and executes what they ask, keeps the audio
/// for replay, and carries out the ``ReconnectionStateMachine``'s decisions. It knows no vendor:
/// everything vendor-specific comes from the provider's ``TranscriptionVendor``.
///
/// Its background work (reading each connection, reconnection, rollover timers, decoding while
/// nobody reads the events) runs as child tasks of ``run()``: ``spawn(_:)`` hands them over.
/// ``run()`` ends once the transcription has ended and that work is done, or at once when its
/// task is cancelled (the transcription then ends with `cancelled` and every connection is
/// dropped).
package actor TranscriptionDriver {
    enum Phase {
        case idle, connecting, running, stopping
        // Boxed: the summary, with its statistics, is several times the size of the other cases,
        // and the phase is copied where it is checked (`checkRunning()`, `isEnded`: every chunk).
        indirect case ended(Result<SessionSummary, TranscriptionError>)
    }

    /// The provider and its options.
    package nonisolated let provider: TranscriptionProvider
    /// The session settings.
    nonisolated let configuration: StreamingTranscriber.Configuration

    let logger: Logger
    /// The vendor's protocol, from the provider's options.
    let vendor: any TranscriptionVendor
    /// The audio on the wire.
    let wire: WireAudio
    /// Where events wait for the consumer and received messages wait to be decoded.
    let handOff = EventHandOff()
    /// Whether the task that decodes received messages while nobody waits for events runs.
    var decodes = false
    /// Background work for ``run()`` to run as child tasks.
    private let jobs: AsyncStream<@Sendable () async -> Void>
    let jobSink: AsyncStream<@Sendable () async -> Void>.Continuation
    let clock = ContinuousClock()
    var phase = Phase.idle
    /// Every leg not yet ended.
    var legs: [SessionLeg] = []
    /// The leg that receives the audio; `nil` while reconnecting.
    var activeLeg: SessionLeg?
    /// Goes up each time ``activeLeg`` changes.
    var legGeneration = 0
    var nextLegIndex = 0
    /// Sessions that received audio.
    var sessionCount = 0
    /// The first session's description (returned by `start()`).
    var session: SessionInfo?
    var firstConnectedAt: ContinuousClock.Instant?
    /// Where every byte of the wire audio stands; keeps audio for replay with a reconnection policy.
    var ledger: AudioLedger
    /// The reconnection policy's decisions (only with a policy).
    var reconnection: ReconnectionStateMachine?
    /// Places every session's events on the whole stream.
    var timeline = StreamTimeline()
    /// Whether a drain job sends what the replay pace held back.
    var drains = false
    /// Configuration changes made, re-sent to every new session.
    var configurationUpdates: [ConfigurationUpdate] = []
    /// Connections of ended legs that `stop()` waits for (their sockets released).
    var connectionsToRelease: [WebSocketConnection] = []
    /// How the active leg ended after a graceful stop, once it did.
    var stoppedEnd: SessionEnd?
    var waiters: [CheckedContinuation<Void, Never>] = []
    var blockedObservers: [CheckedContinuation<Void, Never>] = []
    var blockedOnAcknowledgements = false
    var sendLockHeld = false
    var sendLockWaiters: [CheckedContinuation<Void, Never>] = []
    var chunker: WireChunker
    var finalCount = 0
    /// The connection state, for readers of ``StreamingTranscriber/connectionStates``.
    nonisolated let connectionStates = ConnectionStateBroadcast()
    /// The session's statistics (see SessionStatisticsRecorder.swift).
    var statistics: SessionStatisticsAccumulator
    /// The audio past which the statistics are told about it (bytes of the stream): one
    /// comparison per chunk (see ``SessionStatisticsAccumulator/nextCheckpoint``).
    var statisticsCheckpoint = 0
    /// The connection state last published.
    var publishedConnectionState = ConnectionState.idle
    /// The reconnection attempt under way (0 when none), for the connection state.
    var reconnectionAttempt = 0
    /// Whether a rollover is opening the next session, for the connection state.
    var rolloverUnderWay = false
    /// The conversion of the caller's audio buffers to the wire format, once it started.
    package var inputConversion: (any AudioInputConversion)?
    /// Metrics and spans (swift-metrics, swift-distributed-tracing; no-op unless configured or
    /// bootstrapped).
    var instruments: SessionInstruments
    /// `instruments.isEnabled`, kept in a constant: reading it through the `var` costs a dynamic
    /// exclusivity check (about 100 instructions), and it is read for every `send(audio:)`.
    let recordsMetrics: Bool

    deinit {
        // Nobody can end the session any more: end its events.
        handOff.finish()
        jobSink.finish()
        connectionStates.finish()
    }

    /// Creates the driver of one transcription; nothing happens until ``start()``.
    package init(provider: TranscriptionProvider, configuration: StreamingTranscriber.Configuration, logger: Logger) {
        self.provider = provider
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "stt.provider"] = "\(provider.kind)"
        self.logger = logger
        (jobs, jobSink) = AsyncStream.makeStream()
        self.vendor = provider.vendor
        let wire = provider.vendor.wireAudio
        self.wire = wire
        self.chunker = WireChunker(
            chunkBytes: wire.bytes(roundingUp: configuration.audioChunkDuration.inSeconds),
            alignment: wire.bytesPerFrame, holdsBackLastChunk: provider.vendor.chunking.holdsBackLastChunk)
        self.ledger = AudioLedger(
            replayCapacity: configuration.reconnection.map { wire.bytes(in: $0.replayBufferDuration) })
        self.reconnection = configuration.reconnection.map(ReconnectionStateMachine.init(policy:))
        let instruments = SessionInstruments(
            provider: provider.kind, factory: configuration.metricsFactory, tracer: configuration.tracer)
        self.instruments = instruments
        self.recordsMetrics = instruments.isEnabled
        self.statistics = SessionStatisticsAccumulator(lagBound: configuration.transcriptLagWarning?.inSeconds)
    }

    // MARK: - Background work

    /// Runs the background work handed to ``spawn(_:)`` as child tasks, until the transcription
    /// has ended and every piece of it returned. When the task running this is cancelled, the
    /// transcription ends at once (`cancelled`, every connection dropped) and the work with it.
    package func run() async {
        await withDiscardingTaskGroup { group in
            for await job in jobs {
                group.addTask { await job() }
            }
            // The jobs end with the transcription; they ended early: this task was cancelled.
            if !isEnded {
                fail(
                    TranscriptionError(
                        .cancelled, provider: provider.kind,
                        reason: "the transcriber was released, or the task that ran it was cancelled"))
                group.cancelAll()
            }
        }
    }

    /// Hands `job` to ``run()``, which runs it as a child task. A job handed over after the
    /// transcription has ended is not run, so no job may be needed after the end.
    func spawn(_ job: @escaping @Sendable () async -> Void) {
        jobSink.yield(job)
    }

    /// The transcription has ended: ``run()`` runs no more jobs and returns once those running
    /// have returned.
    func jobsEnded() {
        jobSink.finish()
    }

    // MARK: - Calls

    /// Connects and waits for the session to start (the first event, ``TranscriptEvent/begin(_:)``,
    /// is delivered too). The first session is not retried, even with a reconnection policy.
    /// - Returns: the session's id and what the service echoed.
    /// - Throws: ``TranscriptionError``: `invalidConfiguration` (nothing was sent),
    ///   `authenticationFailed`, `handshakeRejected`, `connectionFailed`, `timeout`, `vendorError`,
    ///   `tokenRequestFailed`, `cancelled`, `alreadyStarted` — once the connection is released.
    @discardableResult
    package func start() async throws(TranscriptionError) -> SessionInfo {
        guard case .idle = phase else {
            // Ended before any session began (cancelled before `start()`, or by a shutting-down
            // TranscriptionService): that end, not "called twice".
            if isEnded, session == nil, firstConnectedAt == nil { throw endedError() }
            throw TranscriptionError(.alreadyStarted, provider: provider.kind, reason: "start() was called twice")
        }
        instruments.sessionStarted()
        do {
            try validate()
        } catch {
            fail(error)
            throw error
        }
        phase = .connecting
        publishConnectionState()
        let leg: SessionLeg
        do {
            leg = try await openLeg()
        } catch {
            fail(error)
            await releaseConnections()
            throw error
        }
        if isEnded {
            await releaseConnections()
            throw endedError()
        }
        firstConnectedAt = leg.connectedAt
        leg.role = .active
        activeLeg = leg
        sessionCount = 1
        phase = .running
        publishConnectionState()
        await waitForStart(of: leg)
        if let session, !isEnded {
            scheduleRollover(of: leg)
            return session
        }
        await releaseConnections()
        throw endedError()
    }

    /// Sends audio in the provider's wire format (the configured encoding and sample rate, mono,
    /// little-endian), cut into chunks of ``Configuration/audioChunkDuration``.
    ///
    /// Suspends while the send queue is full and, for Speechmatics, while too many chunks wait for
    /// their acknowledgement. Calls are served in order. While a reconnection is under way the
    /// audio is kept for the next session and the call returns at once.
    /// - Throws: ``TranscriptionError``: `notStarted`, `sessionEnded` (with the session's error, if
    ///   any), `connectionLost`, `timeout`, `cancelled`.
    package func send(audio bytes: [UInt8]) async throws(TranscriptionError) {
        try checkRunning()
        try await waitForFirstSession()
        await acquireSendLock()
        defer { releaseSendLock() }
        defer { recordAudioProgress() }
        for chunk in chunker.append(bytes) { try await sendChunk(chunk) }
    }

    /// The audio format sent on the wire: the provider's configured encoding and rate; mono, or
    /// one channel per label of a multichannel session (interleaved).
    package nonisolated var wireFormat: AudioFormat {
        let wire = vendor.wireAudio
        let encoding: AudioFormat.Encoding =
            switch wire.encoding {
            case .int16: .int16
            case .float32: .float32
            case .mulaw: .mulaw
            }
        return AudioFormat(encoding: encoding, sampleRate: wire.sampleRate, channelCount: wire.channelCount)
    }

    /// Ends the current turn at once: AssemblyAI `ForceEndpoint`; Speechmatics
    /// `ForceEndOfUtterance` with the audio time sent so far. Does nothing while reconnecting.
    package func forceEndOfTurn() async throws(TranscriptionError) {
        try checkRunning()
        guard chunker.holdsBackLastChunk else {
            try await sendControl { $0.forceEndOfTurn() }
            return
        }
        // The chunk held back for merging a tail goes first: the turn must end after all the
        // audio given so far, not the last chunk before it.
        await acquireSendLock()
        defer { releaseSendLock() }
        if let held = chunker.takeHeldChunk() { try await sendChunk(held) }
        try await sendControl { $0.forceEndOfTurn() }
    }

    /// Speechmatics `GetSpeakers`: the service answers with ``TranscriptEvent/speakers(_:)``, now
    /// or (with `final`) at the end of the stream. Does nothing while reconnecting.
    package func requestSpeakers(final: Bool) async throws(TranscriptionError) {
        guard provider.kind == .speechmatics else {
            throw TranscriptionError(
                .invalidConfiguration, provider: provider.kind,
                reason: "requestSpeakers() is Speechmatics only (GetSpeakers); AssemblyAI labels speakers on each turn")
        }
        try checkRunning()
        try await sendControl { machine throws(TranscriptionError) in try machine.requestSpeakers(final: final) }
    }

    /// AssemblyAI `KeepAlive`: resets the inactivity timer (only useful with `inactivity_timeout`).
    /// Speechmatics has no such message; this does nothing there.
    package func keepAlive() async throws(TranscriptionError) {
        try checkRunning()
        try await sendControl { $0.keepAlive() }
    }

    /// Changes the session's configuration mid-stream: AssemblyAI `UpdateConfiguration`,
    /// Speechmatics `SetRecognitionConfig`. Only the fields the vendor allows to change are sent.
    /// With reconnection, every later session is sent the same changes before its audio.
    package func updateConfiguration(_ update: ConfigurationUpdate) async throws(TranscriptionError) {
        try checkRunning()
        try vendor.validate(update)
        if configuration.reconnection != nil { configurationUpdates.append(update) }
        // Every open session reads its messages as the change says; the active one is sent it.
        for leg in legs where leg.role != .ended && leg !== activeLeg { _ = try? leg.machine.update(update) }
        try await sendControl { machine throws(TranscriptionError) in try machine.update(update) }
    }

    /// Ends the session gracefully: sends what is left of the audio, the vendor's end message, and
    /// waits (``Configuration/stopTimeout`` plus the audio not yet transcribed, longer while the
    /// service keeps sending) until the service has sent its last final and
    /// its closing message, and every connection is released. ``TranscriptEvent/terminated(_:)`` is
    /// the last event. With
    /// reconnection, a session lost while stopping is replaced and ended in turn, and a session
    /// being rolled over is drained first.
    /// - Returns: the session's summary.
    /// - Throws: ``TranscriptionError``: `timeout` when the service does not finish in time, or
    ///   whatever ended the session.
    @discardableResult
    package func stop() async throws(TranscriptionError) -> SessionSummary {
        switch phase {
        case .idle: throw TranscriptionError(.notStarted, provider: provider.kind, reason: "stop() before start()")
        case .connecting:
            _ = await wait(within: configuration.connectTimeout + configuration.startTimeout) {
                session != nil || isEnded
            }
        case .ended: break
        case .running, .stopping: break
        }
        if case .running = phase {
            try? await waitForFirstSession()
            await acquireSendLock()
            if case .running = phase {
                do {
                    if let inputConversion, let tail = try? inputConversion.flush(), !tail.isEmpty {
                        for chunk in chunker.append(tail) { try await sendChunk(chunk) }
                    }
                    for chunk in chunker.finish(mergeTail: chunker.holdsBackLastChunk) {
                        try await sendChunk(vendor.chunking.padded(chunk, wire: wire))
                    }
                } catch {
                    // The session ended while stopping; `phase` says how.
                }
                if !isEnded {
                    phase = .stopping
                    publishConnectionState()
                    closeStandbyLegs()
                    if let leg = activeLeg { await endSending(on: leg) }
                }
            }
            releaseSendLock()
        }
        while !isEnded {
            if activeLeg == nil {
                // Reconnecting: the new session is ended as soon as it has its audio.
                _ = await wait(within: .seconds(86_400)) { isEnded || activeLeg != nil }
                continue
            }
            let generation = legGeneration
            let finished = await waitForEnd(of: activeLeg) { isEnded || legGeneration != generation }
            if isEnded || legGeneration != generation { continue }
            if !finished {
                fail(
                    TranscriptionError(
                        .timeout, provider: provider.kind,
                        reason:
                            "the service did not finish after the end message (stopTimeout \(configuration.stopTimeout), "
                            + "plus the audio not yet transcribed, and since its last message)",
                        isRetryable: true))
            }
        }
        await releaseConnections()
        guard case .ended(let result) = phase else { throw endedError() }
        return try result.get()
    }

    /// Ends the session at once: drops the connection without the vendor's end message. Finals not
    /// yet received are lost. ``TranscriptEvent/error(_:)`` with ``TranscriptionError/Code/cancelled``
    /// is the last event.
    package func cancel() {
        switch phase {
        case .ended: return
        default: fail(TranscriptionError(.cancelled, provider: provider.kind, reason: "the session was cancelled"))
        }
    }

    /// The session's statistics now.
    package var sessionStatistics: SessionStatistics { currentStatistics }

    /// Waits until a sender is held back by the Speechmatics acknowledgement window (for tests).
    package func waitUntilBlockedOnAcknowledgements() async {
        if blockedOnAcknowledgements { return }
        await withCheckedContinuation { blockedObservers.append($0) }
    }

    /// Seconds of audio sent so far (or, while reconnecting, kept to be sent).
    package var audioSecondsSent: Double {
        wire.seconds(ofBytes: ledger.streamPosition)
    }

    // MARK: - Internals

    /// Waits until the sockets of every ended leg are released.
    private func releaseConnections() async {
        let releasing = connectionsToRelease
        connectionsToRelease.removeAll()
        for connection in releasing { await connection.released() }
    }

    private func validate() throws(TranscriptionError) {
        try vendor.validate(audioChunkDuration: configuration.audioChunkDuration)
        try configuration.reconnection?.validate(provider: provider.kind)
        let warnings = vendor.configurationWarnings(
            reconnects: configuration.reconnection != nil, suppliesCredentials: configuration.credentials != nil)
        for warning in warnings { logger.warning("\(warning)") }
    }

    package func checkRunning() throws(TranscriptionError) {
        switch phase {
        case .running: return
        case .idle, .connecting:
            throw TranscriptionError(.notStarted, provider: provider.kind, reason: "the session has not started")
        case .stopping:
            throw TranscriptionError(.sessionEnded, provider: provider.kind, reason: "the session is stopping")
        case .ended: throw endedError()
        }
    }

    func endedError() -> TranscriptionError {
        if case .ended(.failure(let error)) = phase { return error }
        return TranscriptionError(.sessionEnded, provider: provider.kind, reason: "the session has ended")
    }

    var isEnded: Bool {
        if case .ended = phase { return true }
        return false
    }

    /// Whether the transcription has ended (stopped, failed or cancelled).
    package var hasEnded: Bool { isEnded }

    var isStopping: Bool {
        if case .stopping = phase { return true }
        return false
    }
}
