import Synchronization

/// The time the relay's limits are measured in: the audio rate, sessions per minute, and how long
/// a minted token holds its session slot. The server uses ``SystemRelayClock``; a test passes a
/// clock it advances by hand, so that a rate test does not depend on wall time.
package protocol RelayClock: Sendable {
    /// The time elapsed since a fixed origin (never goes back).
    var now: Duration { get }
}

/// The monotonic system clock (`ContinuousClock`), from the moment it is created.
package struct SystemRelayClock: RelayClock {
    private let origin = ContinuousClock.now

    /// A clock starting at zero now.
    package init() {}

    package var now: Duration { ContinuousClock.now - origin }
}

/// The audio rate cap of one session: a token bucket over the bytes of the session's audio format
/// that refills at `bytesPerSecond × realTimeFactor` and holds `burst` of audio. A message is
/// admitted while the bucket is not empty (so the bucket may owe one message), which lets a
/// client catch up after a short network stall and cuts off any sustained faster stream.
///
/// Time the relay itself spends not reading (starting the vendor session, a full send queue) is
/// not held against the client: the audio that piles up meanwhile arrives at once, so that time
/// refills the bucket beyond its size (``relayWaited(from:to:)``). Either way a session never
/// gets more than the burst plus `realTimeFactor` × the time since it began.
package struct AudioRateLimit: Sendable {
    /// Bytes per second admitted over time.
    let rate: Double
    /// Bytes admitted at once, on top of the rate.
    let capacity: Double
    private var level: Double
    private var updated: Duration

    /// A full bucket at `now`.
    package init(bytesPerSecond: Int, realTimeFactor: Double, burst: Duration, now: Duration) {
        rate = Double(bytesPerSecond) * realTimeFactor
        capacity = Double(bytesPerSecond) * Self.seconds(burst)
        level = capacity
        updated = now
    }

    /// Takes `count` bytes received at `now`; `false` when the session is above the cap.
    package mutating func admit(_ count: Int, now: Duration) -> Bool {
        refill(to: now)
        guard level > 0 else { return false }
        level -= Double(count)
        return true
    }

    /// The relay did not read the client from `start` to `end`: that time refills the bucket
    /// without the size limit.
    package mutating func relayWaited(from start: Duration, to end: Duration) {
        refill(to: start)
        let from = max(start, updated)
        guard end > from else { return }
        level += rate * Self.seconds(end - from)
        updated = end
    }

    /// Refills up to the bucket's size; a level above it (``relayWaited(from:to:)``) is kept.
    private mutating func refill(to now: Duration) {
        guard now > updated else { return }
        level = max(level, min(capacity, level + rate * Self.seconds(now - updated)))
        updated = now
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
