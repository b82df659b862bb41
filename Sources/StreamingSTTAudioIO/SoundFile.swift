import CSndFile
import StreamingSTTAudio

#if canImport(Glibc)
    import Glibc
#endif

/// An open libsndfile handle for reading; closed on deinit. Every libsndfile call of the file
/// source goes through this type, which turns its return codes into ``AudioError``s.
///
/// Not thread-safe: one iterator owns it.
final class SoundFile {
    let path: String
    let sampleRate: Int
    let channelCount: Int
    /// Total frames, when the container says (libsndfile reports a huge or zero count otherwise).
    let frameCount: Int64?
    /// True for 8- and 16-bit integer data, which is read losslessly as int16; float32 otherwise.
    let readsInt16: Bool
    /// A description such as `WAV (Microsoft), Signed 16 bit PCM`.
    let formatName: String
    private let handle: OpaquePointer

    /// Opens `path` and reads its header.
    /// - Throws: ``AudioError`` naming the file: ``AudioError/Code/fileNotFound``,
    ///   ``AudioError/Code/fileUnreadable``, ``AudioError/Code/unsupportedFile`` or
    ///   ``AudioError/Code/corruptFile``.
    init(path: String) throws(AudioError) {
        self.path = path
        try Self.checkReadable(path)
        var info = SF_INFO()
        guard let handle = sf_open(path, Int32(SFM_READ), &info) else {
            let code = sf_error(nil)
            let text = String(cString: sf_strerror(nil))
            switch Int(code) {
            case SF_ERR_UNRECOGNISED_FORMAT, SF_ERR_UNSUPPORTED_ENCODING:
                throw AudioError(.unsupportedFile, detail: text, path: path, systemError: code)
            case SF_ERR_MALFORMED_FILE:
                throw AudioError(.corruptFile, detail: text, path: path, systemError: code)
            default:
                // libsndfile reports most header problems as "system" errors with its own text.
                throw AudioError(.corruptFile, detail: text, path: path, systemError: code)
            }
        }
        self.handle = handle
        guard info.samplerate > 0, info.channels > 0, info.channels <= 64 else {
            sf_close(handle)
            throw AudioError(
                .corruptFile, detail: "header declares \(info.samplerate) Hz, \(info.channels) channels", path: path)
        }
        sampleRate = Int(info.samplerate)
        channelCount = Int(info.channels)
        frameCount = info.frames > 0 && info.frames < Int64(Int32.max) * 1024 ? info.frames : nil
        let subtype = info.format & Int32(SF_FORMAT_SUBMASK)
        readsInt16 = [SF_FORMAT_PCM_16, SF_FORMAT_PCM_S8, SF_FORMAT_PCM_U8].contains(Int(subtype))
        formatName = [Self.name(of: info.format & Int32(SF_FORMAT_TYPEMASK)), Self.name(of: subtype)]
            .compactMap { $0 }.joined(separator: ", ")
    }

    deinit {
        sf_close(handle)
    }

    /// Reads up to `frames` frames as interleaved little-endian bytes (int16 or float32); empty at
    /// the end of the file.
    /// - Throws: ``AudioError/Code/corruptFile`` if decoding fails part-way.
    func read(frames: Int) throws(AudioError) -> [UInt8] {
        let samples = frames * channelCount
        let size = readsInt16 ? 2 : 4
        var done = 0
        let bytes = [UInt8](filling: samples * size) { buffer, initialized in
            if readsInt16 {
                buffer.withMemoryRebound(to: Int16.self) {
                    done = Int(sf_readf_short(handle, $0.baseAddress, sf_count_t(frames)))
                }
            } else {
                buffer.withMemoryRebound(to: Float.self) {
                    done = Int(sf_readf_float(handle, $0.baseAddress, sf_count_t(frames)))
                }
            }
            initialized = max(0, done) * channelCount * size
        }
        if done < frames {
            let code = sf_error(handle)
            if code != 0 {
                let text = String(cString: sf_strerror(handle))
                throw AudioError(.corruptFile, detail: "decoding failed: \(text)", path: path, systemError: code)
            }
        }
        // libsndfile fills host-order samples; the format is little-endian.
        #if _endian(big)
            return Self.swapped(bytes, size: size)
        #else
            return bytes
        #endif
    }

    private static func checkReadable(_ path: String) throws(AudioError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            let text = String(cString: strerror(code))
            throw AudioError(
                code == ENOENT ? .fileNotFound : .fileUnreadable, detail: text, path: path, systemError: code)
        }
        defer { close(fd) }
        var status = stat()
        if fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR {
            throw AudioError(.fileUnreadable, detail: "is a directory", path: path, systemError: EISDIR)
        }
    }

    private static func name(of format: Int32) -> String? {
        var info = SF_FORMAT_INFO()
        info.format = format
        guard sf_command(nil, Int32(SFC_GET_FORMAT_INFO), &info, Int32(MemoryLayout<SF_FORMAT_INFO>.size)) == 0,
            let name = info.name
        else { return nil }
        return String(cString: name)
    }

    #if _endian(big)
        private static func swapped(_ bytes: [UInt8], size: Int) -> [UInt8] {
            var out = bytes
            for start in stride(from: 0, to: out.count, by: size) { out[start..<(start + size)].reverse() }
            return out
        }
    #endif
}
