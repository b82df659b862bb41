import StreamingSTTAudio
import StreamingSTTSupport

extension HandOffQueue where Element == AudioBuffer, Failure == AudioError {
    /// The next buffer a capture thread handed over, for a source's iterator: `nil` at the end of
    /// the stream. A cancelled caller (before or while waiting) calls `stop` and gets
    /// ``AudioError/Code/cancelled`` (with `path`); a second concurrent iterator gets
    /// ``AudioError/Code/concurrentIteration``.
    func nextCapturedBuffer(path: String? = nil, stop: () -> Void) async throws(AudioError) -> AudioBuffer? {
        if Task.isCancelled {
            stop()
            throw AudioError(.cancelled, path: path)
        }
        switch await next() {
        case .element(let buffer): return buffer
        case .end: return nil
        case .failure(let error): throw error
        case .cancelled:
            stop()
            throw AudioError(.cancelled, path: path)
        case .busy: throw AudioError(.concurrentIteration)
        }
    }
}
