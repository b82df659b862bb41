import StreamingSTT
import Testing

@Suite("Audio formats and sample coding")
struct AudioFormatTests {
    @Test func sizes() {
        #expect(AudioFormat.pcm16(sampleRate: 16_000).bytesPerFrame == 2)
        #expect(AudioFormat(encoding: .float32, sampleRate: 48_000, channelCount: 2).bytesPerFrame == 8)
        #expect(AudioFormat.mulaw().bytesPerSample == 1)
        #expect(AudioFormat.pcm16(sampleRate: 16_000).byteCount(for: .milliseconds(50)) == 1600)
        #expect(AudioFormat.pcm16(sampleRate: 22_050).frameCount(for: .milliseconds(50)) == 1103)
    }

    @Test func bufferDurationAndPosition() {
        let format = AudioFormat.pcm16(sampleRate: 16_000, channelCount: 2)
        let buffer = AudioBuffer(format: format, bytes: [UInt8](repeating: 0, count: 3200), startFrame: 16_000)
        #expect(buffer.frameCount == 800)
        #expect(buffer.duration == .milliseconds(50))
        #expect(buffer.startTime == .seconds(1))
        #expect(buffer.endFrame == 16_800)
    }

    @Test func buffersEncodeSamplesInTheirFormat() {
        #expect(AudioBuffer(format: .mulaw(), int16Samples: [0, -1]).bytes == [0xFF, 0x7F])
        #expect(AudioBuffer(format: .pcm16(sampleRate: 8000), floatSamples: [0.5]).bytes == [0, 0x40])
        #expect(AudioBuffer(format: .float32(sampleRate: 8000), int16Samples: [-32768]).floatSamples == [-1])
        #expect(AudioBuffer(format: .mulaw(), floatSamples: [0]).bytes == [0xFF])
    }

    @Test func muLawReferenceValues() {
        // G.711 / G.191 reference: extremes, zero and the negative-zero code.
        #expect(MuLaw.decode(0xFF) == 0)
        #expect(MuLaw.decode(0x7F) == 0)
        #expect(MuLaw.decode(0x80) == 32124)
        #expect(MuLaw.decode(0x00) == -32124)
        #expect(MuLaw.decode(0xF0) == 120)
        #expect(MuLaw.decode(0xEF) == 132)
        #expect(MuLaw.encode(0) == 0xFF)
        #expect(MuLaw.encode(-1) == 0x7F)
        #expect(MuLaw.encode(Int16.max) == 0x80)
        #expect(MuLaw.encode(Int16.min) == 0x00)
    }

    @Test func muLawRoundTripsEveryCode() {
        for code in 0...255 where code != 0x7F {
            #expect(MuLaw.encode(MuLaw.decode(UInt8(code))) == UInt8(code))
        }
    }

    @Test func muLawQuantisesToNearestLevel() {
        // Every 16-bit input maps to the reconstruction level of its interval: never further
        // away than half that segment's step (plus the 2 LSBs G.711 does not code).
        let levels = (0...255).map { (code: UInt8($0), value: Int(MuLaw.decode(UInt8($0)))) }
        for sample in stride(from: Int(Int16.min), through: Int(Int16.max), by: 1) {
            let code = MuLaw.encode(Int16(sample))
            let decoded = Int(MuLaw.decode(code))
            let exponent = Int((~code >> 4) & 0x7)
            let halfStep = (4 << (exponent + 1)) / 2
            let clipped = min(max(sample, -32124 - halfStep), 32124 + halfStep)
            #expect(abs(decoded - clipped) <= halfStep + 4, "sample \(sample) → \(code) → \(decoded)")
            if abs(decoded - clipped) > halfStep + 4 { break }
            // Sign is kept (zero maps to ±0).
            #expect(sample >= 0 ? code >= 0x80 : code < 0x80)
        }
        #expect(Set(levels.map(\.value)).count == 255)  // ±0 share one value
    }

    @Test func int16FloatRoundTripIsLossless() throws {
        let input = AudioFormat.pcm16(sampleRate: 8000)
        let samples: [Int16] = [Int16.min, -12345, -1, 0, 1, 255, 12345, Int16.max]
        let toFloat = try AudioConverter(from: input, to: .float32(sampleRate: 8000))
        let back = try AudioConverter(from: .float32(sampleRate: 8000), to: input)
        let floats = try toFloat.convert(AudioBuffer(format: input, int16Samples: samples))
        #expect(floats.floatSamples[0] == -1)
        #expect(floats.floatSamples[3] == 0)
        let again = try back.convert(floats)
        #expect(again.bytes == AudioBuffer(format: input, int16Samples: samples).bytes)
    }

    @Test func floatClipsAndNaNIsSilence() throws {
        let converter = try AudioConverter(from: .float32(sampleRate: 8000), to: .pcm16(sampleRate: 8000))
        let out = try converter.convert(
            AudioBuffer(format: .float32(sampleRate: 8000), floatSamples: [2, -2, .nan, 0.5, -0.5]))
        #expect(
            out.bytes
                == AudioBuffer(format: .pcm16(sampleRate: 8000), int16Samples: [32767, -32768, 0, 16384, -16384]).bytes)
    }

    @Test func int16ToMuLawMatchesTheCodec() throws {
        let samples: [Int16] = [0, -1, 100, -100, 1000, -1000, 30000, -30000, Int16.max, Int16.min]
        let converter = try AudioConverter(from: .pcm16(sampleRate: 8000), to: .mulaw(sampleRate: 8000))
        let out = try converter.convert(AudioBuffer(format: .pcm16(sampleRate: 8000), int16Samples: samples))
        #expect(out.bytes == samples.map(MuLaw.encode))
        let back = try AudioConverter(from: .mulaw(sampleRate: 8000), to: .pcm16(sampleRate: 8000))
        let decoded = try back.convert(out)
        #expect(
            decoded.bytes
                == AudioBuffer(format: .pcm16(sampleRate: 8000), int16Samples: out.bytes.map(MuLaw.decode)).bytes)
    }

    @Test func downmixAndChannelPick() throws {
        let stereo = AudioFormat.pcm16(sampleRate: 16_000, channelCount: 2)
        let buffer = AudioBuffer(format: stereo, int16Samples: [1000, 3000, -2000, 0, 32767, 32767])
        let mix = try AudioConverter(from: stereo, to: .pcm16(sampleRate: 16_000))
        #expect(
            try mix.convert(buffer).bytes
                == AudioBuffer(format: .pcm16(sampleRate: 16_000), int16Samples: [2000, -1000, 32767]).bytes)
        let right = try AudioConverter(from: stereo, to: .pcm16(sampleRate: 16_000), channels: .channel(1))
        #expect(
            try right.convert(buffer).bytes
                == AudioBuffer(format: .pcm16(sampleRate: 16_000), int16Samples: [3000, 0, 32767]).bytes)
        let up = try AudioConverter(from: .pcm16(sampleRate: 16_000), to: stereo)
        let mono = AudioBuffer(format: .pcm16(sampleRate: 16_000), int16Samples: [7, -7])
        #expect(try up.convert(mono).bytes == AudioBuffer(format: stereo, int16Samples: [7, 7, -7, -7]).bytes)
    }

    @Test func invalidConversionsAreTypedErrors() {
        #expect(throws: AudioError.self) {
            try AudioConverter(
                from: .pcm16(sampleRate: 16_000, channelCount: 3), to: .pcm16(sampleRate: 16_000, channelCount: 2))
        }
        #expect(throws: AudioError.self) {
            try AudioConverter(
                from: .pcm16(sampleRate: 16_000, channelCount: 2), to: .pcm16(sampleRate: 16_000), channels: .channel(2)
            )
        }
        #expect(throws: AudioError.self) {
            try AudioConverter(from: .pcm16(sampleRate: 0), to: .pcm16(sampleRate: 16_000))
        }
        let converter = try? AudioConverter(from: .pcm16(sampleRate: 16_000), to: .mulaw(sampleRate: 16_000))
        do {
            _ = try converter?.convert(AudioBuffer(format: .pcm16(sampleRate: 8000), bytes: [0, 0]))
            Issue.record("a buffer in the wrong format was accepted")
        } catch {
            #expect(error.code == .invalidFormat)
            #expect(error.description.contains("expects int16 16000 Hz mono"))
        }
    }
}
