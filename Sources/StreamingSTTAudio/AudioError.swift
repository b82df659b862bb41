/// An error from an audio source or the converter.
///
/// Each failure has a ``code``, a short ``detail`` in plain words, and where it applies the
/// ``path`` of the file or the name of the device, and the system or library error number.
///
/// ```swift
/// do {
///     let file = try AudioFileSource(path: "call.wav")
/// } catch let error as AudioError where error.code == .unsupportedFile {
///     print(error)   // AudioError.unsupportedFile: call.wav: Format not recognised.
/// }
/// ```
public struct AudioError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong. New codes may be added; switch with a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidFormat, unsupportedConversion, resamplerFailed
            case deviceNotFound, deviceBusy, deviceOpenFailed, deviceConfigurationFailed, deviceLost, readFailed
            case fileNotFound, fileUnreadable, unsupportedFile, corruptFile
            case partialFrame, concurrentIteration, cancelled
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A format is not valid (a sample rate or channel count out of range, bytes not whole frames).
        public static let invalidFormat = Code(.invalidFormat)
        /// The converter cannot go between these formats (for example 3 channels to 2).
        public static let unsupportedConversion = Code(.unsupportedConversion)
        /// libsoxr refused to create or run the resampler.
        public static let resamplerFailed = Code(.resamplerFailed)
        /// No capture device has this name (ALSA `-ENOENT`, or an unknown PCM definition).
        public static let deviceNotFound = Code(.deviceNotFound)
        /// The device is in use by another program (`-EBUSY`).
        public static let deviceBusy = Code(.deviceBusy)
        /// The device could not be opened for another reason.
        public static let deviceOpenFailed = Code(.deviceOpenFailed)
        /// The device accepts none of the formats, channel counts or rates asked for.
        public static let deviceConfigurationFailed = Code(.deviceConfigurationFailed)
        /// The device went away while capturing (unplugged: `-ENODEV`, `-EIO`, `-EBADFD`).
        public static let deviceLost = Code(.deviceLost)
        /// Reading failed in a way that cannot be recovered.
        public static let readFailed = Code(.readFailed)
        /// The file does not exist.
        public static let fileNotFound = Code(.fileNotFound)
        /// The file exists but cannot be read (permissions, a directory, an I/O error).
        public static let fileUnreadable = Code(.fileUnreadable)
        /// The file is not in a format the decoder knows.
        public static let unsupportedFile = Code(.unsupportedFile)
        /// The file's header or data is damaged.
        public static let corruptFile = Code(.corruptFile)
        /// A raw byte stream ended in the middle of a frame.
        public static let partialFrame = Code(.partialFrame)
        /// Two tasks tried to read the same single-use source at once, or a second time.
        public static let concurrentIteration = Code(.concurrentIteration)
        /// The reading task was cancelled.
        public static let cancelled = Code(.cancelled)

        /// The code's name, such as `deviceLost`.
        public var description: String { base.rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// A short explanation in plain words.
    public var detail: String
    /// The file path or device name involved, if any.
    public var path: String?
    /// The negative errno from ALSA, the `errno` of a system call, or libsndfile's error number.
    public var systemError: Int32?

    /// Creates an error.
    public init(_ code: Code, detail: String = "", path: String? = nil, systemError: Int32? = nil) {
        self.code = code
        self.detail = detail
        self.path = path
        self.systemError = systemError
    }

    /// A one-line description, such as `AudioError.deviceNotFound: "hw:9": No such file or directory`.
    public var description: String {
        var parts = ["AudioError.\(code)"]
        if let path { parts.append(path) }
        if !detail.isEmpty { parts.append(detail) }
        return parts.joined(separator: ": ")
    }
}
