/// How fast buffers are handed on.
public enum AudioPacing: Sendable, Hashable {
    /// In real time: a buffer is due when its first frame would play, counted from the first
    /// buffer (chunk k of duration Δ is due at t0 + k·Δ).
    case realTime
    /// As fast as the consumer takes them (for files, when the provider allows it).
    case asFastAsPossible
}

/// Releases buffers on a schedule: chunk k is due at t0 + k·Δ on a monotonic clock.
///
/// Due times come from each buffer's ``AudioBuffer/startFrame`` relative to the first buffer's,
/// not from sleeping a chunk's duration after each send, so time spent sending never accumulates
/// into drift, and a gap in the stream is waited out like audio.
///
/// ```swift
/// var pacer = AudioPacer(.realTime)
/// for try await chunk in chunks {
///     try await pacer.wait(for: chunk)
///     try await send(chunk)
/// }
/// ```
package struct AudioPacer<C: Clock>: Sendable where C.Duration == Duration {
    /// The schedule.
    package let pacing: AudioPacing
    /// The clock the schedule runs on.
    package let clock: C
    private var origin: (instant: C.Instant, startFrame: Int64, sampleRate: Int)?

    /// Creates a pacer on `clock`.
    package init(_ pacing: AudioPacing, clock: C) {
        self.pacing = pacing
        self.clock = clock
    }

    /// When `buffer` is due; the first buffer fixes t0 (now). `nil` when pacing is
    /// ``AudioPacing/asFastAsPossible``.
    package mutating func deadline(for buffer: AudioBuffer) -> C.Instant? {
        guard pacing == .realTime else { return nil }
        guard let origin, origin.sampleRate == buffer.format.sampleRate else {
            let now = clock.now
            origin = (now, buffer.startFrame, buffer.format.sampleRate)
            return now
        }
        return origin.instant.advanced(by: buffer.format.duration(ofFrames: buffer.startFrame - origin.startFrame))
    }

    /// Waits until `buffer` is due (returns at once if it is already late or pacing is off).
    /// - Throws: ``AudioError/Code/cancelled`` if the task is cancelled while waiting.
    package mutating func wait(for buffer: AudioBuffer) async throws(AudioError) {
        guard let due = deadline(for: buffer) else { return }
        guard clock.now < due else { return }
        do {
            try await clock.sleep(until: due, tolerance: .milliseconds(1))
        } catch {
            throw AudioError(.cancelled, detail: "cancelled while pacing")
        }
    }
}

extension AudioPacer where C == ContinuousClock {
    /// Creates a pacer on the monotonic `ContinuousClock`.
    package init(_ pacing: AudioPacing) {
        self.init(pacing, clock: ContinuousClock())
    }
}
