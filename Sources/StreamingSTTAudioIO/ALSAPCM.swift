import CALSA
import StreamingSTTAudio

#if canImport(Glibc)
    import Glibc
#endif

/// An open ALSA capture PCM, configured for interleaved reads. Every ALSA call of the
/// microphone goes through this file, which turns negative return codes into ``AudioError``s.
///
/// Opened non-blocking: reads return `-EAGAIN` when no frames are ready, and the reader waits in
/// `poll` on the PCM's descriptors plus a ``WakeSignal``, so stopping never waits for audio.
final class ALSAPCM: CaptureDevice {
    let name: String
    let format: AudioFormat
    let periodFrames: Int
    let bufferFrames: Int
    private let handle: OpaquePointer
    /// A private configuration tree the PCM was opened from (kept until close), or nil.
    private let configuration: OpaquePointer?
    private let logSink: ALSALogSink
    private var closed = false

    /// Opens and configures a capture PCM.
    /// - Parameters:
    ///   - name: an ALSA PCM name (`default`, `hw:1,0`, `plughw:…`) or, with
    ///     `configurationText`, a PCM defined there.
    ///   - configurationText: ALSA configuration to open `name` from instead of the system's.
    ///   - settings: the format, rate and period wanted.
    ///   - logSink: receives ALSA's messages.
    /// - Throws: ``AudioError`` with the device name: ``AudioError/Code/deviceNotFound``,
    ///   ``AudioError/Code/deviceBusy``, ``AudioError/Code/deviceOpenFailed`` or
    ///   ``AudioError/Code/deviceConfigurationFailed``.
    init(
        name: String, configurationText: String?, settings: ALSAMicrophone.Configuration, logSink: ALSALogSink
    ) throws(AudioError) {
        self.name = name
        self.logSink = logSink
        let (handle, configuration) = try logSink.route { () throws(AudioError) in
            try Self.open(name: name, configurationText: configurationText)
        }
        do throws(AudioError) {
            let negotiated = try logSink.route { () throws(AudioError) in
                try Self.configure(handle, name: name, settings: settings)
            }
            self.format = negotiated.format
            self.periodFrames = negotiated.period
            self.bufferFrames = negotiated.buffer
        } catch {
            snd_pcm_close(handle)
            if let configuration { snd_config_delete(configuration) }
            throw error
        }
        self.handle = handle
        self.configuration = configuration
    }

    deinit {
        close()
    }

    // MARK: - Opening

    private static func open(
        name: String, configurationText: String?
    ) throws(AudioError) -> (OpaquePointer, OpaquePointer?) {
        var pcm: OpaquePointer? = nil
        var configuration: OpaquePointer? = nil
        let result: Int32
        if let configurationText {
            configuration = try loadConfiguration(configurationText, name: name)
            result = snd_pcm_open_lconf(&pcm, name, SND_PCM_STREAM_CAPTURE, SND_PCM_NONBLOCK, configuration)
        } else {
            result = snd_pcm_open(&pcm, name, SND_PCM_STREAM_CAPTURE, SND_PCM_NONBLOCK)
        }
        guard result == 0, let pcm else {
            if let configuration { snd_config_delete(configuration) }
            throw openError(result, name: name)
        }
        return (pcm, configuration)
    }

    private static func loadConfiguration(_ text: String, name: String) throws(AudioError) -> OpaquePointer {
        var input: OpaquePointer? = nil
        var configuration: OpaquePointer? = nil
        var bytes = Array(text.utf8)
        let opened = bytes.withUnsafeMutableBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { snd_input_buffer_open(&input, $0.baseAddress, $0.count) }
        }
        guard opened == 0, let input else {
            throw AudioError(.deviceOpenFailed, detail: "ALSA configuration: \(alsaText(opened))", path: name)
        }
        defer { snd_input_close(input) }
        guard snd_config_top(&configuration) == 0, let configuration else {
            throw AudioError(.deviceOpenFailed, detail: "ALSA configuration could not be created", path: name)
        }
        let loaded = snd_config_load(configuration, input)
        guard loaded == 0 else {
            snd_config_delete(configuration)
            throw AudioError(
                .deviceOpenFailed, detail: "ALSA configuration does not parse: \(alsaText(loaded))", path: name,
                systemError: loaded)
        }
        return configuration
    }

    private static func openError(_ code: Int32, name: String) -> AudioError {
        let text = alsaText(code)
        switch -code {
        case ENOENT, ENODEV, ENXIO, EINVAL:
            return AudioError(
                .deviceNotFound, detail: "no capture device with this name (\(text))", path: name, systemError: code)
        case EBUSY:
            return AudioError(
                .deviceBusy, detail: "the device is in use by another program (\(text))", path: name, systemError: code)
        default:
            return AudioError(.deviceOpenFailed, detail: text, path: name, systemError: code)
        }
    }

    // MARK: - Negotiation

    private static func configure(
        _ pcm: OpaquePointer, name: String, settings: ALSAMicrophone.Configuration
    ) throws(AudioError) -> (format: AudioFormat, period: Int, buffer: Int) {
        var parameters: OpaquePointer? = nil
        guard snd_pcm_hw_params_malloc(&parameters) == 0, let parameters else {
            throw AudioError(.deviceConfigurationFailed, detail: "out of memory", path: name)
        }
        defer { snd_pcm_hw_params_free(parameters) }
        func check(_ result: Int32, _ what: String) throws(AudioError) {
            guard result >= 0 else {
                throw AudioError(
                    .deviceConfigurationFailed, detail: "\(what): \(alsaText(result))", path: name, systemError: result)
            }
        }
        try check(snd_pcm_hw_params_any(pcm, parameters), "no configuration available")
        try check(
            snd_pcm_hw_params_set_rate_resample(pcm, parameters, settings.allowsDeviceResampling ? 1 : 0),
            "resampling setting")
        try check(
            snd_pcm_hw_params_set_access(pcm, parameters, SND_PCM_ACCESS_RW_INTERLEAVED), "interleaved access")

        // Sample format: the preferred one, else the other one we read.
        let preferred = settings.encoding == .float32 ? SND_PCM_FORMAT_FLOAT_LE : SND_PCM_FORMAT_S16_LE
        let fallback = settings.encoding == .float32 ? SND_PCM_FORMAT_S16_LE : SND_PCM_FORMAT_FLOAT_LE
        if snd_pcm_hw_params_test_format(pcm, parameters, preferred) == 0 {
            try check(snd_pcm_hw_params_set_format(pcm, parameters, preferred), "sample format")
        } else {
            try check(
                snd_pcm_hw_params_set_format(pcm, parameters, fallback),
                "the device offers neither 16-bit integer nor float samples")
        }
        var channels = UInt32(max(1, settings.channelCount))
        try check(snd_pcm_hw_params_set_channels_near(pcm, parameters, &channels), "channel count")
        var rate = UInt32(max(1, settings.sampleRate))
        var direction: Int32 = 0
        try check(snd_pcm_hw_params_set_rate_near(pcm, parameters, &rate, &direction), "sample rate")
        var period = snd_pcm_uframes_t(
            max(1, AudioFormat.pcm16(sampleRate: Int(rate)).frameCount(for: settings.periodDuration)))
        try check(snd_pcm_hw_params_set_period_size_near(pcm, parameters, &period, &direction), "period size")
        var buffer = period * snd_pcm_uframes_t(max(2, settings.bufferPeriods))
        try check(snd_pcm_hw_params_set_buffer_size_near(pcm, parameters, &buffer), "buffer size")
        try check(snd_pcm_hw_params(pcm, parameters), "applying the configuration")

        // Read back what the device really gives.
        var format = SND_PCM_FORMAT_UNKNOWN
        try check(snd_pcm_hw_params_get_format(parameters, &format), "reading the format back")
        try check(snd_pcm_hw_params_get_channels(parameters, &channels), "reading the channel count back")
        try check(snd_pcm_hw_params_get_rate(parameters, &rate, &direction), "reading the rate back")
        try check(snd_pcm_hw_params_get_period_size(parameters, &period, &direction), "reading the period back")
        try check(snd_pcm_hw_params_get_buffer_size(parameters, &buffer), "reading the buffer size back")
        try check(snd_pcm_prepare(pcm), "preparing the device")
        let encoding: AudioFormat.Encoding = format == SND_PCM_FORMAT_FLOAT_LE ? .float32 : .int16
        return (
            AudioFormat(encoding: encoding, sampleRate: Int(rate), channelCount: Int(channels)), Int(period),
            Int(buffer)
        )
    }

    // MARK: - Reading (reader thread only)

    func read(into buffer: UnsafeMutableRawBufferPointer, frames: Int, wake: WakeSignal) -> CaptureRead {
        logSink.route {
            while true {
                let count = snd_pcm_readi(handle, buffer.baseAddress, snd_pcm_uframes_t(frames))
                if count > 0 { return .frames(count) }
                if count < 0 && count != -Int(EAGAIN) { return .failure(Int32(count)) }
                if let woken = waitForFrames(wake: wake) { return woken }
            }
        }
    }

    /// Waits in `poll` until the PCM has frames or an error, or `wake` fires.
    private func waitForFrames(wake: WakeSignal) -> CaptureRead? {
        let count = Int(snd_pcm_poll_descriptors_count(handle))
        guard count > 0 else { return .failure(-EBADFD) }
        var descriptors = [pollfd](repeating: pollfd(), count: count + 1)
        let filled = descriptors.withUnsafeMutableBufferPointer {
            snd_pcm_poll_descriptors(handle, $0.baseAddress, UInt32(count))
        }
        guard filled > 0 else { return .failure(filled < 0 ? filled : -EBADFD) }
        descriptors[count] = pollfd(fd: wake.fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptors, nfds_t(count + 1), -1)
        if ready < 0 {
            return errno == EINTR ? nil : .failure(-errno)
        }
        if descriptors[count].revents != 0 { return .interrupted }
        var events: UInt16 = 0
        let demangled = descriptors.withUnsafeMutableBufferPointer {
            snd_pcm_poll_descriptors_revents(handle, $0.baseAddress, UInt32(count), &events)
        }
        if demangled < 0 { return .failure(demangled) }
        return nil  // Readable or in error: the next read says which.
    }

    func recover(from error: Int32) -> Int32 {
        logSink.route {
            let result = snd_pcm_recover(handle, error, 1)
            if result == 0 { _ = snd_pcm_start(handle) }
            return result
        }
    }

    func close() {
        guard !closed else { return }
        closed = true
        logSink.route {
            _ = snd_pcm_drop(handle)
            _ = snd_pcm_close(handle)
        }
        if let configuration { snd_config_delete(configuration) }
    }
}

/// ALSA's text for a negative error code.
func alsaText(_ code: Int32) -> String {
    String(cString: snd_strerror(code))
}
