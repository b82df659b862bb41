import Foundation
import StreamingSTT

/// Interleaved sine samples: the same tone on every channel.
func sine(
    frequency: Double, sampleRate: Int, seconds: Double, amplitude: Double = 0.5, channels: Int = 1,
    phase: Double = 0
) -> [Float] {
    let frames = Int(Double(sampleRate) * seconds)
    var samples = [Float](repeating: 0, count: frames * channels)
    for frame in 0..<frames {
        let value = Float(amplitude * sin(2 * Double.pi * frequency * Double(frame) / Double(sampleRate) + phase))
        for channel in 0..<channels { samples[frame * channels + channel] = value }
    }
    return samples
}

/// The least-squares fit of a sinusoid at `frequency` to `samples`, and what is left over.
struct ToneFit {
    let amplitude: Double
    let residualPower: Double
    let signalPower: Double
    var snrDecibels: Double { 10 * log10(signalPower / residualPower) }

    init(_ samples: ArraySlice<Float>, frequency: Double, sampleRate: Int) {
        var sinSin = 0.0, cosCos = 0.0, sinCos = 0.0, ySin = 0.0, yCos = 0.0
        let omega = 2 * Double.pi * frequency / Double(sampleRate)
        for (offset, value) in samples.enumerated() {
            let index = Double(samples.startIndex + offset)
            let s = sin(omega * index), c = cos(omega * index), y = Double(value)
            sinSin += s * s
            cosCos += c * c
            sinCos += s * c
            ySin += y * s
            yCos += y * c
        }
        let determinant = sinSin * cosCos - sinCos * sinCos
        let a = (ySin * cosCos - yCos * sinCos) / determinant
        let b = (yCos * sinSin - ySin * sinCos) / determinant
        amplitude = (a * a + b * b).squareRoot()
        var residual = 0.0, signal = 0.0
        for (offset, value) in samples.enumerated() {
            let index = Double(samples.startIndex + offset)
            let fitted = a * sin(omega * index) + b * cos(omega * index)
            residual += (Double(value) - fitted) * (Double(value) - fitted)
            signal += fitted * fitted
        }
        residualPower = residual / Double(samples.count)
        signalPower = signal / Double(samples.count)
    }
}

/// Mean power of samples.
func power(_ samples: ArraySlice<Float>) -> Double {
    samples.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(max(1, samples.count))
}

/// Splits `samples` (interleaved, `channels` per frame) into buffers of irregular sizes.
func irregularBuffers(
    _ samples: [Float], format: AudioFormat, sizes: [Int] = [480, 1000, 37, 4800, 1, 999]
) -> [AudioBuffer] {
    var buffers: [AudioBuffer] = []
    var frame = 0
    let frames = samples.count / format.channelCount
    var index = 0
    while frame < frames {
        let count = min(sizes[index % sizes.count], frames - frame)
        let slice = Array(samples[(frame * format.channelCount)..<((frame + count) * format.channelCount)])
        let bytes = AudioBuffer(
            format: .float32(sampleRate: format.sampleRate, channelCount: format.channelCount),
            floatSamples: slice
        ).bytes
        buffers.append(AudioBuffer(format: format, bytes: bytes, startFrame: Int64(frame)))
        frame += count
        index += 1
    }
    return buffers
}

/// Runs every buffer and the flush through `converter`, checking the output timeline is contiguous.
func convertAll(_ buffers: [AudioBuffer], _ converter: AudioConverter) throws -> (samples: [Float], contiguous: Bool) {
    var samples: [Float] = []
    var next: Int64? = nil
    var contiguous = true
    for buffer in buffers {
        let out = try converter.convert(buffer)
        if let next, out.startFrame != next { contiguous = false }
        next = out.endFrame
        samples += out.floatSamples
    }
    let last = try converter.flush()
    if let next, last.startFrame != next { contiguous = false }
    samples += last.floatSamples
    return (samples, contiguous)
}

/// A fresh path in a per-test temporary directory.
func temporaryPath(_ name: String) -> String {
    let directory = NSTemporaryDirectory() + "stt-audio-tests-\(getpid())"
    try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    return directory + "/" + UUID().uuidString + "-" + name
}
