import CSoxr
import StreamingSTTAudio

/// A streaming band-limited resampler for interleaved float32 samples, over libsoxr.
///
/// State (the filter history) carries across ``process(_:)`` calls, so buffer edges make no
/// clicks; ``flush()`` returns what the filter still holds at the end of the stream. libsoxr
/// removes its own group delay: N input frames give N · out/in output frames in total.
///
/// Not thread-safe: one owner at a time (``AudioConverter`` keeps it under its lock).
final class Resampler {
    private let handle: soxr_t
    let inputRate: Int
    let outputRate: Int
    let channelCount: Int

    /// Creates a resampler.
    /// - Throws: ``AudioError/Code/resamplerFailed`` if libsoxr refuses the parameters.
    init(from inputRate: Int, to outputRate: Int, channelCount: Int, quality: AudioConverter.Quality) throws(AudioError)
    {
        var error: soxr_error_t? = nil
        var io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I)
        var qualitySpec = soxr_quality_spec(UInt(quality.recipe), 0)
        var runtime = soxr_runtime_spec(1)
        let created = soxr_create(
            Double(inputRate), Double(outputRate), UInt32(channelCount), &error, &io, &qualitySpec, &runtime)
        guard let created, error == nil else {
            if let created { soxr_delete(created) }
            let text = error.map { String(cString: $0) } ?? "unknown error"
            throw AudioError(.resamplerFailed, detail: "libsoxr: \(text) (\(inputRate) Hz → \(outputRate) Hz)")
        }
        handle = created
        self.inputRate = inputRate
        self.outputRate = outputRate
        self.channelCount = channelCount
    }

    deinit {
        soxr_delete(handle)
    }

    /// Resamples `samples` (interleaved, whole frames) and returns the output produced so far.
    func process(_ samples: [Float]) throws(AudioError) -> [Float] {
        let frames = samples.count / channelCount
        guard frames > 0 else { return [] }
        return try samples.withUnsafeBufferPointer { input throws(AudioError) in
            try run(input: input.baseAddress, frames: frames)
        }
    }

    /// Drains the filter at the end of the stream; the resampler can be used again afterwards
    /// only as a new stream.
    func flush() throws(AudioError) -> [Float] {
        try run(input: nil, frames: 0)
    }

    private func run(input: UnsafePointer<Float>?, frames: Int) throws(AudioError) -> [Float] {
        var output: [Float] = []
        let ratio = Double(outputRate) / Double(inputRate)
        let capacity = Int((Double(max(frames, 256)) * ratio).rounded(.up)) + 64
        var scratch = [Float](repeating: 0, count: capacity * channelCount)
        var consumed = 0
        while true {
            var inputDone = 0
            var outputDone = 0
            let remaining = frames - consumed
            let error = scratch.withUnsafeMutableBufferPointer { out in
                soxr_process(
                    handle, input.map { UnsafeRawPointer($0 + consumed * channelCount) }, remaining, &inputDone,
                    UnsafeMutableRawPointer(out.baseAddress), capacity, &outputDone)
            }
            if let error {
                throw AudioError(.resamplerFailed, detail: "libsoxr: \(String(cString: error))")
            }
            consumed += inputDone
            output.append(contentsOf: scratch[0..<(outputDone * channelCount)])
            if input == nil {
                if outputDone == 0 { break }  // Flushing: until the filter is empty.
            } else if consumed >= frames && outputDone < capacity {
                break
            }
        }
        return output
    }
}
