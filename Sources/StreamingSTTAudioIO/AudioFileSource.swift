import StreamingSTTAudio

/// Audio decoded from a file: WAV (8/16/24/32-bit integer, float, mu-law, A-law), FLAC,
/// Ogg Vorbis, Ogg Opus, MP3 and the other containers libsndfile reads.
///
/// The file's header is read when the source is created, so a missing, unsupported or damaged
/// file fails there with an ``/StreamingSTTAudio/AudioError`` naming the file and the problem.
/// Each iteration opens the file again and yields buffers of ``bufferDuration`` in the file's rate
/// and channel count: int16 for 8- and 16-bit integer files (lossless), float32 for everything
/// else.
///
/// Buffers come as fast as they are decoded; to stream a recording in real time, pace them
/// (`StreamingTranscriber.stream(from:pacing:)` with ``/StreamingSTTAudio/AudioPacing/realTime``).
///
/// ```swift
/// let file = try AudioFileSource(path: "meeting.flac")
/// for try await buffer in file { … }
/// ```
public struct AudioFileSource: AudioSource {
    /// A decoded buffer.
    public typealias Element = AudioBuffer
    /// The error that ends the sequence.
    public typealias Failure = AudioError

    /// The file's path.
    public let path: String
    /// The format of every buffer: the file's rate and channels, int16 or float32.
    public let format: AudioFormat
    /// The number of frames in the file, when its container says.
    public let frameCount: Int64?
    /// The container and encoding, such as `WAV (Microsoft), Signed 24 bit PCM`.
    public let formatName: String
    /// The duration of each buffer (the last one may be shorter).
    public let bufferDuration: Duration

    /// Opens `path`, reads its header and closes it again.
    /// - Parameters:
    ///   - path: the file to decode.
    ///   - bufferDuration: the duration of each buffer; 100 ms by default.
    /// - Throws: ``/StreamingSTTAudio/AudioError`` with the path:
    ///   ``/StreamingSTTAudio/AudioError/Code/fileNotFound``,
    ///   ``/StreamingSTTAudio/AudioError/Code/fileUnreadable``,
    ///   ``/StreamingSTTAudio/AudioError/Code/unsupportedFile`` or
    ///   ``/StreamingSTTAudio/AudioError/Code/corruptFile``.
    public init(path: String, bufferDuration: Duration = .milliseconds(100)) throws(AudioError) {
        let file = try SoundFile(path: path)
        self.path = path
        self.format = AudioFormat(
            encoding: file.readsInt16 ? .int16 : .float32, sampleRate: file.sampleRate, channelCount: file.channelCount)
        self.frameCount = file.frameCount
        self.formatName = file.formatName
        self.bufferDuration = bufferDuration
    }

    /// The duration of the file, when its container says.
    public var duration: Duration? { frameCount.map { format.duration(ofFrames: $0) } }

    /// Starts decoding from the beginning.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(source: self)
    }

    /// Decodes the file buffer by buffer.
    public struct AsyncIterator: AsyncIteratorProtocol {
        private let source: AudioFileSource
        private var file: SoundFile?
        private var position: Int64 = 0
        private var done = false

        init(source: AudioFileSource) { self.source = source }

        /// The next buffer, or `nil` at the end of the file.
        /// - Throws: ``/StreamingSTTAudio/AudioError``: the file changed or became unreadable,
        ///   decoding failed, or ``/StreamingSTTAudio/AudioError/Code/cancelled``.
        public mutating func next() async throws(AudioError) -> AudioBuffer? {
            try readNext()
        }

        /// The next buffer, or `nil` at the end of the file.
        public mutating func next(isolation actor: isolated (any Actor)?) async throws(AudioError) -> AudioBuffer? {
            try readNext()
        }

        /// Decodes one buffer (a short synchronous read, like a file read).
        private mutating func readNext() throws(AudioError) -> AudioBuffer? {
            guard !done else { return nil }
            if Task.isCancelled {
                done = true
                file = nil
                throw AudioError(.cancelled, detail: "cancelled while reading", path: source.path)
            }
            do throws(AudioError) {
                if file == nil {
                    let opened = try SoundFile(path: source.path)
                    guard opened.sampleRate == source.format.sampleRate,
                        opened.channelCount == source.format.channelCount
                    else {
                        throw AudioError(
                            .corruptFile, detail: "the file changed since it was opened", path: source.path)
                    }
                    file = opened
                }
                let frames = Swift.max(1, source.format.frameCount(for: source.bufferDuration))
                let bytes = try file?.read(frames: frames) ?? []
                guard !bytes.isEmpty else {
                    done = true
                    file = nil
                    return nil
                }
                let buffer = AudioBuffer(format: source.format, bytes: bytes, startFrame: position)
                position += Int64(buffer.frameCount)
                return buffer
            } catch {
                done = true
                file = nil
                throw error
            }
        }
    }
}

@available(*, unavailable)
extension AudioFileSource.AsyncIterator: Sendable {}
