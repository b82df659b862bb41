import Foundation
import StreamingSTT
import Testing

@Suite("Raw PCM and sequence sources")
struct AudioRawSourceTests {
    /// Writes `bytes` into `fd` in pieces of `piece` bytes on a plain thread, then closes it.
    static func feed(_ fd: Int32, _ bytes: [UInt8], piece: Int) {
        let thread = Thread {
            var offset = 0
            while offset < bytes.count {
                let count = min(piece, bytes.count - offset)
                let written = bytes[offset..<(offset + count)].withUnsafeBytes { write(fd, $0.baseAddress, count) }
                if written <= 0 { break }
                offset += written
            }
            close(fd)
        }
        thread.start()
    }

    static func pipePair() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw TimedOut(what: "a pipe") }
        return (fds[0], fds[1])
    }

    @Test(.timeLimit(.minutes(1)))
    func pipeBytesComeOutExactly() async throws {
        let format = AudioFormat.pcm16(sampleRate: 16_000, channelCount: 2)
        let bytes = (0..<(4 * 40_000)).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ $0 >> 9) }
        let (readEnd, writeEnd) = try Self.pipePair()
        let source = try RawPCMSource(fileDescriptor: readEnd, format: format, queueCapacity: 2, closesDescriptor: true)
        Self.feed(writeEnd, bytes, piece: 333)
        let buffers = try await withTimeout(.seconds(30), "the pipe's bytes") {
            var buffers: [AudioBuffer] = []
            for try await buffer in source { buffers.append(buffer) }
            return buffers
        }
        var expected: Int64 = 0
        for buffer in buffers {
            #expect(buffer.startFrame == expected)
            expected = buffer.endFrame
        }
        // Fixed 100 ms buffers whatever the writer's piece size; the rest in the last one.
        for buffer in buffers.dropLast() { #expect(buffer.duration == .milliseconds(100)) }
        #expect(buffers.last.map { $0.duration <= .milliseconds(100) } == true)
        let received = buffers.flatMap(\.bytes)
        #expect(received.count == bytes.count)
        let same = received == bytes
        #expect(same, "the bytes differ")
    }

    @Test(.timeLimit(.minutes(1)))
    func streamEndingMidFrameIsAnError() async throws {
        let (readEnd, writeEnd) = try Self.pipePair()
        let source = try RawPCMSource(
            fileDescriptor: readEnd, format: .pcm16(sampleRate: 8000), closesDescriptor: true)
        Self.feed(writeEnd, [1, 2, 3, 4, 5], piece: 5)
        var frames = 0
        do {
            for try await buffer in source { frames += buffer.frameCount }
            Issue.record("no error for a partial frame")
        } catch {
            #expect(error.code == .partialFrame)
        }
        #expect(frames == 2)
    }

    @Test(.timeLimit(.minutes(1)))
    func stopWakesAReadBlockedOnAnEmptyPipe() async throws {
        let (readEnd, writeEnd) = try Self.pipePair()
        defer { close(writeEnd) }
        let source = try RawPCMSource(fileDescriptor: readEnd, format: .pcm16(sampleRate: 8000), closesDescriptor: true)
        let started = Promise<Void>()
        let reader = Task {
            started.fulfill(())
            var count = 0
            for try await _ in source { count += 1 }
            return count
        }
        try await withTimeout(.seconds(10), "the reader") { await started.value }
        try await withTimeout(.seconds(10), "stop") { await source.stop() }
        #expect(try await withTimeout(.seconds(10), "the end") { try await reader.value } == 0)
        // The source closed the read end: the write end now reports an error.
        var writer = pollfd(fd: writeEnd, events: Int16(POLLOUT), revents: 0)
        _ = poll(&writer, 1, 0)
        #expect(writer.revents & Int16(POLLERR) != 0)
    }

    @Test func floatSamplesBecomeBuffers() async throws {
        let (stream, continuation) = AsyncStream.makeStream(of: [Float].self)
        continuation.yield([0, 0.5])
        continuation.yield([-0.5])
        continuation.finish()
        let source = AudioSequenceSource(samples: stream, sampleRate: 16_000)
        #expect(source.format == .float32(sampleRate: 16_000))
        var buffers: [AudioBuffer] = []
        for try await buffer in source { buffers.append(buffer) }
        #expect(buffers.map(\.startFrame) == [0, 2])
        #expect(buffers.flatMap(\.floatSamples) == [0, 0.5, -0.5])
    }

    @Test func int16SamplesBecomeBuffers() async throws {
        let source = AudioSequenceSource(
            samples: AsyncStream {
                $0.yield([Int16(1), -1]); $0.finish()
            }, sampleRate: 8000)
        var bytes: [UInt8] = []
        for try await buffer in source { bytes += buffer.bytes }
        #expect(bytes == [1, 0, 255, 255])
    }

    @Test func byteChunksAreReframed() async throws {
        let format = AudioFormat.pcm16(sampleRate: 8000, channelCount: 2)
        let source = AudioSequenceSource(
            bytes: AsyncStream {
                $0.yield([1, 2, 3])
                $0.yield([4, 5, 6, 7, 8, 9])
                $0.yield([10, 11, 12])
                $0.finish()
            }, format: format)
        var buffers: [AudioBuffer] = []
        for try await buffer in source { buffers.append(buffer) }
        #expect(buffers.map(\.bytes) == [[1, 2, 3, 4, 5, 6, 7, 8], [9, 10, 11, 12]])
        #expect(buffers.map(\.startFrame) == [0, 2])
    }

    @Test func partialFrameAtTheEndIsAnError() async {
        let source = AudioSequenceSource(
            bytes: AsyncStream {
                $0.yield([1, 2, 3]); $0.finish()
            }, format: .pcm16(sampleRate: 8000))
        await #expect(throws: AudioError.self) { for try await _ in source {} }
    }

    @Test func buffersInTheWrongFormatAreRejected() async {
        let wrong = AudioBuffer(format: .pcm16(sampleRate: 8000), bytes: [0, 0])
        let source = AudioSequenceSource(
            buffers: AsyncStream {
                $0.yield(wrong); $0.finish()
            }, format: .pcm16(sampleRate: 16_000))
        await #expect(throws: AudioError.self) { for try await _ in source {} }
    }
}
