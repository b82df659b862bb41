import Logging
import StreamingSTTAudio
import StreamingSTTSupport

/// Live audio from an ALSA capture device.
///
/// The device is opened and configured when the microphone is created, so ``format`` is the
/// format the device really delivers (read back after negotiation; convert it with
/// ``AudioConverter``). Capture starts on the first iteration, on a dedicated reader thread
/// (never on Swift's cooperative pool), and reaches the iterating task through a bounded queue.
///
/// - A consumer that falls behind loses whole buffers, never memory: they are counted in
///   ``Statistics/droppedBuffers`` and show as a jump in
///   ``/StreamingSTTAudio/AudioBuffer/startFrame``.
/// - Overruns (`-EPIPE`) and suspends (`-ESTRPIPE`) are recovered with `snd_pcm_recover`, counted,
///   and show as a jump in `startFrame` as well.
/// - An unplugged device (`-ENODEV`, `-EIO`, `-EBADFD`) ends the sequence with
///   ``/StreamingSTTAudio/AudioError/Code/deviceLost``.
/// - ``stop()``, cancelling the iterating task, or releasing the microphone closes the device
///   promptly, also while a read is waiting for audio.
/// - ALSA's own messages go to the `logger` (at debug level), not to stderr.
///
/// A microphone can be iterated once.
///
/// ```swift
/// let microphone = try ALSAMicrophone(device: "default", logger: logger)
/// let converter = try AudioConverter(from: microphone.format, to: .pcm16(sampleRate: 16_000))
/// for try await buffer in microphone {
///     let wire = try converter.convert(buffer)
///     …
/// }
/// ```
public final class ALSAMicrophone: AudioSource {
    /// A captured buffer.
    public typealias Element = AudioBuffer
    /// The error that ends the sequence.
    public typealias Failure = AudioError

    /// What to ask the device for. ALSA picks the nearest it supports; ``ALSAMicrophone/format``
    /// says what it picked.
    public struct Configuration: Sendable, Hashable {
        /// The preferred rate; 48 kHz by default, the native rate of most hardware.
        public var sampleRate: Int
        /// The preferred channel count; mono by default.
        public var channelCount: Int
        /// The preferred sample encoding (int16 or float32); int16 by default.
        public var encoding: AudioFormat.Encoding
        /// The duration of one read; 50 ms by default.
        public var periodDuration: Duration
        /// The device's ring buffer, in periods; 8 by default (400 ms at 50 ms periods).
        public var bufferPeriods: Int
        /// Buffers that may wait for the consumer before new ones are dropped; 40 by default
        /// (2 s at 50 ms periods).
        public var queueCapacity: Int
        /// Whether ALSA may resample in software to reach ``sampleRate`` (its plug resampler is
        /// of lower quality than ``AudioConverter``); off by default, so the rate is one the
        /// hardware has.
        public var allowsDeviceResampling: Bool

        /// Creates a configuration; every parameter has a default.
        public init(
            sampleRate: Int = 48_000,
            channelCount: Int = 1,
            encoding: AudioFormat.Encoding = .int16,
            periodDuration: Duration = .milliseconds(50),
            bufferPeriods: Int = 8,
            queueCapacity: Int = 40,
            allowsDeviceResampling: Bool = false
        ) {
            self.sampleRate = sampleRate
            self.channelCount = channelCount
            self.encoding = encoding
            self.periodDuration = periodDuration
            self.bufferPeriods = bufferPeriods
            self.queueCapacity = queueCapacity
            self.allowsDeviceResampling = allowsDeviceResampling
        }
    }

    /// Counters of a capture session.
    public struct Statistics: Sendable, Hashable {
        /// Frames read from the device.
        public var capturedFrames: Int64 = 0
        /// Buffers dropped because the consumer was behind and the queue was full.
        public var droppedBuffers = 0
        /// Overruns (`-EPIPE`) recovered.
        public var overruns = 0
        /// Suspends (`-ESTRPIPE`) recovered.
        public var suspends = 0
        /// Frames estimated lost to overruns and suspends (from the monotonic clock).
        public var lostFrames: Int64 = 0
    }

    /// The device name the microphone was opened with.
    public let deviceName: String
    /// The format the device delivers, as negotiated.
    public let format: AudioFormat
    /// Frames per read (the negotiated period).
    public let periodFrames: Int
    /// Frames in the device's ring buffer.
    public let bufferFrames: Int

    private enum State {
        case ready(CaptureLoop.OwnedDevice)
        case capturing
        case released
    }

    private let state: LockedState<State>
    /// Carries the buffers from the reader thread to the iterator; finished once the device is
    /// closed.
    private let handOff: HandOffQueue<AudioBuffer, AudioError>
    private let wake: WakeSignal
    private let counters = LockedState(Statistics())
    private let logger: Logger

    /// Opens an ALSA capture device.
    /// - Parameters:
    ///   - device: an ALSA PCM name: `default`, `hw:1,0`, `plughw:CARD=USB`, or a name from
    ///     ``captureDevices(logger:)``.
    ///   - configuration: the format wanted; see ``Configuration``.
    ///   - logger: receives ALSA's messages and capture events, at debug level.
    /// - Throws: ``/StreamingSTTAudio/AudioError`` naming the device:
    ///   ``/StreamingSTTAudio/AudioError/Code/deviceNotFound``,
    ///   ``/StreamingSTTAudio/AudioError/Code/deviceBusy``,
    ///   ``/StreamingSTTAudio/AudioError/Code/deviceOpenFailed``,
    ///   ``/StreamingSTTAudio/AudioError/Code/deviceConfigurationFailed``.
    public convenience init(
        device: String = "default",
        configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "stt.audio", factory: { _ in SwiftLogNoOpLogHandler() })
    ) throws(AudioError) {
        let pcm = try ALSAPCM(
            name: device, configurationText: nil, settings: configuration, logSink: ALSALogSink(logger: logger))
        try self.init(captureDevice: pcm, name: device, configuration: configuration, logger: logger)
    }

    /// Opens the PCM `device` defined in `alsaConfiguration` (ALSA configuration syntax) instead
    /// of the system's configuration: for tests, with a `file` plugin that reads a recording.
    package convenience init(
        alsaConfiguration: String,
        device: String,
        configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "stt.audio", factory: { _ in SwiftLogNoOpLogHandler() })
    ) throws(AudioError) {
        let pcm = try ALSAPCM(
            name: device, configurationText: alsaConfiguration, settings: configuration,
            logSink: ALSALogSink(logger: logger))
        try self.init(captureDevice: pcm, name: device, configuration: configuration, logger: logger)
    }

    /// Captures from any ``CaptureDevice`` (tests script overruns and unplugging with this).
    package init(
        captureDevice: any CaptureDevice,
        name: String,
        configuration: Configuration = Configuration(),
        logger: Logger
    ) throws(AudioError) {
        let wake: WakeSignal
        do {
            wake = try WakeSignal()
        } catch {
            captureDevice.close()
            throw error
        }
        self.deviceName = name
        self.format = captureDevice.format
        self.periodFrames = captureDevice.periodFrames
        self.bufferFrames = captureDevice.bufferFrames
        self.state = LockedState(.ready(CaptureLoop.OwnedDevice(device: captureDevice)))
        self.handOff = HandOffQueue(capacity: configuration.queueCapacity, whenFull: .dropNewest)
        self.wake = wake
        self.logger = logger
    }

    deinit {
        signalStop()
    }

    /// Counters of the capture so far.
    public var statistics: Statistics { counters.withLock { $0 } }

    /// Whether the device is still open.
    public var isDeviceOpen: Bool { !handOff.isFinished }

    /// Stops capturing and returns once the device is closed. Buffers not yet consumed are
    /// discarded and the sequence ends (`nil`). Calling it again does nothing.
    public func stop() async {
        signalStop()
        _ = await handOff.waitUntilFinished()
    }

    private func signalStop() {
        handOff.stop()
        wake.signal()
        let idle = state.withLock { state -> CaptureLoop.OwnedDevice? in
            defer { if case .ready = state { state = .released } }
            if case .ready(let owned) = state { return owned }
            return nil
        }
        if let idle {
            idle.device.close()
            handOff.finish(.success(()))
        }
    }

    /// Starts the reader thread on first use.
    private func startIfNeeded() throws(AudioError) {
        let owned = state.withLock { state -> CaptureLoop.OwnedDevice? in
            guard case .ready(let owned) = state else { return nil }
            state = .capturing
            return owned
        }
        guard let owned else { return }
        let loop = CaptureLoop(
            owned: owned, deviceName: deviceName, handOff: handOff, wake: wake, statistics: counters, logger: logger)
        do {
            try startAudioThread(name: "stt-alsa-capture") { loop.run() }
        } catch {
            owned.device.close()
            handOff.finish(.failure(error))
        }
    }

    /// Creates the iterator; the first call to its `next()` starts capturing. Only the first
    /// iterator gets buffers; others throw
    /// ``/StreamingSTTAudio/AudioError/Code/concurrentIteration``.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(microphone: self, isOwner: handOff.claim())
    }

    /// Iterates captured buffers.
    public struct AsyncIterator: AsyncIteratorProtocol {
        private let microphone: ALSAMicrophone
        private let isOwner: Bool

        init(microphone: ALSAMicrophone, isOwner: Bool) {
            self.microphone = microphone
            self.isOwner = isOwner
        }

        /// The next captured buffer; `nil` after ``ALSAMicrophone/stop()``.
        /// - Throws: ``/StreamingSTTAudio/AudioError/Code/deviceLost`` or
        ///   ``/StreamingSTTAudio/AudioError/Code/readFailed`` when the device fails,
        ///   ``/StreamingSTTAudio/AudioError/Code/cancelled`` when the task is cancelled (the device
        ///   is then closed), ``/StreamingSTTAudio/AudioError/Code/concurrentIteration`` for a
        ///   second iterator.
        public func next() async throws(AudioError) -> AudioBuffer? {
            try await microphone.nextBuffer(isOwner: isOwner)
        }

        /// The next captured buffer; `nil` after ``ALSAMicrophone/stop()``.
        public func next(isolation actor: isolated (any Actor)?) async throws(AudioError) -> AudioBuffer? {
            try await microphone.nextBuffer(isOwner: isOwner)
        }
    }

    private func nextBuffer(isOwner: Bool) async throws(AudioError) -> AudioBuffer? {
        guard isOwner else {
            throw AudioError(.concurrentIteration, detail: "a microphone can be iterated once", path: deviceName)
        }
        try startIfNeeded()
        return try await handOff.nextCapturedBuffer(path: deviceName, stop: signalStop)
    }
}

@available(*, unavailable)
extension ALSAMicrophone.AsyncIterator: Sendable {}
