import Foundation
import StreamingSTT
import Testing

@Suite("Audio files (libsndfile)")
struct AudioFileSourceTests {
    static func readAll(_ source: AudioFileSource) async throws -> [AudioBuffer] {
        var buffers: [AudioBuffer] = []
        for try await buffer in source { buffers.append(buffer) }
        return buffers
    }

    @Test(arguments: AudioFileWriter.Kind.allCases)
    func decodes(kind: AudioFileWriter.Kind) async throws {
        let rate = kind == .oggOpus ? 48_000 : 16_000
        let samples = sine(frequency: 440, sampleRate: rate, seconds: 1, amplitude: 0.5)
        let path = temporaryPath("tone.\(kind.fileExtension)")
        defer { unlink(path) }
        try AudioFileWriter.write(samples, sampleRate: rate, channelCount: 1, kind: kind, to: path)

        let source = try AudioFileSource(path: path)
        #expect(source.format.sampleRate == rate)
        #expect(source.format.channelCount == 1)
        let int16 = [.wavUnsigned8, .wav16, .flac].contains(kind)
        #expect(source.format.encoding == (int16 ? .int16 : .float32), "\(kind): \(source.formatName)")
        let buffers = try await Self.readAll(source)
        var expected: Int64 = 0
        for buffer in buffers {
            #expect(buffer.format == source.format)
            #expect(buffer.startFrame == expected)
            expected = buffer.endFrame
        }
        let decoded = buffers.flatMap(\.floatSamples)
        if kind.isLossy {
            // Codec delay and padding differ; the tone must survive.
            #expect(abs(decoded.count - samples.count) < rate / 5, "\(kind): \(decoded.count) frames")
            let middle = decoded[(rate / 4)..<(rate * 3 / 4)]
            let fit = ToneFit(middle, frequency: 440, sampleRate: rate)
            #expect(fit.snrDecibels > 15, "\(kind): SNR \(fit.snrDecibels) dB")
        } else {
            #expect(decoded.count == samples.count)
            let tolerance: Float =
                switch kind {
                case .wavUnsigned8: 1.0 / 128
                case .wavMuLaw: 0.5 * 0.032
                default: 1.0 / 32768
                }
            let worst = zip(decoded, samples).map { abs($0 - $1) }.max() ?? 1
            #expect(worst <= tolerance, "\(kind): worst error \(worst)")
        }
    }

    @Test func stereoFileKeepsItsChannels() async throws {
        let path = temporaryPath("stereo.wav")
        defer { unlink(path) }
        let samples: [Float] = (0..<2000).map { $0 % 2 == 0 ? 0.25 : -0.25 }
        try AudioFileWriter.write(samples, sampleRate: 44_100, channelCount: 2, kind: .wavFloat, to: path)
        let source = try AudioFileSource(path: path, bufferDuration: .milliseconds(10))
        #expect(source.format == .float32(sampleRate: 44_100, channelCount: 2))
        #expect(source.frameCount == 1000)
        let buffers = try await Self.readAll(source)
        #expect(buffers.count == 3)  // 441 + 441 + 118 frames
        #expect(buffers.flatMap(\.floatSamples) == samples)
    }

    @Test func missingFileNamesTheFile() {
        let path = temporaryPath("does-not-exist.wav")
        do {
            _ = try AudioFileSource(path: path)
            Issue.record("opened a missing file")
        } catch {
            #expect(error.code == .fileNotFound)
            #expect(error.description.contains(path))
        }
    }

    @Test func directoryIsUnreadable() {
        do {
            _ = try AudioFileSource(path: NSTemporaryDirectory())
            Issue.record("opened a directory")
        } catch {
            #expect(error.code == .fileUnreadable)
        }
    }

    @Test func garbageIsUnsupported() throws {
        let path = temporaryPath("noise.wav")
        defer { unlink(path) }
        try Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 17) }).write(to: URL(fileURLWithPath: path))
        do {
            _ = try AudioFileSource(path: path)
            Issue.record("decoded garbage")
        } catch {
            #expect(error.code == .unsupportedFile)
            #expect(error.description.contains(path))
            #expect(!error.detail.isEmpty)
        }
    }

    @Test func damagedHeaderIsAnError() throws {
        let good = temporaryPath("good.wav")
        let bad = temporaryPath("bad.wav")
        defer {
            unlink(good)
            unlink(bad)
        }
        try AudioFileWriter.write([0, 0.1, 0.2], sampleRate: 16_000, channelCount: 1, kind: .wav16, to: good)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: good))
        // Zero the "fmt " chunk's channel count and sample rate.
        for index in 22..<28 { bytes[index] = 0 }
        try bytes.write(to: URL(fileURLWithPath: bad))
        do {
            _ = try AudioFileSource(path: bad)
            Issue.record("accepted a header with no channels")
        } catch {
            #expect([AudioError.Code.corruptFile, .unsupportedFile].contains(error.code), "\(error)")
            #expect(error.description.contains(bad))
        }
    }

    @Test(arguments: [AudioFileWriter.Kind.flac, .oggVorbis, .mp3, .wav16])
    func truncatedFileEndsEarlyOrFailsClearly(kind: AudioFileWriter.Kind) async throws {
        let path = temporaryPath("truncated.\(kind.fileExtension)")
        defer { unlink(path) }
        try AudioFileWriter.write(
            sine(frequency: 440, sampleRate: 16_000, seconds: 2), sampleRate: 16_000, channelCount: 1, kind: kind,
            to: path)
        let whole = try Data(contentsOf: URL(fileURLWithPath: path))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: path))
        var frames = 0
        do {
            // Some decoders notice at open (Ogg needs the last page), others while reading.
            for try await buffer in try AudioFileSource(path: path) { frames += buffer.frameCount }
        } catch {
            #expect(error.code == .corruptFile, "\(kind): \(error)")
            #expect(error.description.contains(path))
        }
        #expect(frames < 32_000, "\(kind): \(frames) frames from half a file")
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/espeak-ng")))
    func speechRecordingDecodesAndResamples() async throws {
        let path = temporaryPath("speech.wav")
        defer { unlink(path) }
        let espeak = Process()
        espeak.executableURL = URL(fileURLWithPath: "/usr/bin/espeak-ng")
        espeak.arguments = ["-w", path, "testing one two three"]
        try espeak.run()
        espeak.waitUntilExit()
        let source = try AudioFileSource(path: path)
        #expect(source.format.encoding == .int16)
        let converter = try AudioConverter(from: source.format, to: .pcm16(sampleRate: 16_000))
        var frames = 0
        var energy = 0.0
        for try await buffer in source {
            let out = try converter.convert(buffer)
            frames += out.frameCount
            energy += power(out.floatSamples[...]) * Double(out.frameCount)
        }
        frames += try converter.flush().frameCount
        let expected = Double(source.frameCount ?? 0) * 16_000 / Double(source.format.sampleRate)
        #expect(abs(Double(frames) - expected) <= 2)
        #expect(energy > 0)
    }
}
