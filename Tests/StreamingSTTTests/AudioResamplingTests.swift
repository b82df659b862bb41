import Foundation
import StreamingSTT
import Testing

@Suite("Resampling quality (libsoxr)")
struct AudioResamplingTests {
    static let input = AudioFormat.float32(sampleRate: 48_000)
    static let output = AudioFormat.float32(sampleRate: 16_000)

    /// Skips the filter's start and end transients (50 ms each side).
    static func steady(_ samples: [Float], rate: Int) -> ArraySlice<Float> {
        samples[(rate / 20)..<(samples.count - rate / 20)]
    }

    @Test func sineKeepsSNRAbove60dB() throws {
        let converter = try AudioConverter(from: Self.input, to: Self.output)
        let (out, contiguous) = try convertAll(
            irregularBuffers(sine(frequency: 1000, sampleRate: 48_000, seconds: 1), format: Self.input), converter)
        #expect(contiguous)
        #expect(abs(out.count - 16_000) <= 1)
        let fit = ToneFit(Self.steady(out, rate: 16_000), frequency: 1000, sampleRate: 16_000)
        print("resampling 48→16 kHz, 1 kHz sine: SNR \(fit.snrDecibels) dB")
        #expect(fit.snrDecibels > 60)
        // Delay-compensated: the output lines up with the ideal 16 kHz sine.
        let ideal = sine(frequency: 1000, sampleRate: 16_000, seconds: 1)
        let error = zip(Self.steady(out, rate: 16_000), Self.steady(ideal, rate: 16_000)).map { $0 - $1 }
        let alignedSNR = 10 * log10(power(Self.steady(ideal, rate: 16_000)) / power(error[...]))
        print("resampling 48→16 kHz, 1 kHz sine against the ideal output: SNR \(alignedSNR) dB")
        #expect(alignedSNR > 60)
    }

    @Test func stereoFloatToMonoInt16KeepsSNR() throws {
        let stereo = AudioFormat.float32(sampleRate: 48_000, channelCount: 2)
        let converter = try AudioConverter(from: stereo, to: .pcm16(sampleRate: 16_000))
        let (out, contiguous) = try convertAll(
            irregularBuffers(sine(frequency: 1000, sampleRate: 48_000, seconds: 1, channels: 2), format: stereo),
            converter)
        #expect(contiguous)
        let fit = ToneFit(Self.steady(out, rate: 16_000), frequency: 1000, sampleRate: 16_000)
        print("48 kHz stereo float → 16 kHz mono int16, 1 kHz sine: SNR \(fit.snrDecibels) dB")
        #expect(fit.snrDecibels > 60)
    }

    @Test(arguments: [(12_000.0, 0.0), (12_000.0, 0.7), (9000.0, 0.3), (15_000.0, 1.1), (20_000.0, 0.0)])
    func toneAboveNewNyquistIsRejected(frequency: Double, phase: Double) throws {
        let converter = try AudioConverter(from: Self.input, to: Self.output)
        let tone = sine(frequency: frequency, sampleRate: 48_000, seconds: 1, phase: phase)
        let (out, _) = try convertAll(irregularBuffers(tone, format: Self.input), converter)
        let rejection = 10 * log10(power(Self.steady(out, rate: 16_000)) / power(tone[...]))
        print("resampling 48→16 kHz, \(Int(frequency)) Hz tone, phase \(phase): residual \(rejection) dB")
        #expect(rejection < -50)
    }

    @Test(arguments: [48_000, 44_100, 32_000, 24_000, 22_050, 11_025])
    func passbandToneKeepsItsLevel(inputRate: Int) throws {
        let input = AudioFormat.float32(sampleRate: inputRate)
        let converter = try AudioConverter(from: input, to: Self.output)
        let (out, _) = try convertAll(
            irregularBuffers(sine(frequency: 3400, sampleRate: inputRate, seconds: 1), format: input), converter)
        let fit = ToneFit(Self.steady(out, rate: 16_000), frequency: 3400, sampleRate: 16_000)
        let gain = 20 * log10(fit.amplitude / 0.5)
        print("resampling \(inputRate)→16 kHz, 3.4 kHz tone: level \(gain) dB")
        #expect(abs(gain) < 0.1)
    }

    @Test(arguments: [8000, 11_025, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000])
    func everyCommonRateConverts(outputRate: Int) throws {
        for inputRate in [8000, 11_025, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000] where inputRate != outputRate {
            let input = AudioFormat.pcm16(sampleRate: inputRate)
            let output = AudioFormat.pcm16(sampleRate: outputRate)
            let converter = try AudioConverter(from: input, to: output)
            let samples = sine(frequency: 440, sampleRate: inputRate, seconds: 0.5)
            let buffers = irregularBuffers(samples, format: .float32(sampleRate: inputRate)).map {
                try! AudioConverter(from: .float32(sampleRate: inputRate), to: input).convert($0)
            }
            let (out, contiguous) = try convertAll(buffers, converter)
            #expect(contiguous)
            let expected = Double(samples.count) * Double(outputRate) / Double(inputRate)
            #expect(abs(Double(out.count) - expected) <= 2, "\(inputRate) → \(outputRate)")
            let fit = ToneFit(Self.steady(out, rate: outputRate), frequency: 440, sampleRate: outputRate)
            #expect(fit.snrDecibels > 60, "\(inputRate) → \(outputRate): \(fit.snrDecibels) dB")
        }
    }

    @Test func bufferEdgesMakeNoDifference() throws {
        let samples = sine(frequency: 1000, sampleRate: 48_000, seconds: 0.5)
        let whole = try convertAll(
            [AudioBuffer(format: Self.input, floatSamples: samples)], AudioConverter(from: Self.input, to: Self.output))
        let pieces = try convertAll(
            irregularBuffers(samples, format: Self.input), AudioConverter(from: Self.input, to: Self.output))
        #expect(whole.samples.count == pieces.samples.count)
        let worst = zip(whole.samples, pieces.samples).map { abs($0 - $1) }.max() ?? 0
        #expect(worst < 1e-5)
    }

    @Test func gapInInputBecomesGapInOutput() throws {
        let converter = try AudioConverter(from: Self.input, to: Self.output)
        let samples = [Float](repeating: 0, count: 4800)
        let first = try converter.convert(AudioBuffer(format: Self.input, floatSamples: samples, startFrame: 48_000))
        #expect(first.startFrame == 16_000)
        let second = try converter.convert(
            AudioBuffer(format: Self.input, floatSamples: samples, startFrame: 48_000 + 4800 + 480))
        #expect(second.startFrame == first.endFrame + 160)
    }
}
