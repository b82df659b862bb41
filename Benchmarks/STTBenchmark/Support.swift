// Small helpers shared by the modes: the benchmark's error, and statistics of run figures.

import Foundation

/// A failed benchmark step, with what went wrong.
struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// `duration` in seconds.
func seconds(_ duration: Duration) -> Double {
    let (whole, attoseconds) = duration.components
    return Double(whole) + Double(attoseconds) / 1e18
}

/// The middle value of `values` (the upper one of the two middle values for an even count).
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted[sorted.count / 2]
}

/// `min–max` of `values`, three significant digits each; empty for no values.
func spread(_ values: [Double]) -> String {
    guard let low = values.min(), let high = values.max() else { return "" }
    return String(format: "%.3g–%.3g", low, high)
}
