/// The layout of audio samples: encoding, sample rate and channel count.
///
/// Samples are interleaved (frame by frame, channel by channel) and little-endian. A *frame* is
/// one sample per channel.
///
/// ```swift
/// let wire = AudioFormat.pcm16(sampleRate: 16_000)   // AssemblyAI's pcm_s16le, mono
/// wire.bytesPerFrame                                  // 2
/// ```
public struct AudioFormat: Sendable, Hashable, CustomStringConvertible {
    /// How one sample is stored.
    public enum Encoding: Sendable, Hashable, CustomStringConvertible {
        /// 32-bit IEEE float, little-endian, nominally in -1...1 (`pcm_f32le`).
        case float32
        /// 16-bit signed integer, little-endian (`pcm_s16le`).
        case int16
        /// 8-bit G.711 mu-law (`pcm_mulaw`, `mulaw`).
        case mulaw

        /// Bytes per sample: 4, 2 or 1.
        public var bytesPerSample: Int {
            switch self {
            case .float32: 4
            case .int16: 2
            case .mulaw: 1
            }
        }

        /// The encoding's name: `float32`, `int16` or `mulaw`.
        public var description: String {
            switch self {
            case .float32: "float32"
            case .int16: "int16"
            case .mulaw: "mulaw"
            }
        }
    }

    /// How each sample is stored.
    public var encoding: Encoding
    /// Frames per second.
    public var sampleRate: Int
    /// Samples per frame (1 for mono).
    public var channelCount: Int

    /// Creates a format.
    /// - Parameters:
    ///   - encoding: how each sample is stored.
    ///   - sampleRate: frames per second.
    ///   - channelCount: samples per frame; 1 (mono) by default.
    public init(encoding: Encoding, sampleRate: Int, channelCount: Int = 1) {
        self.encoding = encoding
        self.sampleRate = sampleRate
        self.channelCount = channelCount
    }

    /// 16-bit signed little-endian PCM.
    public static func pcm16(sampleRate: Int, channelCount: Int = 1) -> AudioFormat {
        AudioFormat(encoding: .int16, sampleRate: sampleRate, channelCount: channelCount)
    }

    /// 32-bit float little-endian PCM.
    public static func float32(sampleRate: Int, channelCount: Int = 1) -> AudioFormat {
        AudioFormat(encoding: .float32, sampleRate: sampleRate, channelCount: channelCount)
    }

    /// G.711 mu-law.
    public static func mulaw(sampleRate: Int = 8000, channelCount: Int = 1) -> AudioFormat {
        AudioFormat(encoding: .mulaw, sampleRate: sampleRate, channelCount: channelCount)
    }

    /// Bytes per sample of one channel.
    public var bytesPerSample: Int { encoding.bytesPerSample }

    /// Bytes per frame (one sample of every channel).
    public var bytesPerFrame: Int { encoding.bytesPerSample * channelCount }

    /// Bytes in `duration` of audio, rounded down to whole frames.
    public func byteCount(for duration: Duration) -> Int {
        frameCount(for: duration) * bytesPerFrame
    }

    /// Whole frames in `duration` of audio, rounded to the nearest frame.
    public func frameCount(for duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        let frames = Double(seconds) * Double(sampleRate) + Double(attoseconds) * 1e-18 * Double(sampleRate)
        return max(0, Int(frames.rounded()))
    }

    /// The duration of `frames` frames.
    public func duration(ofFrames frames: Int64) -> Duration {
        guard sampleRate > 0 else { return .zero }
        let rate = Int64(sampleRate)
        let seconds = frames / rate
        let rest = frames % rate
        return .seconds(seconds) + .nanoseconds(rest * 1_000_000_000 / rate)
    }

    /// Such as `int16 16000 Hz mono` or `float32 48000 Hz 2 channels`.
    public var description: String {
        let channels = channelCount == 1 ? "mono" : "\(channelCount) channels"
        return "\(encoding) \(sampleRate) Hz \(channels)"
    }

    /// Throws unless the rate and channel count are positive and sensible.
    package func validate() throws(AudioError) {
        guard sampleRate > 0, sampleRate <= 1_536_000 else {
            throw AudioError(.invalidFormat, detail: "sample rate \(sampleRate) Hz is out of range")
        }
        guard channelCount > 0, channelCount <= 64 else {
            throw AudioError(.invalidFormat, detail: "channel count \(channelCount) is out of range")
        }
    }
}
