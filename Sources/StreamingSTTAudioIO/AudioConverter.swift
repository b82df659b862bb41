import StreamingSTTAudio
import StreamingSTTSupport

/// Converts a stream of buffers from one ``/StreamingSTTAudio/AudioFormat`` to another: sample
/// encoding, channels and sample rate.
///
/// - Encodings: float32, int16 and G.711 mu-law, both ways (the mu-law coding is bit-exact with
///   the ITU reference; int16 ↔ float32 scales by 32768 and is lossless from int16).
/// - Channels: several to mono by averaging (``ChannelMapping/downmix``) or by picking one
///   (``ChannelMapping/channel(_:)``); mono to several by copying; equal counts pass through.
/// - Rate: band-limited resampling with libsoxr (see ``Quality``), stateful across buffers so
///   buffer edges make no clicks. Call ``flush()`` at the end of the stream for the last frames
///   the filter holds.
///
/// Output buffers carry ``/StreamingSTTAudio/AudioBuffer/startFrame`` at the output rate; a gap in
/// the input (a jump in its `startFrame`) becomes the same gap, in time, in the output.
///
/// ```swift
/// let converter = try AudioConverter(from: microphone.format, to: .pcm16(sampleRate: 16_000))
/// for try await buffer in microphone { try await send(converter.convert(buffer)) }
/// try await send(converter.flush())
/// ```
///
/// - Note: A converter is one stream's state. It is `Sendable` (its state is behind a lock) but
///   feed it from one task, in stream order.
public final class AudioConverter: Sendable {
    /// How a multi-channel input becomes a mono output.
    public enum ChannelMapping: Sendable, Hashable {
        /// The average of all channels.
        case downmix
        /// One channel, counted from 0, the others dropped.
        case channel(Int)
    }

    /// The resampling filter's quality (libsoxr recipes).
    public struct Quality: Sendable, Hashable, CustomStringConvertible {
        let recipe: Int32
        private let name: String

        /// 16-bit precision, medium roll-off (`SOXR_MQ`): least CPU.
        public static let medium = Quality(recipe: 2, name: "medium")
        /// 20-bit precision, pass band flat to 0.01 dB (`SOXR_HQ`): the default.
        public static let high = Quality(recipe: 4, name: "high")
        /// 28-bit precision (`SOXR_VHQ`): most CPU.
        public static let veryHigh = Quality(recipe: 6, name: "veryHigh")

        /// The quality's name.
        public var description: String { name }
    }

    /// The format of the buffers passed to ``convert(_:)``.
    public let inputFormat: AudioFormat
    /// The format of the buffers returned.
    public let outputFormat: AudioFormat
    /// How channels are mapped when the output has fewer.
    public let channelMapping: ChannelMapping

    private struct Stream {
        var resampler: Resampler?
        var expectedInputFrame: Int64?
        var nextOutputFrame: Int64 = 0
        var finished = false
    }

    private let stream: LockedState<Stream>

    /// Creates a converter.
    /// - Parameters:
    ///   - input: the format of the buffers that will be passed in.
    ///   - output: the format wanted.
    ///   - channels: how several input channels become one output channel; averaging by default.
    ///   - quality: the resampler's quality; ``Quality/high`` by default.
    /// - Throws: ``/StreamingSTTAudio/AudioError`` with
    ///   ``/StreamingSTTAudio/AudioError/Code/invalidFormat`` for a nonsensical format,
    ///   ``/StreamingSTTAudio/AudioError/Code/unsupportedConversion`` for a channel mapping that
    ///   cannot be done, or ``/StreamingSTTAudio/AudioError/Code/resamplerFailed``.
    public init(
        from input: AudioFormat,
        to output: AudioFormat,
        channels: ChannelMapping = .downmix,
        quality: Quality = .high
    ) throws(AudioError) {
        try input.validate()
        try output.validate()
        let sameChannels = input.channelCount == output.channelCount
        let toMono = output.channelCount == 1
        let fromMono = input.channelCount == 1
        guard sameChannels || toMono || fromMono else {
            throw AudioError(
                .unsupportedConversion,
                detail: "cannot map \(input.channelCount) channels to \(output.channelCount); use 1 or the same count")
        }
        if case .channel(let index) = channels, !(0..<input.channelCount).contains(index) {
            throw AudioError(
                .unsupportedConversion,
                detail: "channel \(index) does not exist in a \(input.channelCount)-channel input")
        }
        var state = Stream()
        if input.sampleRate != output.sampleRate {
            state.resampler = try Resampler(
                from: input.sampleRate, to: output.sampleRate, channelCount: output.channelCount, quality: quality)
        }
        self.inputFormat = input
        self.outputFormat = output
        self.channelMapping = channels
        self.stream = LockedState(state)
    }

    /// Converts one buffer.
    ///
    /// With resampling, the output can hold fewer or more frames than the input's duration
    /// (the filter's delay); the total over the stream, with ``flush()``, is the input's duration
    /// at the output rate.
    /// - Throws: ``/StreamingSTTAudio/AudioError/Code/invalidFormat`` if the buffer's format is not
    ///   ``inputFormat`` or its bytes are not whole frames;
    ///   ``/StreamingSTTAudio/AudioError/Code/resamplerFailed``.
    public func convert(_ buffer: AudioBuffer) throws(AudioError) -> AudioBuffer {
        guard buffer.format == inputFormat else {
            throw AudioError(
                .invalidFormat, detail: "buffer is \(buffer.format), the converter expects \(inputFormat)")
        }
        guard buffer.bytes.count % inputFormat.bytesPerFrame == 0 else {
            throw AudioError(.invalidFormat, detail: "buffer of \(buffer.bytes.count) bytes is not whole frames")
        }
        return try stream.withLockTyped { state throws(AudioError) in
            try convert(buffer, &state)
        }
    }

    /// Returns the frames the resampler still holds at the end of the stream (empty without
    /// resampling). Call it once, after the last ``convert(_:)``; later calls return nothing new.
    public func flush() throws(AudioError) -> AudioBuffer {
        try stream.withLockTyped { state throws(AudioError) in
            let start = state.nextOutputFrame
            guard !state.finished, let resampler = state.resampler else {
                return AudioBuffer(format: outputFormat, bytes: [], startFrame: start)
            }
            state.finished = true
            let samples = try resampler.flush()
            state.nextOutputFrame += Int64(samples.count / outputFormat.channelCount)
            return AudioBuffer(
                format: outputFormat, bytes: SampleCoding.bytes(fromFloat: samples, encoding: outputFormat.encoding),
                startFrame: start)
        }
    }

    private func convert(_ buffer: AudioBuffer, _ state: inout Stream) throws(AudioError) -> AudioBuffer {
        // Timeline: the first buffer fixes the origin; a jump forward is carried over as a gap.
        if let expected = state.expectedInputFrame {
            if buffer.startFrame > expected {
                state.nextOutputFrame += scaled(buffer.startFrame - expected)
            }
        } else {
            state.nextOutputFrame = scaled(buffer.startFrame)
        }
        state.expectedInputFrame = buffer.endFrame
        let start = state.nextOutputFrame

        let output: [UInt8]
        if inputFormat == outputFormat {
            output = buffer.bytes
        } else if state.resampler == nil, inputFormat.channelCount == outputFormat.channelCount,
            let direct = SampleCoding.directlyConverted(
                buffer.bytes, from: inputFormat.encoding, to: outputFormat.encoding)
        {
            output = direct
        } else {
            var samples = mapChannels(SampleCoding.floats(from: buffer.bytes, encoding: inputFormat.encoding))
            if let resampler = state.resampler {
                samples = try resampler.process(samples)
            }
            output = SampleCoding.bytes(fromFloat: samples, encoding: outputFormat.encoding)
        }
        let result = AudioBuffer(format: outputFormat, bytes: output, startFrame: start)
        state.nextOutputFrame += Int64(result.frameCount)
        return result
    }

    /// `frames` at the input rate, as frames at the output rate.
    private func scaled(_ frames: Int64) -> Int64 {
        if inputFormat.sampleRate == outputFormat.sampleRate { return frames }
        let exact = Double(frames) * Double(outputFormat.sampleRate) / Double(inputFormat.sampleRate)
        return Int64(exact.rounded())
    }

    private func mapChannels(_ samples: [Float]) -> [Float] {
        let inputChannels = inputFormat.channelCount
        let outputChannels = outputFormat.channelCount
        if inputChannels == outputChannels { return samples }
        let frames = samples.count / inputChannels
        if inputChannels == 1 {
            return [Float](filling: frames * outputChannels) { output, initialized in
                for frame in 0..<frames {
                    for channel in 0..<outputChannels { output[frame * outputChannels + channel] = samples[frame] }
                }
                initialized = frames * outputChannels
            }
        }
        return [Float](filling: frames) { output, initialized in
            samples.withUnsafeBufferPointer { input in
                switch channelMapping {
                case .channel(let picked):
                    for frame in 0..<frames { output[frame] = input[frame * inputChannels + picked] }
                case .downmix:
                    let scale = 1 / Float(inputChannels)
                    for frame in 0..<frames {
                        var sum: Float = 0
                        for channel in 0..<inputChannels { sum += input[frame * inputChannels + channel] }
                        output[frame] = sum * scale
                    }
                }
            }
            initialized = frames
        }
    }
}
