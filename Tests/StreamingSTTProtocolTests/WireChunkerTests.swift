import Testing

@testable import StreamingSTTProtocol

/// The wire chunker against a plain model of what it must do: every byte given leaves exactly
/// once and in order, every chunk but the last is exactly a chunk, a full chunk is held back
/// (AssemblyAI) until the next one is complete, and chunk-sized buffers pass without a copy.
@Suite("WireChunker")
struct WireChunkerTests {
    /// Buffer sizes: exact chunks, partial ones, several chunks at once, odd alignment leftovers.
    static let sizeSequences: [[Int]] = [
        [1600, 1600, 1600, 1600],
        [1600, 800, 800, 1600, 1600, 3200, 1],
        [100, 1600, 1500, 4800, 1600, 2, 1598, 1600],
        [7, 1600, 1593, 1600, 1600, 5000, 1600, 1600, 1599],
        [1600],
        [800],
        [],
    ]

    @Test("Every byte leaves once, in order; chunks are full; one is held back", arguments: [true, false])
    func everyByteOnce(holdsBack: Bool) {
        for sizes in Self.sizeSequences {
            var chunker = WireChunker(chunkBytes: 1600, alignment: 2, holdsBackLastChunk: holdsBack)
            var input: [UInt8] = []
            var output: [UInt8] = []
            var counter: UInt8 = 0
            for size in sizes {
                let buffer = (0..<size).map { _ in
                    counter &+= 1
                    return counter
                }
                input += buffer
                let chunks = chunker.append(buffer)
                #expect(chunks.allSatisfy { $0.count == 1600 }, "sizes \(sizes)")
                output += chunks.joined()
                // What may wait: less than a chunk, plus one full chunk when holding back.
                let fullChunks = input.count / 1600
                let expectedOut = (holdsBack ? max(0, fullChunks - 1) : fullChunks) * 1600
                #expect(output.count == expectedOut, "sizes \(sizes)")
                #expect(chunker.pending == input.count - output.count)
            }
            let tail = chunker.finish(mergeTail: holdsBack)
            #expect(tail.count <= (holdsBack ? 1 : 2))
            output += tail.joined()
            let aligned = input.count / 2 * 2
            #expect(output == Array(input.prefix(aligned)), "sizes \(sizes)")
            #expect(chunker.pending == 0)
        }
    }

    @Test("Without merging, the end is a full chunk and a tail")
    func tailNotMerged() {
        var chunker = WireChunker(chunkBytes: 1600, alignment: 2)
        #expect(chunker.append([UInt8](repeating: 1, count: 1600)).isEmpty)
        #expect(chunker.append([UInt8](repeating: 2, count: 400)).isEmpty)
        let end = chunker.finish(mergeTail: false)
        #expect(end.map(\.count) == [1600, 400])
        var merging = WireChunker(chunkBytes: 1600, alignment: 2)
        _ = merging.append([UInt8](repeating: 1, count: 2000))
        #expect(merging.finish(mergeTail: true).map(\.count) == [2000])
    }

    @Test("A chunk-sized buffer leaves as the same storage, not a copy")
    func chunkSizedBuffersAreNotCopied() {
        var chunker = WireChunker(chunkBytes: 1600, alignment: 2, holdsBackLastChunk: true)
        let first = [UInt8](repeating: 7, count: 1600)
        let second = [UInt8](repeating: 8, count: 1600)
        #expect(chunker.append(first).isEmpty)
        let out = chunker.append(second)
        #expect(out.count == 1)
        let same = out[0].withUnsafeBufferPointer { a in
            first.withUnsafeBufferPointer { b in a.baseAddress == b.baseAddress }
        }
        #expect(same)
    }
}
