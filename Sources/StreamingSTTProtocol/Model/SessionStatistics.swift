/// How a `StreamingTranscriber` session is doing: what went out, how far the transcript trails it,
/// how quickly the service answers. Read it at any time (`StreamingTranscriber.statistics`); the
/// ``SessionSummary`` of a graceful stop carries the last one. Times in seconds of audio count
/// from the start of the audio, across every session of a reconnection or rollover.
public struct SessionStatistics: Sendable, Hashable {
    /// Seconds of audio sent so far (with a reconnection policy: given to the transcriber, sent or
    /// kept for the next session).
    public var audioSecondsSent: Double
    /// Seconds of audio the service confirmed it received (Speechmatics `AudioAdded`), up to the
    /// position in the stream; `nil` for a vendor that does not acknowledge audio (AssemblyAI).
    public var audioSecondsAcknowledged: Double?
    /// The end of the newest final, in seconds from the start of the audio (0 before the first).
    public var transcribedUntil: Double
    /// How far the newest final's end trails the audio sent, in seconds (``audioSecondsSent``
    /// less ``transcribedUntil``, never negative). It grows while audio goes out without a final:
    /// within a turn (AssemblyAI finals end turns), in silence after the last word, and when audio
    /// is sent faster than real time.
    public var transcriptLag: Double
    /// The largest ``transcriptLag`` so far.
    public var maxTranscriptLag: Double
    /// From the first audio sent to the first partial; `nil` before it.
    public var timeToFirstPartial: Duration?
    /// From the first audio sent to the first final; `nil` before it.
    public var timeToFirstFinal: Duration?
    /// How long the latest batch of messages took from arriving on the connection to its events
    /// being queued for the consumer (decoding and waiting for the transcriber); `nil` before the
    /// first message. Messages that arrive together are measured from the oldest.
    public var receiveToEventLatency: Duration?
    /// The largest receive→event latency so far.
    public var maxReceiveToEventLatency: Duration?
    /// The mean receive→event latency over every batch so far.
    public var meanReceiveToEventLatency: Duration?
    /// How long ago the last message from the service was read (audio acknowledgements
    /// included), when the statistics were taken; `nil` before the first.
    public var lastMessageAge: Duration?
    /// The round trip of the last WebSocket keepalive ping the service answered (from writing
    /// the ping to its pong), on the session receiving the audio; `nil` before the first answer,
    /// and with keepalive off (`Configuration.keepalive`, a ping every 30 s by default).
    public var pingRoundTrip: Duration?
    /// Partials delivered.
    public var partialCount: Int
    /// Finals delivered.
    public var finalCount: Int
    /// Sessions replaced after a failure (``ReconnectionPolicy``).
    public var reconnections: Int
    /// Sessions replaced before their time limit.
    public var rollovers: Int
    /// Seconds of audio no session transcribes (the replay buffer overflowed during an outage, or
    /// a rolled-over session failed before its last finals).
    public var lostAudioSeconds: Double

    /// Creates statistics; everything is zero or unknown by default.
    public init(
        audioSecondsSent: Double = 0, audioSecondsAcknowledged: Double? = nil, transcribedUntil: Double = 0,
        transcriptLag: Double = 0, maxTranscriptLag: Double = 0, timeToFirstPartial: Duration? = nil,
        timeToFirstFinal: Duration? = nil, receiveToEventLatency: Duration? = nil,
        maxReceiveToEventLatency: Duration? = nil, meanReceiveToEventLatency: Duration? = nil,
        lastMessageAge: Duration? = nil, pingRoundTrip: Duration? = nil, partialCount: Int = 0, finalCount: Int = 0,
        reconnections: Int = 0,
        rollovers: Int = 0, lostAudioSeconds: Double = 0
    ) {
        self.audioSecondsSent = audioSecondsSent
        self.audioSecondsAcknowledged = audioSecondsAcknowledged
        self.transcribedUntil = transcribedUntil
        self.transcriptLag = transcriptLag
        self.maxTranscriptLag = maxTranscriptLag
        self.timeToFirstPartial = timeToFirstPartial
        self.timeToFirstFinal = timeToFirstFinal
        self.receiveToEventLatency = receiveToEventLatency
        self.maxReceiveToEventLatency = maxReceiveToEventLatency
        self.meanReceiveToEventLatency = meanReceiveToEventLatency
        self.lastMessageAge = lastMessageAge
        self.pingRoundTrip = pingRoundTrip
        self.partialCount = partialCount
        self.finalCount = finalCount
        self.reconnections = reconnections
        self.rollovers = rollovers
        self.lostAudioSeconds = lostAudioSeconds
    }

    /// The statistics of a transcription made of one session per channel (multichannel
    /// AssemblyAI), from the channels' statistics; one channel's are returned as they are. Pure.
    ///
    /// - The audio is counted once, not per channel (every channel is given the same seconds of
    ///   the multichannel audio): ``audioSecondsSent`` is the channels' furthest (they can differ
    ///   by a chunk while audio is split), ``audioSecondsAcknowledged`` what every channel's
    ///   service confirmed (`nil` unless all did).
    /// - The worst channel's: ``transcribedUntil`` (the earliest), ``transcriptLag`` and
    ///   ``maxTranscriptLag`` (the largest, each on its own), ``lastMessageAge``,
    ///   ``pingRoundTrip``, ``receiveToEventLatency`` and ``maxReceiveToEventLatency`` (the
    ///   largest), ``lostAudioSeconds`` (the most).
    /// - The earliest ``timeToFirstPartial`` and ``timeToFirstFinal``.
    /// - ``meanReceiveToEventLatency``: the mean of the channels' means (channels receive their
    ///   messages at similar rates).
    /// - Summed: ``partialCount``, ``finalCount``, ``reconnections``, ``rollovers``.
    package static func merging(_ channels: [SessionStatistics]) -> SessionStatistics {
        guard var merged = channels.first else { return SessionStatistics() }
        merged.audioSecondsSent = channels.map(\.audioSecondsSent).max() ?? 0
        let acknowledged = channels.compactMap(\.audioSecondsAcknowledged)
        merged.audioSecondsAcknowledged = acknowledged.count == channels.count ? acknowledged.min() : nil
        merged.transcribedUntil = channels.map(\.transcribedUntil).min() ?? 0
        merged.transcriptLag = channels.map(\.transcriptLag).max() ?? 0
        merged.maxTranscriptLag = channels.map(\.maxTranscriptLag).max() ?? 0
        merged.timeToFirstPartial = channels.compactMap(\.timeToFirstPartial).min()
        merged.timeToFirstFinal = channels.compactMap(\.timeToFirstFinal).min()
        merged.receiveToEventLatency = channels.compactMap(\.receiveToEventLatency).max()
        merged.maxReceiveToEventLatency = channels.compactMap(\.maxReceiveToEventLatency).max()
        let means = channels.compactMap(\.meanReceiveToEventLatency)
        merged.meanReceiveToEventLatency = means.isEmpty ? nil : means.reduce(.zero, +) / means.count
        merged.lastMessageAge = channels.compactMap(\.lastMessageAge).max()
        merged.pingRoundTrip = channels.compactMap(\.pingRoundTrip).max()
        merged.partialCount = channels.reduce(0) { $0 + $1.partialCount }
        merged.finalCount = channels.reduce(0) { $0 + $1.finalCount }
        merged.reconnections = channels.reduce(0) { $0 + $1.reconnections }
        merged.rollovers = channels.reduce(0) { $0 + $1.rollovers }
        merged.lostAudioSeconds = channels.map(\.lostAudioSeconds).max() ?? 0
        return merged
    }
}

/// The transcript trails the audio sent by more than
/// `StreamingTranscriber.Configuration.transcriptLagWarning`: the payload of
/// ``TranscriptEvent/lagging(_:)``.
public struct TranscriptLag: Sendable, Hashable {
    /// How far the newest final's end trails the audio sent, in seconds.
    public var lag: Double
    /// The bound it went above, in seconds.
    public var bound: Double
    /// Seconds of audio sent.
    public var audioSent: Double
    /// The end of the newest final, in seconds from the start of the audio (0 before the first).
    public var transcribedUntil: Double
    /// The label of the channel whose transcript lags, when each channel is transcribed by its own
    /// session (multichannel AssemblyAI, `Configuration.channelLabels`): each channel warns on its
    /// own, its times its own. `nil` otherwise.
    public var channel: String?

    /// Creates a lag notice.
    public init(lag: Double, bound: Double, audioSent: Double, transcribedUntil: Double, channel: String? = nil) {
        self.lag = lag
        self.bound = bound
        self.audioSent = audioSent
        self.transcribedUntil = transcribedUntil
        self.channel = channel
    }
}

/// Accumulates a transcriber's ``SessionStatistics`` from what the driver reports, and decides
/// when the transcript lag goes above the warning bound (once per excursion, re-armed when it is
/// back at or below it). Pure: instants are passed in.
///
/// Nothing is due per audio chunk: the lag only grows while audio goes out and only drops when a
/// final arrives, so its maximum is taken just before each final (and when read), and the driver
/// reports the audio only once it passes ``nextCheckpoint`` (the first audio, or where the lag
/// would go above the bound): one comparison per chunk.
package struct SessionStatisticsAccumulator: Sendable {
    /// The lag warning's bound in seconds; `nil`: no warning.
    package let lagBound: Double?
    /// Past this many seconds of audio sent, the driver calls ``audioSent(totalSeconds:at:)``;
    /// infinite when nothing is due.
    package private(set) var nextCheckpoint = 0.0
    private var transcribed = 0.0
    private var maxLag = 0.0
    /// Whether the lag is above the bound (a warning was given for this excursion).
    package private(set) var isLagging = false
    private var firstAudioAt: ContinuousClock.Instant?
    private var firstPartialAt: ContinuousClock.Instant?
    private var firstFinalAt: ContinuousClock.Instant?
    private var partialCount = 0
    private var finalCount = 0
    private var reconnections = 0
    private var rollovers = 0
    private var acknowledged: Double?
    private var lastLatency: Duration?
    private var maxLatency = Duration.zero
    private var latencySum = Duration.zero
    private var latencyCount = 0
    private var lastMessageAt: ContinuousClock.Instant?

    /// Creates an accumulator; `lagBound` in seconds, `nil` for no warning.
    package init(lagBound: Double?) {
        self.lagBound = lagBound
    }

    /// The audio went past ``nextCheckpoint``: the stream holds `totalSeconds` of audio at `now`.
    /// Returns the warning to give, if the lag just went above the bound.
    package mutating func audioSent(totalSeconds: Double, at now: ContinuousClock.Instant) -> TranscriptLag? {
        if firstAudioAt == nil { firstAudioAt = now }
        return lagChanged(audioSent: totalSeconds)
    }

    /// A partial was delivered at `now`.
    package mutating func partialDelivered(at now: ContinuousClock.Instant) {
        partialCount += 1
        if firstPartialAt == nil { firstPartialAt = now }
    }

    /// A final ending `end` seconds into the stream was delivered at `now`, with `audioSent`
    /// seconds of audio sent. Returns the warning to give, if any (a final only brings the lag
    /// down, so none in practice; it re-arms the warning).
    package mutating func finalDelivered(
        end: Double, audioSent: Double, at now: ContinuousClock.Instant
    ) -> TranscriptLag? {
        finalCount += 1
        if firstFinalAt == nil { firstFinalAt = now }
        // The lag peaked just before this final.
        maxLag = max(maxLag, audioSent - transcribed)
        if end > transcribed { transcribed = end }
        return lagChanged(audioSent: audioSent)
    }

    /// Messages that arrived at `receivedAt` (the oldest of them) were decoded and their events
    /// queued at `decodedAt`.
    package mutating func messagesDecoded(receivedAt: ContinuousClock.Instant, decodedAt: ContinuousClock.Instant) {
        let latency = max(.zero, decodedAt - receivedAt)
        lastLatency = latency
        if latency > maxLatency { maxLatency = latency }
        latencySum += latency
        latencyCount += 1
        lastMessageAt = decodedAt
    }

    /// A message was read at `now` without going through the decoder (an acknowledgement counted
    /// on the connection's thread).
    package mutating func messageRead(at now: ContinuousClock.Instant) {
        if lastMessageAt.map({ now > $0 }) ?? true { lastMessageAt = now }
    }

    /// The service has acknowledged `totalSeconds` of the stream.
    package mutating func audioAcknowledged(totalSeconds: Double) {
        acknowledged = max(acknowledged ?? 0, totalSeconds)
    }

    /// A new session took over: after a failure, or (`rollover`) before a time limit.
    package mutating func reconnected(rollover: Bool) {
        if rollover { rollovers += 1 } else { reconnections += 1 }
    }

    /// The statistics at `now`, with `audioSent` seconds of audio sent, the audio lost so far and
    /// the transport's last ping round trip.
    package func snapshot(
        now: ContinuousClock.Instant, audioSent: Double, lostAudioSeconds: Double = 0, pingRoundTrip: Duration? = nil
    ) -> SessionStatistics {
        let lag = max(0, audioSent - transcribed)
        return SessionStatistics(
            audioSecondsSent: audioSent, audioSecondsAcknowledged: acknowledged, transcribedUntil: transcribed,
            transcriptLag: lag, maxTranscriptLag: max(maxLag, lag),
            timeToFirstPartial: firstAudioAt.flatMap { start in firstPartialAt.map { $0 - start } },
            timeToFirstFinal: firstAudioAt.flatMap { start in firstFinalAt.map { $0 - start } },
            receiveToEventLatency: lastLatency, maxReceiveToEventLatency: lastLatency.map { _ in maxLatency },
            meanReceiveToEventLatency: latencyCount > 0 ? latencySum / latencyCount : nil,
            lastMessageAge: lastMessageAt.map { max(.zero, now - $0) }, pingRoundTrip: pingRoundTrip,
            partialCount: partialCount, finalCount: finalCount, reconnections: reconnections, rollovers: rollovers,
            lostAudioSeconds: lostAudioSeconds)
    }

    private mutating func lagChanged(audioSent: Double) -> TranscriptLag? {
        let lag = max(0, audioSent - transcribed)
        maxLag = max(maxLag, lag)
        var warning: TranscriptLag?
        if let bound = lagBound {
            if lag <= bound {
                isLagging = false
            } else if !isLagging {
                isLagging = true
                warning = TranscriptLag(lag: lag, bound: bound, audioSent: audioSent, transcribedUntil: transcribed)
            }
        }
        // Due next: where the lag would go above the bound, while the warning is armed.
        nextCheckpoint = lagBound.map { isLagging ? .infinity : transcribed + $0 } ?? .infinity
        return warning
    }
}
