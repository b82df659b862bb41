import Foundation
import StreamingSTT

/// Passes a source's buffers through, measuring them for the status line, and ends early when a
/// graceful stop is requested (Ctrl-C).
final class MeteredSource: AudioSource, @unchecked Sendable {
    // @unchecked: `base` is only iterated by the one task streaming it; `stopped` is behind a lock.
    typealias Element = AudioBuffer

    let base: any AudioSource
    let display: Display
    let format: AudioFormat
    private let lock = NSLock()
    private var stopped = false

    init(base: any AudioSource, display: Display) {
        self.base = base
        self.display = display
        self.format = base.format
    }

    /// Ends the sequence at the next buffer.
    func requestStop() {
        lock.lock()
        stopped = true
        lock.unlock()
    }

    var isStopped: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopped
    }

    func makeAsyncIterator() -> Iterator {
        Iterator(source: self, base: base.makeAsyncIterator())
    }

    struct Iterator: AsyncIteratorProtocol {
        let source: MeteredSource
        var base: any AsyncIteratorProtocol

        mutating func next() async throws -> AudioBuffer? {
            if source.isStopped { return nil }
            guard let buffer = try await base.next() as? AudioBuffer, !source.isStopped else { return nil }
            let samples = buffer.floatSamples
            var peak: Float = 0
            for sample in samples { peak = Swift.max(peak, abs(sample)) }
            let seconds = Double(buffer.frameCount) / Double(buffer.format.sampleRate)
            source.display.audio(seconds: seconds, level: Double(peak))
            return buffer
        }
    }
}
