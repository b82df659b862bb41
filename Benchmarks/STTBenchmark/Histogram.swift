// A histogram of durations for percentiles over millions of samples in constant memory, and a
// clock shared by every process on the machine.

import Foundation
import Synchronization

/// Durations in nanoseconds, counted in log-linear buckets: exact below 128 ns, then 128 buckets
/// per power of two, so a percentile read back is within 0.8 % of the true sample. The maximum and
/// the sum are exact. About 30 KiB, whatever the number of samples.
struct Histogram: Sendable {
    private static let subBits = 7
    private static let subCount = 1 << subBits
    private var counts = [UInt32](repeating: 0, count: (64 - subBits + 1) * subCount)
    /// The number of samples.
    private(set) var count = 0
    /// The largest sample, in nanoseconds.
    private(set) var max: UInt64 = 0
    /// The sum of the samples, in nanoseconds.
    private(set) var sum: Double = 0

    /// Adds one sample.
    mutating func record(_ nanoseconds: UInt64) {
        counts[Self.bucket(of: nanoseconds)] += 1
        count += 1
        max = Swift.max(max, nanoseconds)
        sum += Double(nanoseconds)
    }

    /// Adds every sample of `other`.
    mutating func merge(_ other: Histogram) {
        for index in counts.indices { counts[index] += other.counts[index] }
        count += other.count
        max = Swift.max(max, other.max)
        sum += other.sum
    }

    private static func bucket(of value: UInt64) -> Int {
        if value < UInt64(subCount) { return Int(value) }
        let exponent = 63 - value.leadingZeroBitCount
        let shift = exponent - subBits
        return (shift + 1) * subCount + Int((value >> UInt64(shift)) - UInt64(subCount))
    }

    /// The middle of bucket `index`, in nanoseconds.
    private static func value(ofBucket index: Int) -> Double {
        if index < subCount { return Double(index) }
        let shift = index / subCount - 1
        let low = Double((UInt64(subCount) + UInt64(index % subCount)) << UInt64(shift))
        return low + Double(UInt64(1) << UInt64(shift)) / 2
    }

    /// The `fraction` quantile (0.5 for the median), in milliseconds; 0 without samples. The
    /// largest sample is returned exactly for `fraction` 1.
    func quantileMilliseconds(_ fraction: Double) -> Double {
        guard count > 0 else { return 0 }
        if fraction >= 1 { return Double(max) / 1e6 }
        let rank = Swift.max(1, Int((fraction * Double(count)).rounded(.up)))
        var seen = 0
        for (index, bucketCount) in counts.enumerated() where bucketCount > 0 {
            seen += Int(bucketCount)
            if seen >= rank { return Swift.min(Self.value(ofBucket: index), Double(max)) / 1e6 }
        }
        return Double(max) / 1e6
    }

    /// Count, p50, p99, p99.9 and maximum (milliseconds), for the JSON output.
    var summary: [String: Any] {
        [
            "count": count, "p50_ms": quantileMilliseconds(0.5), "p99_ms": quantileMilliseconds(0.99),
            "p999_ms": quantileMilliseconds(0.999), "max_ms": quantileMilliseconds(1),
            "mean_ms": count > 0 ? sum / Double(count) / 1e6 : 0,
        ]
    }
}

/// A histogram that many tasks add to at once.
final class SharedHistogram: Sendable {
    private let histogram = Mutex(Histogram())

    /// Adds one sample, in nanoseconds.
    func record(_ nanoseconds: UInt64) {
        histogram.withLock { $0.record(nanoseconds) }
    }

    /// A copy of the histogram so far.
    var snapshot: Histogram { histogram.withLock { $0 } }
}

/// `CLOCK_MONOTONIC` in nanoseconds: one clock for every process on this machine (the emulator
/// stamps its transcript messages with it, see `TranscriptionEmulator.Configuration.stampsTranscripts`).
func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}
