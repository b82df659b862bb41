/// A source's audio converted to a wire format and cut into fixed-duration chunks, optionally
/// paced in real time: what a transcriber sends.
///
/// Composes ``AudioConverter``, ``AudioChunker`` and ``AudioPacer``: every chunk is in
/// ``format``, ``chunkDuration`` long except the last (the remainder merged into it, never
/// padded), and at the end the converter is flushed so no audio is lost. Each iteration runs the
/// base source again with fresh state.
///
/// ```swift
/// let file = try AudioFileSource(path: "call.flac")
/// let chunks = try file.chunked(as: .pcm16(sampleRate: 16_000), every: .milliseconds(50), pacing: .realTime)
/// for try await chunk in chunks { try await connection.send(.binary(chunk.bytes)) }
/// ```
public struct ChunkedAudioSource<Base: AudioSource>: AudioSource {
    /// A chunk ready to send.
    public typealias Element = AudioBuffer
    /// The base source's error, or an ``AudioError``.
    public typealias Failure = any Error

    /// The source read.
    public let base: Base
    /// The format of every chunk.
    public let format: AudioFormat
    /// The duration of a regular chunk.
    public let chunkDuration: Duration
    /// The shortest last chunk (see ``AudioChunker``).
    public let minimumChunkDuration: Duration?
    /// How fast chunks are released.
    public let pacing: AudioPacing
    /// How channels are mapped.
    public let channels: AudioConverter.ChannelMapping
    /// The resampler's quality.
    public let quality: AudioConverter.Quality

    /// Creates the chunked source; checks the conversion and chunk settings at once.
    /// - Throws: ``AudioError`` if the conversion or the chunk durations are not possible.
    public init(
        base: Base,
        format: AudioFormat,
        chunkDuration: Duration,
        minimumChunkDuration: Duration? = nil,
        pacing: AudioPacing = .asFastAsPossible,
        channels: AudioConverter.ChannelMapping = .downmix,
        quality: AudioConverter.Quality = .high
    ) throws(AudioError) {
        _ = try AudioConverter(from: base.format, to: format, channels: channels, quality: quality)
        _ = try AudioChunker(format: format, chunkDuration: chunkDuration, minimumDuration: minimumChunkDuration)
        self.base = base
        self.format = format
        self.chunkDuration = chunkDuration
        self.minimumChunkDuration = minimumChunkDuration
        self.pacing = pacing
        self.channels = channels
        self.quality = quality
    }

    /// Starts reading the base source.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(source: self)
    }

    /// Converts, chunks and paces the base source's buffers.
    public struct AsyncIterator: AsyncIteratorProtocol {
        private var base: Base.AsyncIterator
        private let converter: AudioConverter?
        private var chunker: AudioChunker?
        private var pacer: AudioPacer<ContinuousClock>
        private var ready: [AudioBuffer] = []
        private var readyIndex = 0
        private var finished = false
        private let setupError: AudioError?

        init(source: ChunkedAudioSource) {
            base = source.base.makeAsyncIterator()
            pacer = AudioPacer(source.pacing)
            // The source's init checked these settings, so they do not fail here; if they did,
            // the error is thrown by the first `next()`.
            let made = Result { () throws(AudioError) -> (AudioConverter, AudioChunker) in
                (
                    try AudioConverter(
                        from: source.base.format, to: source.format, channels: source.channels,
                        quality: source.quality),
                    try AudioChunker(
                        format: source.format, chunkDuration: source.chunkDuration,
                        minimumDuration: source.minimumChunkDuration)
                )
            }
            switch made {
            case .success(let (converter, chunker)):
                self.converter = converter
                self.chunker = chunker
                self.setupError = nil
            case .failure(let error):
                self.converter = nil
                self.chunker = nil
                self.setupError = error
            }
        }

        /// The next chunk, waiting until it is due when paced; `nil` after the last one.
        public mutating func next(isolation actor: isolated (any Actor)?) async throws -> AudioBuffer? {
            if let setupError { throw setupError }
            guard let converter else { return nil }
            while readyIndex == ready.count {
                ready.removeAll(keepingCapacity: true)
                readyIndex = 0
                if finished { return nil }
                if let buffer = try await base.next(isolation: actor) {
                    ready = try chunker?.append(converter.convert(buffer)) ?? []
                } else {
                    finished = true
                    ready = try chunker?.append(converter.flush()) ?? []
                    ready += chunker?.finish() ?? []
                }
            }
            let chunk = ready[readyIndex]
            readyIndex += 1
            try await pacer.wait(for: chunk)
            return chunk
        }

        /// The next chunk, waiting until it is due when paced; `nil` after the last one.
        public mutating func next() async throws -> AudioBuffer? {
            try await next(isolation: nil)
        }
    }
}

extension AudioSource {
    /// This source converted to `format` and cut into `chunkDuration` chunks; see
    /// ``ChunkedAudioSource``.
    /// - Parameters:
    ///   - format: the wire format, for example `.pcm16(sampleRate: 16_000)`.
    ///   - chunkDuration: the duration of a regular chunk.
    ///   - minimumChunkDuration: the shortest last chunk; the chunk duration by default.
    ///   - pacing: ``AudioPacing/realTime`` to release chunks at the rate of the audio (for
    ///     files); as fast as possible by default.
    ///   - channels: how channels become mono.
    /// - Throws: ``AudioError`` if the conversion or the durations are not possible.
    public func chunked(
        as format: AudioFormat,
        every chunkDuration: Duration,
        minimumChunkDuration: Duration? = nil,
        pacing: AudioPacing = .asFastAsPossible,
        channels: AudioConverter.ChannelMapping = .downmix
    ) throws(AudioError) -> ChunkedAudioSource<Self> {
        try ChunkedAudioSource(
            base: self, format: format, chunkDuration: chunkDuration, minimumChunkDuration: minimumChunkDuration,
            pacing: pacing, channels: channels)
    }
}
