/// An ``AudioSource`` over any `AsyncSequence` of samples, bytes or buffers: a network stream, a
/// synthesiser, a test fixture.
///
/// Sample arrays and byte chunks are numbered from frame 0 in arrival order; byte chunks need not
/// be whole frames (a partial frame is carried into the next buffer). Buffers pass through with
/// their own positions. The sequence can be iterated as often as the base sequence can.
///
/// ```swift
/// let (chunks, continuation) = AsyncStream.makeStream(of: [Float].self)
/// let source = AudioSequenceSource(samples: chunks, sampleRate: 16_000)
/// ```
public struct AudioSequenceSource<Base: AsyncSequence & Sendable>: AudioSource {
    /// A buffer of the source.
    public typealias Element = AudioBuffer
    /// The error of the base sequence, or an ``AudioError``.
    public typealias Failure = any Error

    fileprivate enum Kind: Sendable {
        case floats, int16s, bytes, buffers
    }

    /// The format of every buffer.
    public let format: AudioFormat
    private let base: Base
    private let kind: Kind

    /// Float samples (interleaved, nominally -1...1) as float32 buffers.
    public init(samples base: Base, sampleRate: Int, channelCount: Int = 1) where Base.Element == [Float] {
        self.base = base
        self.format = .float32(sampleRate: sampleRate, channelCount: channelCount)
        self.kind = .floats
    }

    /// 16-bit samples (interleaved) as int16 buffers.
    public init(samples base: Base, sampleRate: Int, channelCount: Int = 1) where Base.Element == [Int16] {
        self.base = base
        self.format = .pcm16(sampleRate: sampleRate, channelCount: channelCount)
        self.kind = .int16s
    }

    /// Raw bytes in `format`, in chunks of any size.
    public init(bytes base: Base, format: AudioFormat) where Base.Element == [UInt8] {
        self.base = base
        self.format = format
        self.kind = .bytes
    }

    /// Buffers that all have `format`; a buffer in another format ends the sequence with
    /// ``AudioError/Code/invalidFormat``.
    public init(buffers base: Base, format: AudioFormat) where Base.Element == AudioBuffer {
        self.base = base
        self.format = format
        self.kind = .buffers
    }

    /// Starts iterating the base sequence.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), format: format, kind: kind)
    }

    /// Iterates the base sequence, turning its elements into buffers.
    public struct AsyncIterator: AsyncIteratorProtocol {
        private var base: Base.AsyncIterator
        private let format: AudioFormat
        private let kind: Kind
        private var pending: [UInt8] = []
        private var position: Int64 = 0

        fileprivate init(base: Base.AsyncIterator, format: AudioFormat, kind: Kind) {
            self.base = base
            self.format = format
            self.kind = kind
        }

        /// The next buffer, or `nil` when the base sequence ends.
        public mutating func next(isolation actor: isolated (any Actor)?) async throws -> AudioBuffer? {
            while true {
                guard let element = try await base.next(isolation: actor) else {
                    guard pending.isEmpty else {
                        throw AudioError(
                            .partialFrame,
                            detail: "the stream ended with \(pending.count) bytes, not a whole frame")
                    }
                    return nil
                }
                if let buffer = try buffer(from: element) { return buffer }
            }
        }

        /// The next buffer, or `nil` when the base sequence ends.
        public mutating func next() async throws -> AudioBuffer? {
            try await next(isolation: nil)
        }

        private mutating func buffer(from element: Base.Element) throws(AudioError) -> AudioBuffer? {
            let bytes: [UInt8]
            switch kind {
            case .buffers:
                guard let buffer = element as? AudioBuffer, buffer.format == format else {
                    throw AudioError(.invalidFormat, detail: "a buffer is not in the declared format \(format)")
                }
                return buffer
            case .floats:
                bytes = SampleCoding.bytes(fromFloat: element as? [Float] ?? [])
            case .int16s:
                bytes = SampleCoding.bytes(fromInt16: element as? [Int16] ?? [])
            case .bytes:
                bytes = element as? [UInt8] ?? []
            }
            pending += bytes
            let whole = pending.count - pending.count % format.bytesPerFrame
            guard whole > 0 else { return nil }
            let buffer = AudioBuffer(format: format, bytes: Array(pending[0..<whole]), startFrame: position)
            pending.removeFirst(whole)
            position += Int64(buffer.frameCount)
            return buffer
        }
    }
}
