import StreamingSTT
import Testing

@Suite("Chunking and pacing")
struct AudioChunkerTests {
    static let format = AudioFormat.pcm16(sampleRate: 16_000)

    /// `frames` frames of distinct bytes, starting at `start`, split into `sizes`.
    static func buffers(frames: Int, sizes: [Int], start: Int64 = 0) -> (all: [UInt8], buffers: [AudioBuffer]) {
        let all = (0..<(frames * 2)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 8) }
        var buffers: [AudioBuffer] = []
        var frame = 0
        var index = 0
        while frame < frames {
            let count = min(sizes[index % sizes.count], frames - frame)
            buffers.append(
                AudioBuffer(
                    format: format, bytes: Array(all[(frame * 2)..<((frame + count) * 2)]),
                    startFrame: start + Int64(frame)))
            frame += count
            index += 1
        }
        return (all, buffers)
    }

    static func chunk(_ buffers: [AudioBuffer], _ chunker: inout AudioChunker) throws -> [AudioBuffer] {
        var chunks: [AudioBuffer] = []
        for buffer in buffers { chunks += try chunker.append(buffer) }
        return chunks + chunker.finish()
    }

    @Test(arguments: [800 * 10, 800 * 10 + 1, 800 * 10 + 799, 800 * 10 + 400, 801, 1600, 2399, 12_345])
    func exactSamplesFixedChunksMergedRemainder(frames: Int) throws {
        let (all, buffers) = Self.buffers(frames: frames, sizes: [333, 1000, 1, 2048, 160])
        var chunker = try AudioChunker(format: Self.format, chunkDuration: .milliseconds(50))
        let chunks = try Self.chunk(buffers, &chunker)
        #expect(chunks.flatMap(\.bytes) == all)  // exactly the source's samples, never padded
        for chunk in chunks.dropLast() { #expect(chunk.frameCount == 800) }
        let last = try #require(chunks.last)
        #expect(last.frameCount >= 800 && last.frameCount < 1600)
        var expected: Int64 = 0
        for chunk in chunks {
            #expect(chunk.startFrame == expected)
            expected = chunk.endFrame
        }
    }

    @Test func shortInputGivesOneShortChunk() throws {
        let (all, buffers) = Self.buffers(frames: 300, sizes: [100])
        var chunker = try AudioChunker(format: Self.format, chunkDuration: .milliseconds(50))
        let chunks = try Self.chunk(buffers, &chunker)
        #expect(chunks.count == 1)
        #expect(chunks[0].bytes == all)
    }

    @Test func emptyInputGivesNoChunk() throws {
        var chunker = try AudioChunker(format: Self.format, chunkDuration: .milliseconds(50))
        #expect(chunker.finish().isEmpty)
    }

    @Test func zeroMinimumEmitsWithoutHoldingBack() throws {
        let (all, buffers) = Self.buffers(frames: 800 * 3 + 10, sizes: [800])
        var chunker = try AudioChunker(format: Self.format, chunkDuration: .milliseconds(50), minimumDuration: .zero)
        #expect(try chunker.append(buffers[0]).count == 1)
        let chunks = try Self.chunk(Array(buffers.dropFirst()), &chunker)
        #expect(chunks.map(\.frameCount) == [800, 800, 10])
        #expect((chunks.flatMap(\.bytes)).count + 1600 == all.count)
    }

    @Test func chunkPositionsFollowGaps() throws {
        var chunker = try AudioChunker(format: Self.format, chunkDuration: .milliseconds(50), minimumDuration: .zero)
        let first = Self.buffers(frames: 1000, sizes: [1000]).buffers
        let second = Self.buffers(frames: 1000, sizes: [1000], start: 5000).buffers
        let chunks = try Self.chunk(first + second, &chunker)
        #expect(chunks.map(\.startFrame) == [0, 800, 5000 + 600])
        #expect(chunks.map(\.frameCount) == [800, 800, 400])
    }

    @Test func invalidChunkSettingsAreErrors() {
        #expect(throws: AudioError.self) { try AudioChunker(format: Self.format, chunkDuration: .zero) }
        #expect(throws: AudioError.self) {
            try AudioChunker(format: Self.format, chunkDuration: .milliseconds(50), minimumDuration: .milliseconds(60))
        }
    }

    @Test func realTimeDeadlinesDoNotDrift() throws {
        var pacer = AudioPacer(.realTime)
        let chunks = (0..<100).map {
            AudioBuffer(format: Self.format, bytes: [UInt8](repeating: 0, count: 1600), startFrame: Int64($0) * 800)
        }
        let first = pacer.deadline(for: chunks[0])
        let t0 = try #require(first)
        for (k, chunk) in chunks.enumerated() {
            #expect(pacer.deadline(for: chunk) == t0.advanced(by: .milliseconds(50) * k))
        }
        var fast = AudioPacer(.asFastAsPossible)
        #expect(fast.deadline(for: chunks[1]) == nil)
    }

    @Test(.timeLimit(.minutes(1)))
    func realTimePacingWaitsOnTheClock() async throws {
        var pacer = AudioPacer(.realTime)
        let clock = ContinuousClock()
        let start = clock.now
        for k in 0..<6 {
            let chunk = AudioBuffer(
                format: Self.format, bytes: [UInt8](repeating: 0, count: 640), startFrame: Int64(k) * 320)
            try await pacer.wait(for: chunk)
            #expect(clock.now - start >= .milliseconds(20) * k)
        }
        #expect(clock.now - start < .seconds(5))
    }
}
