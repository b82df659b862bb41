/// Cuts wire-format audio into chunks of a fixed size.
///
/// With `holdsBackLastChunk` (AssemblyAI), the last full chunk is held back until more audio
/// arrives or the stream ends, so that a tail shorter than a chunk can be merged into it: every
/// chunk stays within the vendor's allowed duration (50–1000 ms) and exactly the audio given is
/// sent, never padded. Without it (Speechmatics, where any size goes), full chunks leave at once.
struct WireChunker: Sendable {
    let chunkBytes: Int
    let alignment: Int
    let holdsBackLastChunk: Bool
    private var buffer: [UInt8] = []
    private var start = 0

    init(chunkBytes: Int, alignment: Int, holdsBackLastChunk: Bool = true) {
        precondition(chunkBytes > 0 && alignment > 0 && chunkBytes % alignment == 0)
        self.chunkBytes = chunkBytes
        self.alignment = alignment
        self.holdsBackLastChunk = holdsBackLastChunk
    }

    /// Bytes waiting.
    var pending: Int { buffer.count - start }

    /// Adds audio; returns the chunks that are ready (each exactly `chunkBytes`).
    mutating func append(_ bytes: some Collection<UInt8>) -> [[UInt8]] {
        buffer.append(contentsOf: bytes)
        var chunks: [[UInt8]] = []
        // Keep one full chunk back while more may come (see the type's note).
        let keep = holdsBackLastChunk ? chunkBytes : 0
        while buffer.count - start >= chunkBytes + keep {
            chunks.append(Array(buffer[start..<start + chunkBytes]))
            start += chunkBytes
        }
        if start > 0 && start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
        return chunks
    }

    /// The end of the audio: what is left, as at most two chunks — a full chunk and a tail, or the
    /// tail merged into the last chunk when `mergeTail` (so no chunk is shorter than a full one
    /// unless the whole stream was).
    mutating func finish(mergeTail: Bool) -> [[UInt8]] {
        let rest = Array(buffer[start...].prefix((buffer.count - start) / alignment * alignment))
        buffer.removeAll()
        start = 0
        guard !rest.isEmpty else { return [] }
        if mergeTail || rest.count <= chunkBytes { return [rest] }
        return [Array(rest[..<chunkBytes]), Array(rest[chunkBytes...])]
    }
}
