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

    @Test("audio sent, finals and the transcript lag: current, maximum, and never negative")
    func lag() {
        var stats = SessionStatisticsAccumulator(lagBound: nil)
        // (audio sent so far, or a final's end; expected lag, expected maximum)
        enum Step { case audio(Double), final(Double) }
        let table: [(Step, lag: Double, max: Double)] = [
            (.audio(0.5), 0.5, 0.5),
            (.audio(1.0), 1.0, 1.0),
            (.final(0.8), 0.2, 1.0),
            (.audio(3.0), 2.2, 2.2),
            (.final(2.9), 0.1, 2.2),
            (.final(1.0), 0.1, 2.2),  // an older final does not move the transcript back
            (.final(3.2), 0, 2.2),  // a final past the audio sent (padding): no negative lag
        ]
        for (step, lag, max) in table {
            switch step {
            case .audio(let seconds): #expect(stats.audioSent(totalSeconds: seconds) == nil)
            case .final(let end): #expect(stats.finalDelivered(end: end, at: start) == nil)
            }
            #expect(abs(stats.transcriptLag - lag) < 1e-9, "\(step)")
            #expect(abs(stats.maxTranscriptLag - max) < 1e-9, "\(step)")
        }
        #expect(stats.finalCount == 4)
    }

    @Test("the lag warning: once per excursion above the bound, re-armed when the lag drops to it or below")
    func lagWarning() {
        var stats = SessionStatisticsAccumulator(lagBound: 1.0)
        enum Step { case audio(Double), final(Double) }
        // (step, the warning's lag when one is expected)
        let table: [(Step, warning: Double?)] = [
            (.audio(0.9), nil),
            (.audio(1.0), nil),  // at the bound: not above it
            (.audio(1.5), 1.5),  // above: warned
            (.audio(2.5), nil),  // still above: once per excursion
            (.final(1.2), nil),  // 1.3 behind: still above
            (.final(2.0), nil),  // 0.5 behind: re-armed
            (.audio(3.0), nil),  // 1.0 behind
            (.audio(3.1), 1.1),  // above again: warned again
        ]
        for (step, expected) in table {
            let warning: TranscriptLag?
            switch step {
            case .audio(let seconds): warning = stats.audioSent(totalSeconds: seconds)
            case .final(let end): warning = stats.finalDelivered(end: end, at: start)
            }
            #expect(warning.map { abs($0.lag - (expected ?? -1)) < 1e-9 } ?? (expected == nil), "\(step)")
            if let warning {
                #expect(warning.bound == 1.0)
                #expect(abs(warning.audioSent - (warning.transcribedUntil + warning.lag)) < 1e-9)
            }
        }
    }

    @Test("no bound: never a warning")
    func noBound() {
        var stats = SessionStatisticsAccumulator(lagBound: nil)
        #expect(stats.audioSent(totalSeconds: 1000) == nil)
        #expect(stats.transcriptLag == 1000)
    }

    @Test("times to the first partial and final count from the first audio; later ones do not move them")
    func firstTranscripts() {
        var stats = SessionStatisticsAccumulator(lagBound: nil)
        #expect(stats.awaitsFirstAudio)
        stats.firstAudioSent(at: start)
        #expect(!stats.awaitsFirstAudio)
        stats.partialDelivered(at: start + .milliseconds(300))
        stats.partialDelivered(at: start + .milliseconds(400))
        _ = stats.finalDelivered(end: 0.5, at: start + .milliseconds(900))
        _ = stats.finalDelivered(end: 0.9, at: start + .milliseconds(1300))
        let snapshot = stats.snapshot(now: start + .seconds(2))
        #expect(snapshot.timeToFirstPartial == .milliseconds(300))
        #expect(snapshot.timeToFirstFinal == .milliseconds(900))
        #expect(snapshot.partialCount == 2)
        #expect(snapshot.finalCount == 2)
        // Before any audio: no times.
        #expect(SessionStatisticsAccumulator(lagBound: nil).snapshot(now: start).timeToFirstPartial == nil)
    }

    @Test("receive-to-event latency: the last, the largest and the mean of the decoded batches")
    func latency() {
        var stats = SessionStatisticsAccumulator(lagBound: nil)
        #expect(stats.snapshot(now: start).receiveToEventLatency == nil)
        for (arrived, decoded) in [(0, 2), (10, 16), (20, 21)] {
            stats.messagesDecoded(
                receivedAt: start + .milliseconds(arrived), decodedAt: start + .milliseconds(decoded))
        }
        let snapshot = stats.snapshot(now: start + .milliseconds(100))
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
        let snapshot = stats.snapshot(now: start, lostAudioSeconds: 0.25)
        #expect(snapshot.reconnections == 2)
        #expect(snapshot.rollovers == 1)
        #expect(snapshot.lostAudioSeconds == 0.25)
        #expect(snapshot.audioSecondsAcknowledged == 2.0)
        #expect(SessionStatisticsAccumulator(lagBound: nil).snapshot(now: start).audioSecondsAcknowledged == nil)
    }
}
