import CALSA
import Logging
import StreamingSTTAudio

#if canImport(Glibc)
    import Glibc
#endif

/// A capture device ALSA knows about.
public struct AudioDevice: Sendable, Hashable {
    /// The name to open it with, such as `default`, `sysdefault:CARD=PCH` or `plughw:CARD=USB,DEV=0`.
    public var name: String
    /// ALSA's human description; may span several lines (card, then device).
    public var description: String

    /// Creates a device entry.
    package init(name: String, description: String) {
        self.name = name
        self.description = description
    }
}

extension ALSAMicrophone {
    /// The PCM devices that can capture, from ALSA's device hints, in ALSA's order.
    ///
    /// Devices that are output-only are left out; names with no direction (most virtual PCMs
    /// such as `default` and `null`) are kept.
    /// - Parameter logger: receives ALSA's messages while listing, at debug level.
    /// - Throws: ``/StreamingSTTAudio/AudioError/Code/deviceOpenFailed`` if ALSA cannot list
    ///   devices.
    public static func captureDevices(
        logger: Logger = Logger(label: "stt.audio", factory: { _ in SwiftLogNoOpLogHandler() })
    ) throws(AudioError) -> [AudioDevice] {
        try ALSALogSink(logger: logger).route { () throws(AudioError) in try listCaptureDevices() }
    }

    private static func listCaptureDevices() throws(AudioError) -> [AudioDevice] {
        var hints: UnsafeMutablePointer<UnsafeMutableRawPointer?>? = nil
        let result = snd_device_name_hint(-1, "pcm", &hints)
        guard result == 0, let hints else {
            throw AudioError(.deviceOpenFailed, detail: "listing devices: \(alsaText(result))", systemError: result)
        }
        defer { snd_device_name_free_hint(hints) }
        var devices: [AudioDevice] = []
        var index = 0
        while let hint = hints[index] {
            index += 1
            let direction = takeHint(hint, "IOID")
            guard direction == nil || direction == "Input", let name = takeHint(hint, "NAME") else { continue }
            devices.append(AudioDevice(name: name, description: takeHint(hint, "DESC") ?? ""))
        }
        return devices
    }

    /// One field of a hint; frees the string ALSA allocated for it.
    private static func takeHint(_ hint: UnsafeMutableRawPointer, _ field: String) -> String? {
        guard let value = snd_device_name_get_hint(hint, field) else { return nil }
        defer { free(value) }
        return String(cString: value)
    }
}
