/// Cuts wire-format audio into chunks of a fixed size.
///
/// With `holdsBackLastChunk` (AssemblyAI), the last full chunk is held back until more audio
/// arrives or the stream ends, so that a tail shorter than a chunk can be merged into it: every
/// chunk stays within the vendor's allowed duration (50–1000 ms) and exactly the audio given is
/// sent (only a stream shorter than 50 ms in all is padded with silence, by the transcriber).
/// Without it (Speechmatics, where any size goes), full chunks leave at once.
///
/// A buffer of exactly one chunk that arrives with no partial audio waiting is passed on as it
/// is, without a copy: the common case of a caller that sends chunk-sized buffers.
package struct WireChunker: Sendable {
    package let chunkBytes: Int
    package let alignment: Int
    package let holdsBackLastChunk: Bool
    /// The full chunk held back (only with `holdsBackLastChunk`).
    private var held: [UInt8]?
    /// Audio after `held`, from `start`: less than a chunk between calls.
    private var buffer: [UInt8] = []
    private var start = 0

    package init(chunkBytes: Int, alignment: Int, holdsBackLastChunk: Bool = true) {
        precondition(chunkBytes > 0 && alignment > 0 && chunkBytes % alignment == 0)
        self.chunkBytes = chunkBytes
        self.alignment = alignment
        self.holdsBackLastChunk = holdsBackLastChunk
    }

    /// Bytes waiting.
    package var pending: Int { (held?.count ?? 0) + buffer.count - start }

    /// Adds audio; returns the chunks that are ready (each exactly `chunkBytes`).
    package mutating func append(_ bytes: [UInt8]) -> [[UInt8]] {
        if bytes.count == chunkBytes && buffer.count == start {
            guard let chunk = passing(bytes) else { return [] }
            return [chunk]
        }
        return append(contentsOf: bytes)
    }

    /// Adds audio from any collection; returns the chunks that are ready.
    package mutating func append(contentsOf bytes: some Collection<UInt8>) -> [[UInt8]] {
        buffer.append(contentsOf: bytes)
        var chunks: [[UInt8]] = []
        while buffer.count - start >= chunkBytes {
            if let chunk = passing(Array(buffer[start..<start + chunkBytes])) { chunks.append(chunk) }
            start += chunkBytes
        }
        if start > 0 && start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
        return chunks
    }

    /// A full chunk: what leaves now (the held one, or `chunk` itself), and `chunk` is held back.
    private mutating func passing(_ chunk: [UInt8]) -> [UInt8]? {
        guard holdsBackLastChunk else { return chunk }
        defer { held = chunk }
        return held
    }

    /// The full chunk held back, now (before a forced end of turn, which must follow all the
    /// audio given); the partial chunk after it stays.
    package mutating func takeHeldChunk() -> [UInt8]? {
        defer { held = nil }
        return held
    }

    /// The end of the audio: what is left, as at most two chunks — a full chunk and a tail, or the
    /// tail merged into the last chunk when `mergeTail` (so no chunk is shorter than a full one
    /// unless the whole stream was).
    package mutating func finish(mergeTail: Bool) -> [[UInt8]] {
        var rest = held ?? []
        rest += buffer[start...]
        rest.removeLast(rest.count % alignment)
        held = nil
        buffer.removeAll()
        start = 0
        guard !rest.isEmpty else { return [] }
        if mergeTail || rest.count <= chunkBytes { return [rest] }
        return [Array(rest[..<chunkBytes]), Array(rest[chunkBytes...])]
    }
}
