import CSndFile
import StreamingSTTAudio

/// Writes audio files with libsndfile: test fixtures and the benchmark's inputs.
package enum AudioFileWriter {
    /// A container and encoding libsndfile can write.
    package enum Kind: String, Sendable, CaseIterable {
        case wavUnsigned8, wav16, wav24, wav32, wavFloat, wavMuLaw, flac, oggVorbis, oggOpus, mp3

        var format: Int32 {
            let value: Int
            switch self {
            case .wavUnsigned8: value = SF_FORMAT_WAV | SF_FORMAT_PCM_U8
            case .wav16: value = SF_FORMAT_WAV | SF_FORMAT_PCM_16
            case .wav24: value = SF_FORMAT_WAV | SF_FORMAT_PCM_24
            case .wav32: value = SF_FORMAT_WAV | SF_FORMAT_PCM_32
            case .wavFloat: value = SF_FORMAT_WAV | SF_FORMAT_FLOAT
            case .wavMuLaw: value = SF_FORMAT_WAV | SF_FORMAT_ULAW
            case .flac: value = SF_FORMAT_FLAC | SF_FORMAT_PCM_16
            case .oggVorbis: value = SF_FORMAT_OGG | SF_FORMAT_VORBIS
            case .oggOpus: value = SF_FORMAT_OGG | SF_FORMAT_OPUS
            case .mp3: value = SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III
            }
            return Int32(value)
        }

        /// The usual file name extension.
        package var fileExtension: String {
            switch self {
            case .wavUnsigned8, .wav16, .wav24, .wav32, .wavFloat, .wavMuLaw: "wav"
            case .flac: "flac"
            case .oggVorbis, .oggOpus: "ogg"
            case .mp3: "mp3"
            }
        }

        /// Lossy codecs do not give the samples back exactly.
        package var isLossy: Bool { [.oggVorbis, .oggOpus, .mp3].contains(self) }
    }

    /// Writes interleaved float samples to `path`.
    /// - Throws: ``AudioError/Code/fileUnreadable`` if libsndfile cannot write the file.
    package static func write(
        _ samples: [Float], sampleRate: Int, channelCount: Int, kind: Kind, to path: String
    ) throws(AudioError) {
        var info = SF_INFO()
        info.samplerate = Int32(sampleRate)
        info.channels = Int32(channelCount)
        info.format = kind.format
        guard let handle = sf_open(path, Int32(SFM_WRITE), &info) else {
            throw AudioError(.fileUnreadable, detail: String(cString: sf_strerror(nil)), path: path)
        }
        let frames = samples.count / channelCount
        let written = samples.withUnsafeBufferPointer { sf_writef_float(handle, $0.baseAddress, sf_count_t(frames)) }
        let closed = sf_close(handle)
        guard written == frames, closed == 0 else {
            throw AudioError(.fileUnreadable, detail: "short write", path: path)
        }
    }
}
