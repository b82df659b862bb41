import StreamingSTTAudio
import StreamingSTTSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Raw interleaved PCM (or mu-law) read from a file descriptor in a format you declare: stdin in
/// `arecord -t raw … |` or `ffmpeg … -f s16le - |` pipelines, a FIFO, a socket, a raw file.
///
/// Reads happen on a dedicated thread (a pipe can block indefinitely), waiting in `poll` on the
/// descriptor and a wake signal, so ``stop()`` and cancellation return at once. The hand-over
/// queue is bounded and applies back-pressure: when the consumer is behind, the thread stops
/// reading and the writer of the pipe waits. Every buffer is exactly ``bufferDuration`` long
/// except the last, whatever sizes the writer uses, so latency is at most one buffer. The
/// sequence ends at end of file, or throws ``/StreamingSTTAudio/AudioError/Code/partialFrame`` if
/// the stream ends in the middle of a frame (after the whole frames before it).
///
/// A raw source can be iterated once.
///
/// ```swift
/// // arecord -q -t raw -f S16_LE -r 16000 -c 1 | transcribe
/// let input = try RawPCMSource.standardInput(format: .pcm16(sampleRate: 16_000))
/// for try await buffer in input { … }
/// ```
public final class RawPCMSource: AudioSource {
    /// A buffer read.
    public typealias Element = AudioBuffer
    /// The error that ends the sequence.
    public typealias Failure = AudioError

    /// The declared format of the bytes.
    public let format: AudioFormat
    /// The longest buffer yielded.
    public let bufferDuration: Duration
    /// The descriptor read.
    public let fileDescriptor: Int32

    private enum State {
        case ready
        case reading
        case finished
    }

    private let closesDescriptor: Bool
    private let state = LockedState(State.ready)
    /// Carries the buffers from the reader thread to the iterator, blocking the thread when it is
    /// full; finished once the thread is done with the descriptor.
    private let handOff: HandOffQueue<AudioBuffer, AudioError>
    private let wake: WakeSignal

    /// Reads `fileDescriptor` as raw samples in `format`.
    /// - Parameters:
    ///   - fileDescriptor: an open, readable descriptor. Its flags are left as they are.
    ///   - format: what the bytes are.
    ///   - bufferDuration: the longest buffer to yield; 100 ms by default.
    ///   - queueCapacity: buffers read ahead of the consumer at most; 8 by default.
    ///   - closesDescriptor: whether to close the descriptor when reading ends; false by default.
    /// - Throws: ``/StreamingSTTAudio/AudioError/Code/invalidFormat`` for a nonsensical format.
    public init(
        fileDescriptor: Int32,
        format: AudioFormat,
        bufferDuration: Duration = .milliseconds(100),
        queueCapacity: Int = 8,
        closesDescriptor: Bool = false
    ) throws(AudioError) {
        try format.validate()
        self.fileDescriptor = fileDescriptor
        self.format = format
        self.bufferDuration = bufferDuration
        self.closesDescriptor = closesDescriptor
        self.handOff = HandOffQueue(capacity: queueCapacity, whenFull: .producerWaits)
        self.wake = try WakeSignal()
    }

    /// Reads the process's standard input.
    public static func standardInput(
        format: AudioFormat, bufferDuration: Duration = .milliseconds(100)
    ) throws(AudioError) -> RawPCMSource {
        try RawPCMSource(fileDescriptor: STDIN_FILENO, format: format, bufferDuration: bufferDuration)
    }

    deinit {
        signalStop()
    }

    /// Stops reading and returns once the reader thread is done with the descriptor (closed if
    /// ``init(fileDescriptor:format:bufferDuration:queueCapacity:closesDescriptor:)`` said so).
    public func stop() async {
        signalStop()
        _ = await handOff.waitUntilFinished()
    }

    private func signalStop() {
        handOff.stop()
        wake.signal()
        let neverStarted = state.withLock { state -> Bool in
            defer { if state == .ready { state = .finished } }
            return state == .ready
        }
        if neverStarted {
            if closesDescriptor { close(fileDescriptor) }
            handOff.finish(.success(()))
        }
    }

    private func startIfNeeded() throws(AudioError) {
        let start = state.withLock { state -> Bool in
            defer { if state == .ready { state = .reading } }
            return state == .ready
        }
        guard start else { return }
        let reader = RawPCMReader(
            fd: fileDescriptor, format: format, maximumFrames: Swift.max(1, format.frameCount(for: bufferDuration)),
            closesDescriptor: closesDescriptor, handOff: handOff, wake: wake)
        do throws(AudioError) {
            try startAudioThread(name: "stt-raw-pcm") { reader.run() }
        } catch {
            if closesDescriptor { close(fileDescriptor) }
            handOff.finish(.failure(error))
        }
    }

    /// Creates the iterator. Only the first iterator gets buffers; others throw
    /// ``/StreamingSTTAudio/AudioError/Code/concurrentIteration``.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(source: self, isOwner: handOff.claim())
    }

    /// Iterates the buffers read.
    public struct AsyncIterator: AsyncIteratorProtocol {
        private let source: RawPCMSource
        private let isOwner: Bool

        init(source: RawPCMSource, isOwner: Bool) {
            self.source = source
            self.isOwner = isOwner
        }

        /// The next buffer, or `nil` at end of file or after ``RawPCMSource/stop()``.
        /// - Throws: ``/StreamingSTTAudio/AudioError/Code/readFailed``,
        ///   ``/StreamingSTTAudio/AudioError/Code/partialFrame``,
        ///   ``/StreamingSTTAudio/AudioError/Code/cancelled`` or
        ///   ``/StreamingSTTAudio/AudioError/Code/concurrentIteration``.
        public func next() async throws(AudioError) -> AudioBuffer? {
            try await source.nextBuffer(isOwner: isOwner)
        }

        /// The next buffer, or `nil` at end of file or after ``RawPCMSource/stop()``.
        public func next(isolation actor: isolated (any Actor)?) async throws(AudioError) -> AudioBuffer? {
            try await source.nextBuffer(isOwner: isOwner)
        }
    }

    private func nextBuffer(isOwner: Bool) async throws(AudioError) -> AudioBuffer? {
        guard isOwner else { throw AudioError(.concurrentIteration, detail: "a raw source can be iterated once") }
        try startIfNeeded()
        return try await handOff.nextCapturedBuffer(stop: signalStop)
    }
}

@available(*, unavailable)
extension RawPCMSource.AsyncIterator: Sendable {}

/// The reader thread of a ``RawPCMSource``.
private struct RawPCMReader: Sendable {
    let fd: Int32
    let format: AudioFormat
    let maximumFrames: Int
    let closesDescriptor: Bool
    let handOff: HandOffQueue<AudioBuffer, AudioError>
    let wake: WakeSignal

    func run() {
        let outcome = read()
        if closesDescriptor { close(fd) }
        handOff.finish(outcome)
    }

    private func read() -> Result<Void, AudioError> {
        let bytesPerFrame = format.bytesPerFrame
        let capacity = maximumFrames * bytesPerFrame
        var pending: [UInt8] = []
        var scratch = [UInt8](repeating: 0, count: capacity)
        var position: Int64 = 0
        while !handOff.isStopped {
            var descriptors = [
                pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wake.fd, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&descriptors, 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                return .failure(AudioError(.readFailed, detail: String(cString: strerror(errno)), systemError: errno))
            }
            if descriptors[1].revents != 0 { return .success(()) }
            let wanted = capacity - pending.count
            let count = scratch.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, wanted) }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return .failure(AudioError(.readFailed, detail: String(cString: strerror(errno)), systemError: errno))
            }
            if count == 0 {
                let whole = pending.count - pending.count % bytesPerFrame
                if whole > 0 {
                    let buffer = AudioBuffer(format: format, bytes: Array(pending[0..<whole]), startFrame: position)
                    if handOff.appendBlocking(buffer) == .refused { return .success(()) }
                }
                guard whole == pending.count else {
                    return .failure(
                        AudioError(
                            .partialFrame,
                            detail:
                                "the stream ended with \(pending.count - whole) bytes, not a whole \(bytesPerFrame)-byte frame"
                        ))
                }
                return .success(())
            }
            pending += scratch[0..<count]
            guard pending.count == capacity else { continue }
            let buffer = AudioBuffer(format: format, bytes: pending, startFrame: position)
            pending.removeAll(keepingCapacity: true)
            position += Int64(buffer.frameCount)
            if handOff.appendBlocking(buffer) == .refused { return .success(()) }
        }
        return .success(())
    }
}
