import Testing

@testable import StreamingSTTProtocol

/// Multichannel AssemblyAI runs one session per channel: the transcriber's connection state and
/// statistics are the channels' merged. Pure, without sockets.
@Suite("Channel health merge")
struct ChannelHealthMergeTests {
    static let lost = TranscriptionError(.connectionLost, provider: .assemblyAI, reason: "reset")
    static let cancelled = TranscriptionError(.cancelled, provider: .assemblyAI, reason: "cancelled")

    @Test(
        "the connection state of several channels",
        arguments: [
            ([ConnectionState.idle, .idle], ConnectionState.idle),
            ([.connecting, .idle], .connecting),  // start() opens the channels in order
            ([.open, .idle], .connecting),
            ([.open, .connecting], .connecting),  // connecting until all are open
            ([.open, .open], .open),
            ([.open, .rollingOver], .rollingOver),
            ([.rollingOver, .reconnecting(attempt: 2)], .reconnecting(attempt: 2)),
            ([.reconnecting(attempt: 1), .reconnecting(attempt: 3)], .reconnecting(attempt: 3)),
            ([.open, .reconnecting(attempt: 1)], .reconnecting(attempt: 1)),
            ([.open, .stopping], .stopping),
            ([.stopping, .reconnecting(attempt: 1)], .stopping),  // a lost session is replaced while stopping
            ([.ended(nil), .stopping], .stopping),  // ended only when all ended
            ([.ended(nil), .open], .stopping),
            ([.ended(nil), .ended(nil)], .ended(nil)),
            ([.ended(nil), .ended(lost)], .ended(lost)),  // failed if any failed
            // One channel's failure cancels the others: the failure is the cause, not the cancellations.
            ([.ended(cancelled), .ended(lost), .ended(cancelled)], .ended(lost)),
            ([.ended(cancelled), .ended(cancelled)], .ended(cancelled)),
            ([.ended(lost), .open], .stopping),
            ([.open], .open),
        ] as [([ConnectionState], ConnectionState)])
    func connectionState(channels: [ConnectionState], merged: ConnectionState) {
        #expect(ConnectionState.merging(channels) == merged)
    }

    @Test("no channel is idle")
    func noChannel() {
        #expect(ConnectionState.merging([]) == .idle)
        #expect(SessionStatistics.merging([]) == SessionStatistics())
    }

    @Test("the statistics of several channels: the audio once, the worst lag, counts summed, the earliest firsts")
    func statistics() {
        let left = SessionStatistics(
            audioSecondsSent: 10, transcribedUntil: 9, transcriptLag: 1, maxTranscriptLag: 3,
            timeToFirstPartial: .milliseconds(400), timeToFirstFinal: .milliseconds(1500),
            receiveToEventLatency: .milliseconds(2), maxReceiveToEventLatency: .milliseconds(9),
            meanReceiveToEventLatency: .milliseconds(2), lastMessageAge: .milliseconds(100),
            pingRoundTrip: .milliseconds(20), partialCount: 30, finalCount: 4, reconnections: 1, rollovers: 0,
            lostAudioSeconds: 0.5)
        let right = SessionStatistics(
            audioSecondsSent: 10, transcribedUntil: 7, transcriptLag: 3, maxTranscriptLag: 4,
            timeToFirstPartial: .milliseconds(300), timeToFirstFinal: nil,
            receiveToEventLatency: .milliseconds(5), maxReceiveToEventLatency: .milliseconds(6),
            meanReceiveToEventLatency: .milliseconds(4), lastMessageAge: .milliseconds(700),
            pingRoundTrip: .milliseconds(30), partialCount: 12, finalCount: 2, reconnections: 2, rollovers: 1,
            lostAudioSeconds: 0.25)
        let merged = SessionStatistics.merging([left, right])
        let expected = SessionStatistics(
            audioSecondsSent: 10, audioSecondsAcknowledged: nil, transcribedUntil: 7, transcriptLag: 3,
            maxTranscriptLag: 4, timeToFirstPartial: .milliseconds(300), timeToFirstFinal: .milliseconds(1500),
            receiveToEventLatency: .milliseconds(5), maxReceiveToEventLatency: .milliseconds(9),
            meanReceiveToEventLatency: .milliseconds(3), lastMessageAge: .milliseconds(700),
            pingRoundTrip: .milliseconds(30), partialCount: 42, finalCount: 6, reconnections: 3, rollovers: 1,
            lostAudioSeconds: 0.5)
        #expect(merged == expected)
        // One channel is itself.
        #expect(SessionStatistics.merging([right]) == right)
    }

    @Test(
        "merged statistics, field by field",
        arguments: [
            // A channel a moment behind while the audio is split: the audio sent is the furthest.
            (
                [SessionStatistics(audioSecondsSent: 2), SessionStatistics(audioSecondsSent: 1.95)],
                SessionStatistics(audioSecondsSent: 2)
            ),
            // Acknowledged: what every channel's service confirmed.
            (
                [
                    SessionStatistics(audioSecondsAcknowledged: 3), SessionStatistics(audioSecondsAcknowledged: 2),
                ],
                SessionStatistics(audioSecondsAcknowledged: 2)
            ),
            // Unknown before any channel's first message or answer.
            (
                [SessionStatistics(), SessionStatistics(lastMessageAge: .seconds(1), pingRoundTrip: .seconds(1))],
                SessionStatistics(lastMessageAge: .seconds(1), pingRoundTrip: .seconds(1))
            ),
            // The worst channel's lag, now and at most, independently.
            (
                [
                    SessionStatistics(transcriptLag: 0.5, maxTranscriptLag: 6),
                    SessionStatistics(transcriptLag: 2, maxTranscriptLag: 2),
                ],
                SessionStatistics(transcriptLag: 2, maxTranscriptLag: 6)
            ),
        ] as [([SessionStatistics], SessionStatistics)])
    func statisticsFields(channels: [SessionStatistics], merged: SessionStatistics) {
        #expect(SessionStatistics.merging(channels) == merged)
    }

    @Test("a lag warning names its channel; a single channel's has none")
    func lagChannel() {
        var lag = TranscriptLag(lag: 2, bound: 1, audioSent: 3, transcribedUntil: 1)
        #expect(lag.channel == nil)
        lag.channel = "caller"
        #expect(lag == TranscriptLag(lag: 2, bound: 1, audioSent: 3, transcribedUntil: 1, channel: "caller"))
    }
}
