import Testing

@testable import StreamingSTTProtocol

/// The connection state's derivation and the session statistics' accumulation, without sockets or
/// clocks (instants are passed in): the cases the transcriber's health tests cover over sockets.
@Suite("Session health")
struct SessionHealthTests {
    static let lost = TranscriptionError(.connectionLost, provider: .assemblyAI, reason: "reset", isRetryable: true)
    typealias Inputs = ConnectionState.Inputs

    @Test(
        "the connection state derived from the driver's lifecycle, sessions and reconnection",
        arguments: [
            (Inputs(lifecycle: .idle), ConnectionState.idle),
            (Inputs(lifecycle: .connecting), .connecting),
            (Inputs(lifecycle: .running), .connecting),  // connected, no Begin yet
            (Inputs(lifecycle: .running, firstSessionStarted: true, hasActiveSession: true), .open),
            (
                Inputs(lifecycle: .running, firstSessionStarted: true, hasActiveSession: false),
                .reconnecting(attempt: 1)
            ),
            (
                Inputs(lifecycle: .running, firstSessionStarted: true, hasActiveSession: false, reconnectionAttempt: 3),
                .reconnecting(attempt: 3)
            ),
            (
                Inputs(lifecycle: .running, firstSessionStarted: true, hasActiveSession: true, rollingOver: true),
                .rollingOver
            ),
            // A lost session wins over a rollover under way.
            (
                Inputs(lifecycle: .running, firstSessionStarted: true, hasActiveSession: false, rollingOver: true),
                .reconnecting(attempt: 1)
            ),
            (Inputs(lifecycle: .stopping, firstSessionStarted: true, hasActiveSession: false), .stopping),
            (
                Inputs(lifecycle: .stopping, firstSessionStarted: true, hasActiveSession: true, rollingOver: true),
                .stopping
            ),
            (Inputs(lifecycle: .ended(nil), firstSessionStarted: true, hasActiveSession: true), .ended(nil)),
            (Inputs(lifecycle: .ended(lost)), .ended(lost)),
        ])
    func derive(inputs: Inputs, expected: ConnectionState) {
        #expect(ConnectionState.derive(inputs) == expected)
        #expect(expected.isEnded == (expected == .ended(nil) || expected == .ended(Self.lost)))
    }

    let start = ContinuousClock.now

    enum Step { case audio(Double), final(Double) }

    /// Feeds `steps` the way the driver does: the audio only when it passes the checkpoint, every
    /// final. Returns, for each step, the warning given (if any) and the snapshot after it.
    static func feed(
        _ stats: inout SessionStatisticsAccumulator, _ steps: [Step], at start: ContinuousClock.Instant
    ) -> [(warning: TranscriptLag?, snapshot: SessionStatistics, checkpoint: Double)] {
        var sent = 0.0
        var results: [(warning: TranscriptLag?, snapshot: SessionStatistics, checkpoint: Double)] = []
        for step in steps {
            var warning: TranscriptLag?
            switch step {
            case .audio(let seconds):
                sent = seconds
                if sent > stats.nextCheckpoint { warning = stats.audioSent(totalSeconds: sent, at: start) }
            case .final(let end):
                warning = stats.finalDelivered(end: end, audioSent: sent, at: start)
            }
            results.append((warning, stats.snapshot(now: start, audioSent: sent), stats.nextCheckpoint))
        }
        return results
    }

    @Test("audio sent, finals and the transcript lag: current, maximum, and never negative")
    func lag() {
        var stats = SessionStatisticsAccumulator(lagBound: nil)
        // (audio sent so far, or a final's end; expected lag, expected maximum)
        let table: [(Step, lag: Double, max: Double)] = [
            (.audio(0.5), 0.5, 0.5),
            (.audio(1.0), 1.0, 1.0),
            (.final(0.8), 0.2, 1.0),
            (.audio(3.0), 2.2, 2.2),
            (.final(2.9), 0.1, 2.2),
            (.final(1.0), 0.1, 2.2),  // an older final does not move the transcript back
            (.final(3.2), 0, 2.2),  // a final past the audio sent (padding): no negative lag
        ]
        let results = Self.feed(&stats, table.map(\.0), at: start)
        for ((step, lag, max), result) in zip(table, results) {
            #expect(result.warning == nil)
            #expect(abs(result.snapshot.transcriptLag - lag) < 1e-9, "\(step)")
            #expect(abs(result.snapshot.maxTranscriptLag - max) < 1e-9, "\(step)")
        }
        #expect(results.last?.snapshot.finalCount == 4)
        #expect(results.last?.snapshot.transcribedUntil == 3.2)
        // Without a bound nothing is due after the first audio: no work per chunk.
        #expect(stats.nextCheckpoint == .infinity)
    }

    @Test("the lag warning: once per excursion above the bound, re-armed when the lag drops to it or below")
    func lagWarning() {
        var stats = SessionStatisticsAccumulator(lagBound: 1.0)
        // (step, the warning's lag when one is expected, the checkpoint after it)
        let table: [(Step, warning: Double?, checkpoint: Double)] = [
            (.audio(0.5), nil, 1.0),  // the first audio: due next where the lag would pass 1 s
            (.audio(0.9), nil, 1.0),
            (.audio(1.0), nil, 1.0),  // at the bound: not above it
            (.audio(1.5), 1.5, .infinity),  // above: warned, nothing due until a final
            (.audio(2.5), nil, .infinity),  // still above: once per excursion
            (.final(1.2), nil, .infinity),  // 1.3 behind: still above
            (.final(2.0), nil, 3.0),  // 0.5 behind: re-armed
            (.audio(3.0), nil, 3.0),  // 1.0 behind
            (.audio(3.1), 1.1, .infinity),  // above again: warned again
        ]
        let results = Self.feed(&stats, table.map(\.0), at: start)
        for ((step, expected, checkpoint), result) in zip(table, results) {
            let warning = result.warning
            #expect(warning.map { abs($0.lag - (expected ?? -1)) < 1e-9 } ?? (expected == nil), "\(step)")
            if let warning {
                #expect(warning.bound == 1.0)
                #expect(abs(warning.audioSent - (warning.transcribedUntil + warning.lag)) < 1e-9)
            }
            #expect(result.checkpoint == checkpoint, "\(step)")
        }
    }

    @Test("no bound: never a warning")
    func noBound() {
        var stats = SessionStatisticsAccumulator(lagBound: nil)
        #expect(stats.audioSent(totalSeconds: 1000, at: start) == nil)
        #expect(stats.snapshot(now: start, audioSent: 1000).transcriptLag == 1000)
    }

    @Test("times to the first partial and final count from the first audio; later ones do not move them")
    func firstTranscripts() {
        var stats = SessionStatisticsAccumulator(lagBound: nil)
        #expect(stats.nextCheckpoint == 0)  // the first audio is due
        _ = stats.audioSent(totalSeconds: 0.05, at: start)
        stats.partialDelivered(at: start + .milliseconds(300))
        stats.partialDelivered(at: start + .milliseconds(400))
        _ = stats.finalDelivered(end: 0.5, audioSent: 1, at: start + .milliseconds(900))
        _ = stats.finalDelivered(end: 0.9, audioSent: 1.5, at: start + .milliseconds(1300))
        let snapshot = stats.snapshot(now: start + .seconds(2), audioSent: 1.5)
        #expect(snapshot.timeToFirstPartial == .milliseconds(300))
        #expect(snapshot.timeToFirstFinal == .milliseconds(900))
        #expect(snapshot.partialCount == 2)
        #expect(snapshot.finalCount == 2)
        // Before any audio: no times.
        #expect(
            SessionStatisticsAccumulator(lagBound: nil).snapshot(now: start, audioSent: 0).timeToFirstPartial == nil)
    }

    @Test("receive-to-event latency: the last, the largest and the mean of the decoded batches")
    func latency() {
        var stats = SessionStatisticsAccumulator(lagBound: nil)
        #expect(stats.snapshot(now: start, audioSent: 0).receiveToEventLatency == nil)
        for (arrived, decoded) in [(0, 2), (10, 16), (20, 21)] {
            stats.messagesDecoded(
                receivedAt: start + .milliseconds(arrived), decodedAt: start + .milliseconds(decoded))
        }
        let snapshot = stats.snapshot(now: start + .milliseconds(100), audioSent: 0)
        #expect(snapshot.receiveToEventLatency == .milliseconds(1))
        #expect(snapshot.maxReceiveToEventLatency == .milliseconds(6))
        #expect(snapshot.meanReceiveToEventLatency == .milliseconds(3))
        // The last message 21 ms in, read at 100 ms.
        #expect(snapshot.lastMessageAge == .milliseconds(79))
    }

    @Test("reconnections, rollovers, lost and acknowledged audio go into the snapshot")
    func sessions() {
        var stats = SessionStatisticsAccumulator(lagBound: nil)
        stats.reconnected(rollover: false)
        stats.reconnected(rollover: true)
        stats.reconnected(rollover: false)
        stats.audioAcknowledged(totalSeconds: 2.0)
        stats.audioAcknowledged(totalSeconds: 1.5)  // a new session acknowledges from its start
        let snapshot = stats.snapshot(now: start, audioSent: 0, lostAudioSeconds: 0.25)
        #expect(snapshot.reconnections == 2)
        #expect(snapshot.rollovers == 1)
        #expect(snapshot.lostAudioSeconds == 0.25)
        #expect(snapshot.audioSecondsAcknowledged == 2.0)
        #expect(
            SessionStatisticsAccumulator(lagBound: nil).snapshot(now: start, audioSent: 0).audioSecondsAcknowledged
                == nil)
    }
}
