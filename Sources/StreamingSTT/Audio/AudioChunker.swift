/// Cuts a stream of buffers into chunks of a fixed duration, for sending.
///
/// Audio is carried over between input buffers, so every chunk but the last is exactly
/// ``chunkFrames`` frames long whatever sizes the input has. At the end (``finish()``) the
/// remainder is merged into the last chunk, never padded: exactly the source's samples come out,
/// and no chunk is shorter than ``minimumFrames`` unless the whole input was.
///
/// To make that possible the chunker keeps up to ``minimumFrames`` frames back before it emits a
/// full chunk (a chunk is emitted once `chunkFrames + minimumFrames` frames are buffered), so the
/// last chunk is between `minimumFrames` and `chunkFrames + minimumFrames - 1` frames long. Set
/// the minimum to zero for the lowest latency if a short last chunk is acceptable (Speechmatics);
/// AssemblyAI rejects chunks under 50 ms.
///
/// Each chunk's ``AudioBuffer/startFrame`` is the stream position of its first frame. A gap in the
/// input does not split a chunk: the audio on either side is sent back to back, as the provider
/// sees a continuous stream.
///
/// ```swift
/// var chunker = try AudioChunker(format: wire, chunkDuration: .milliseconds(50))
/// for try await buffer in source {
///     for chunk in try chunker.append(converter.convert(buffer)) { try await send(chunk) }
/// }
/// for chunk in try chunker.finish() { try await send(chunk) }
/// ```
public struct AudioChunker: Sendable {
    /// The format of the buffers appended and of the chunks returned.
    public let format: AudioFormat
    /// Frames in a regular chunk.
    public let chunkFrames: Int
    /// The shortest last chunk, in frames (when the input is at least that long).
    public let minimumFrames: Int

    private var pending: [UInt8] = []
    private var pendingHead = 0
    /// Stream positions of pending audio: (byte offset in `pending`, startFrame), in order.
    private var segments: [(offset: Int, startFrame: Int64)] = []
    private var finished = false

    /// Creates a chunker.
    /// - Parameters:
    ///   - format: the format of the audio.
    ///   - chunkDuration: the duration of a regular chunk (50 ms suits AssemblyAI).
    ///   - minimumDuration: the shortest acceptable last chunk; the chunk duration by default.
    /// - Throws: ``AudioError/Code/invalidFormat`` if the chunk is under one frame or the minimum
    ///   is negative or longer than a chunk.
    public init(format: AudioFormat, chunkDuration: Duration, minimumDuration: Duration? = nil) throws(AudioError) {
        try format.validate()
        let chunkFrames = format.frameCount(for: chunkDuration)
        let minimumFrames = minimumDuration.map { format.frameCount(for: $0) } ?? chunkFrames
        guard chunkFrames >= 1 else {
            throw AudioError(.invalidFormat, detail: "chunk duration \(chunkDuration) is under one frame")
        }
        guard minimumDuration.map({ $0 >= .zero }) ?? true, minimumFrames <= chunkFrames else {
            throw AudioError(.invalidFormat, detail: "the minimum chunk must be between zero and the chunk duration")
        }
        self.format = format
        self.chunkFrames = chunkFrames
        self.minimumFrames = minimumFrames
    }

    /// Frames held back, not yet part of a returned chunk.
    public var bufferedFrames: Int { (pending.count - pendingHead) / format.bytesPerFrame }

    /// Adds a buffer and returns the chunks now complete (often none or one).
    /// - Throws: ``AudioError/Code/invalidFormat`` if the buffer's format differs or its bytes are
    ///   not whole frames, or if called after ``finish()``.
    public mutating func append(_ buffer: AudioBuffer) throws(AudioError) -> [AudioBuffer] {
        guard !finished else { throw AudioError(.invalidFormat, detail: "append after finish") }
        guard buffer.format == format else {
            throw AudioError(.invalidFormat, detail: "buffer is \(buffer.format), the chunker expects \(format)")
        }
        guard buffer.bytes.count % format.bytesPerFrame == 0 else {
            throw AudioError(.invalidFormat, detail: "buffer of \(buffer.bytes.count) bytes is not whole frames")
        }
        guard !buffer.bytes.isEmpty else { return [] }
        let offset = pending.count - pendingHead
        if let last = segments.last {
            let expected = last.startFrame + Int64((offset - last.offset) / format.bytesPerFrame)
            if buffer.startFrame != expected { segments.append((offset, buffer.startFrame)) }
        } else {
            segments.append((offset, buffer.startFrame))
        }
        compact()
        pending.append(contentsOf: buffer.bytes)
        var chunks: [AudioBuffer] = []
        while bufferedFrames >= chunkFrames + minimumFrames {
            chunks.append(take(frames: chunkFrames))
        }
        return chunks
    }

    /// Ends the stream and returns the last chunk: the remainder merged with the chunk held back,
    /// or nothing if no audio is left.
    public mutating func finish() -> [AudioBuffer] {
        finished = true
        var chunks: [AudioBuffer] = []
        // Only when the minimum is zero can more than one full chunk be pending.
        while minimumFrames == 0, bufferedFrames > chunkFrames { chunks.append(take(frames: chunkFrames)) }
        if bufferedFrames > 0 { chunks.append(take(frames: bufferedFrames)) }
        return chunks
    }

    private mutating func take(frames: Int) -> AudioBuffer {
        let byteCount = frames * format.bytesPerFrame
        let start = segments[0].startFrame
        let bytes = Array(pending[pendingHead..<(pendingHead + byteCount)])
        pendingHead += byteCount
        // Re-base the segments on the new head.
        var rebased: [(offset: Int, startFrame: Int64)] = []
        for (index, segment) in segments.enumerated() {
            let end = index + 1 < segments.count ? segments[index + 1].offset : Int.max
            if end <= byteCount { continue }
            if segment.offset < byteCount {
                let skipped = Int64((byteCount - segment.offset) / format.bytesPerFrame)
                rebased.append((0, segment.startFrame + skipped))
            } else {
                rebased.append((segment.offset - byteCount, segment.startFrame))
            }
        }
        segments = rebased
        return AudioBuffer(format: format, bytes: bytes, startFrame: start)
    }

    /// Drops consumed bytes when they outweigh the pending ones (keeps memory bounded).
    private mutating func compact() {
        if pendingHead > 0, pendingHead >= pending.count - pendingHead {
            pending.removeFirst(pendingHead)
            pendingHead = 0
        }
    }
}
