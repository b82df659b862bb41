/// The audio a vendor session carries: little-endian, one encoding and sample rate, mono or (for
/// a multichannel session) several channels interleaved frame by frame; and the arithmetic between
/// bytes, frames and seconds of it.
package struct WireAudio: Sendable, Hashable {
    /// How each sample is written.
    package enum Encoding: Sendable, Hashable {
        /// 16-bit signed PCM.
        case int16
        /// 32-bit float PCM.
        case float32
        /// G.711 mu-law, one byte per sample.
        case mulaw
    }

    /// The sample encoding.
    package var encoding: Encoding
    /// Samples per second.
    package var sampleRate: Int
    /// Channels, interleaved: 1 (mono) unless the session is multichannel.
    package var channelCount: Int

    /// Creates a description of wire audio.
    package init(encoding: Encoding, sampleRate: Int, channelCount: Int = 1) {
        self.encoding = encoding
        self.sampleRate = sampleRate
        self.channelCount = channelCount
    }

    /// Bytes per sample of one channel.
    package var bytesPerSample: Int {
        switch encoding {
        case .int16: 2
        case .float32: 4
        case .mulaw: 1
        }
    }

    /// Bytes per frame (one sample of every channel).
    package var bytesPerFrame: Int { bytesPerSample * channelCount }

    /// Bytes per second of audio.
    package var bytesPerSecond: Int { sampleRate * bytesPerFrame }

    /// The byte that encodes silence (mu-law's zero is `0xFF`).
    package var silence: UInt8 { encoding == .mulaw ? 0xFF : 0 }

    /// Seconds of audio in `count` bytes.
    package func seconds(ofBytes count: Int) -> Double {
        Double(count) / Double(bytesPerSecond)
    }

    /// Bytes of audio in `duration`, whole frames, rounded down.
    package func bytes(in duration: Duration) -> Int {
        Int(duration.inSeconds * Double(bytesPerSecond)) / bytesPerFrame * bytesPerFrame
    }

    /// Bytes of `seconds` of audio, whole frames, at least one frame, rounded up: where it is not a
    /// whole number of frames (22 050 Hz × 50 ms), rounding down would make every AssemblyAI chunk
    /// a little under its 50 ms minimum (3007). The small subtraction keeps float noise
    /// (16 000 × 0.05 = 800.000…01) from adding a frame.
    package func bytes(roundingUp seconds: Double) -> Int {
        max(1, Int((Double(sampleRate) * seconds - 1e-6).rounded(.up))) * bytesPerFrame
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    package var inSeconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }

    /// A duration of `seconds` (negative values give zero).
    package static func seconds(exactly seconds: Double) -> Duration {
        .nanoseconds(Int64(max(0, seconds) * 1e9))
    }
}
