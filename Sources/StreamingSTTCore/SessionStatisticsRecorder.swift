// Session health: the connection state and the statistics of a transcription, fed by small hooks
// in the driver (`record…`, `publishConnectionState()`); the accumulation and the derivation are
// pure (SessionStatisticsAccumulator, ConnectionState.derive) and tested without sockets.
extension TranscriptionDriver {
    // MARK: Connection state

    /// What the connection state is derived from, now.
    var connectionStateInputs: ConnectionState.Inputs {
        let lifecycle: ConnectionState.Lifecycle
        switch phase {
        case .idle: lifecycle = .idle
        case .connecting: lifecycle = .connecting
        case .running: lifecycle = .running
        case .stopping: lifecycle = .stopping
        case .ended(.success): lifecycle = .ended(nil)
        case .ended(.failure(let error)): lifecycle = .ended(error)
        }
        return ConnectionState.Inputs(
            lifecycle: lifecycle, firstSessionStarted: session != nil, hasActiveSession: activeLeg != nil,
            reconnectionAttempt: reconnectionAttempt,
            rollingOver: rolloverUnderWay || activeLeg?.successor != nil)
    }

    /// Publishes the connection state if it changed: called at every change of the driver's state.
    func publishConnectionState() {
        let state = ConnectionState.derive(connectionStateInputs)
        guard state != publishedConnectionState else { return }
        publishedConnectionState = state
        connectionStates.publish(state)
    }

    // MARK: Statistics

    /// The audio went past the statistics' checkpoint (see ``SessionStatisticsAccumulator``):
    /// the first audio, or the lag may have gone above the warning bound. The caller checks
    /// `ledger.streamPosition > statisticsCheckpoint` after each chunk, nothing more.
    func recordAudioPastCheckpoint() {
        if let lag = statistics.audioSent(totalSeconds: wire.seconds(ofBytes: ledger.streamPosition), at: clock.now) {
            handOff.yield(.lagging(lag))
        }
        updateStatisticsCheckpoint()
    }

    /// A transcript (in the stream's times) is about to be delivered.
    func recordDelivered(_ event: TranscriptEvent) {
        switch event {
        case .partial:
            statistics.partialDelivered(at: clock.now)
        case .final(let transcript):
            let sent = wire.seconds(ofBytes: ledger.streamPosition)
            if let lag = statistics.finalDelivered(end: transcript.end, audioSent: sent, at: clock.now) {
                handOff.yield(.lagging(lag))
            }
            if recordsMetrics {
                instruments.recordStatistics(
                    receiveToEventLatency: nil, transcriptLag: .seconds(max(0, sent - transcript.end)))
            }
            updateStatisticsCheckpoint()
        default:
            break
        }
    }

    /// The stream position (bytes) past which the audio is reported again.
    private func updateStatisticsCheckpoint() {
        let seconds = statistics.nextCheckpoint
        statisticsCheckpoint =
            seconds.isFinite ? Int((seconds * Double(wire.bytesPerSecond)).rounded(.down)) : .max
    }

    /// Messages that arrived at `receivedAt` (the oldest) have been decoded.
    func recordMessagesDecoded(receivedAt: ContinuousClock.Instant?) {
        guard let receivedAt else { return }
        let decodedAt = clock.now
        statistics.messagesDecoded(receivedAt: receivedAt, decodedAt: decodedAt)
        if recordsMetrics {
            instruments.recordStatistics(receiveToEventLatency: decodedAt - receivedAt, transcriptLag: nil)
        }
    }

    /// A new session took over.
    func recordReconnected(_ reason: ReconnectionReason) {
        if case .rollover = reason {
            statistics.reconnected(rollover: true)
        } else {
            statistics.reconnected(rollover: false)
        }
    }

    /// The statistics now.
    var currentStatistics: SessionStatistics {
        var statistics = self.statistics
        if let leg = activeLeg, let counter = leg.acknowledgements {
            if let last = counter.lastAdvance { statistics.messageRead(at: last) }
            // Chunks are of one size but the last: the acknowledged audio, at most what was sent.
            let bytes = min(leg.machine.bytesSent, counter.value * chunker.chunkBytes)
            statistics.audioAcknowledged(totalSeconds: wire.seconds(ofBytes: leg.startPosition + bytes))
        }
        return statistics.snapshot(
            now: clock.now, audioSent: wire.seconds(ofBytes: ledger.streamPosition),
            lostAudioSeconds: wire.seconds(ofBytes: ledger.lostBytes),
            pingRoundTrip: activeLeg?.connection.pingRoundTrip)
    }
}
