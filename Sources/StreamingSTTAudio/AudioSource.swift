/// Anything that produces audio: an `AsyncSequence` of ``AudioBuffer``s that all have ``format``.
///
/// Buffers arrive in stream order; each one's ``AudioBuffer/startFrame`` says where it sits in
/// the stream, so a gap (lost audio) shows as a jump. The sequence ends at the end of the audio
/// and throws an ``AudioError`` when the source fails.
///
/// Sources shipped: `ALSAMicrophone`, `AudioFileSource`, `RawPCMSource` (a file descriptor
/// such as stdin) and ``AudioSequenceSource`` (any `AsyncSequence` of samples, bytes or buffers).
///
/// ```swift
/// let microphone = try ALSAMicrophone(logger: logger)
/// var converter = try AudioConverter(from: microphone.format, to: .pcm16(sampleRate: 16_000))
/// for try await buffer in microphone {
///     let wire = try converter.convert(buffer)
///     …
/// }
/// ```
public protocol AudioSource: AsyncSequence, Sendable where Element == AudioBuffer {
    /// The format of every buffer the source yields.
    var format: AudioFormat { get }
}
