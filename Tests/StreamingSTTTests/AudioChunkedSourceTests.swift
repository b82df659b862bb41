import Foundation
import StreamingSTT
import Testing

@Suite("Chunked sources (convert, chunk, pace)")
struct AudioChunkedSourceTests {
    @Test func fileBecomesWireChunks() async throws {
        let path = temporaryPath("stereo48k.wav")
        defer { unlink(path) }
        let samples = sine(frequency: 1000, sampleRate: 48_000, seconds: 1.013, channels: 2)
        try AudioFileWriter.write(samples, sampleRate: 48_000, channelCount: 2, kind: .wavFloat, to: path)
        let file = try AudioFileSource(path: path)
        let chunks = try file.chunked(as: .pcm16(sampleRate: 16_000), every: .milliseconds(50))
        var all: [AudioBuffer] = []
        for try await chunk in chunks { all.append(chunk) }
        for chunk in all.dropLast() { #expect(chunk.frameCount == 800) }
        let last = try #require(all.last)
        #expect(last.frameCount >= 800 && last.frameCount < 1600)
        let total = all.reduce(0) { $0 + $1.frameCount }
        #expect(abs(total - 16_208) <= 1)  // 1.013 s at 16 kHz: nothing lost, nothing padded
        var expected: Int64 = 0
        for chunk in all {
            #expect(chunk.startFrame == expected)
            expected = chunk.endFrame
        }
        let fit = ToneFit(all.flatMap(\.floatSamples)[800..<15_000], frequency: 1000, sampleRate: 16_000)
        #expect(fit.snrDecibels > 60)
    }

    @Test(.timeLimit(.minutes(1)))
    func realTimePacingFollowsTheAudio() async throws {
        let samples = [Int16](repeating: 0, count: 4800)  // 300 ms at 16 kHz
        let source = AudioSequenceSource(
            samples: AsyncStream {
                $0.yield(samples); $0.finish()
            }, sampleRate: 16_000)
        let chunks = try source.chunked(as: .pcm16(sampleRate: 16_000), every: .milliseconds(50), pacing: .realTime)
        let clock = ContinuousClock()
        let start = clock.now
        var count = 0
        for try await _ in chunks { count += 1 }
        #expect(count == 6)  // 6 × 50 ms; chunk k is due at k · 50 ms
        #expect(clock.now - start >= .milliseconds(250))
    }

    @Test func impossibleConversionFailsUpFront() {
        let source = AudioSequenceSource(
            samples: AsyncStream<[Float]> { $0.finish() }, sampleRate: 16_000, channelCount: 3)
        #expect(throws: AudioError.self) {
            try source.chunked(as: .pcm16(sampleRate: 16_000, channelCount: 2), every: .milliseconds(50))
        }
    }
}
