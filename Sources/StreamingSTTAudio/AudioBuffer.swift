/// A run of interleaved audio frames and its position in the stream.
///
/// ``startFrame`` counts frames at ``AudioFormat/sampleRate`` from the start of the source's
/// stream. Consecutive buffers normally continue where the previous one ended; a jump forward
/// means audio was lost (an overrun, a dropped buffer), so timestamps derived from it stay right.
public struct AudioBuffer: Sendable, Hashable {
    /// The layout of ``bytes``.
    public var format: AudioFormat
    /// Interleaved little-endian samples in ``format``; always whole frames.
    public var bytes: [UInt8]
    /// The position of the first frame in the source's stream, in frames at the format's rate.
    public var startFrame: Int64

    /// Creates a buffer.
    /// - Parameters:
    ///   - format: the layout of `bytes`.
    ///   - bytes: interleaved samples; a trailing partial frame is not counted in ``frameCount``.
    ///   - startFrame: the position of the first frame in the stream.
    public init(format: AudioFormat, bytes: [UInt8], startFrame: Int64 = 0) {
        self.format = format
        self.bytes = bytes
        self.startFrame = startFrame
    }

    /// Creates a buffer from interleaved float samples (nominally -1...1), encoded in the
    /// format's encoding (floats clip to the int16 range for int16 and mu-law).
    public init(format: AudioFormat, floatSamples samples: [Float], startFrame: Int64 = 0) {
        self.init(
            format: format, bytes: SampleCoding.bytes(fromFloat: samples, encoding: format.encoding),
            startFrame: startFrame)
    }

    /// Creates a buffer from interleaved 16-bit samples, encoded in the format's encoding.
    public init(format: AudioFormat, int16Samples samples: [Int16], startFrame: Int64 = 0) {
        let bytes =
            switch format.encoding {
            case .int16: SampleCoding.bytes(fromInt16: samples)
            case .mulaw: samples.map(MuLaw.encode)
            case .float32: SampleCoding.bytes(fromFloat: samples.map { Float($0) / 32768 })
            }
        self.init(format: format, bytes: bytes, startFrame: startFrame)
    }

    /// Whole frames in ``bytes``.
    public var frameCount: Int {
        let perFrame = format.bytesPerFrame
        return perFrame > 0 ? bytes.count / perFrame : 0
    }

    /// The position just after the last frame: the ``startFrame`` the next buffer has if nothing is lost.
    public var endFrame: Int64 { startFrame + Int64(frameCount) }

    /// How long the buffer plays.
    public var duration: Duration { format.duration(ofFrames: Int64(frameCount)) }

    /// The position of the first frame as a time from the start of the stream.
    public var startTime: Duration { format.duration(ofFrames: startFrame) }

    /// The samples as floats in -1...1, interleaved, whatever the encoding.
    public var floatSamples: [Float] { SampleCoding.floats(from: bytes, encoding: format.encoding) }
}
