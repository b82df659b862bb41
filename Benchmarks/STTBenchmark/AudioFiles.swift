// Audio files for the decoding benchmark, written with libsndfile.

import CBenchmarkSndFile

/// A container and encoding the audio benchmark writes its inputs in.
enum AudioFileKind: String, Sendable {
    /// FLAC, 16-bit.
    case flac
    /// WAV, 16-bit PCM.
    case wav16
    /// WAV, 32-bit float.
    case wavFloat

    /// libsndfile's format code.
    private var format: Int32 {
        switch self {
        case .flac: Int32(SF_FORMAT_FLAC | SF_FORMAT_PCM_16)
        case .wav16: Int32(SF_FORMAT_WAV | SF_FORMAT_PCM_16)
        case .wavFloat: Int32(SF_FORMAT_WAV | SF_FORMAT_FLOAT)
        }
    }

    /// The usual file name extension.
    var fileExtension: String {
        switch self {
        case .flac: "flac"
        case .wav16, .wavFloat: "wav"
        }
    }

    /// Writes interleaved float samples to `path` in this format.
    /// - Throws: ``BenchmarkError`` if libsndfile cannot write the file.
    func write(_ samples: [Float], sampleRate: Int, channelCount: Int, to path: String) throws {
        var info = SF_INFO()
        info.samplerate = Int32(sampleRate)
        info.channels = Int32(channelCount)
        info.format = format
        guard let handle = sf_open(path, Int32(SFM_WRITE), &info) else {
            throw BenchmarkError("cannot write \(path): \(String(cString: sf_strerror(nil)))")
        }
        let frames = samples.count / channelCount
        let written = samples.withUnsafeBufferPointer { sf_writef_float(handle, $0.baseAddress, sf_count_t(frames)) }
        let closed = sf_close(handle)
        guard written == frames, closed == 0 else { throw BenchmarkError("short write to \(path)") }
    }
}
