import Logging
import StreamingSTTSupport
import StreamingSTTWebSocket

/// A live transcription session with AssemblyAI or Speechmatics, the same API for both.
///
/// The scoped form owns everything the session does and ends it when the closure returns:
///
/// ```swift
/// let summary = try await StreamingTranscriber.withSession(provider: .assemblyAI(options)) { transcriber in
///     try await withThrowingTaskGroup(of: Void.self) { group in
///         group.addTask {
///             for await event in transcriber.events {
///                 if case .final(let transcript) = event { print(transcript.text) }
///             }
///         }
///         for chunk in pcmChunks { try await transcriber.send(audio: chunk) }   // 16 kHz s16le mono
///         return try await transcriber.stop()   // every final arrives before this returns
///     }
/// }
/// ```
///
/// Or start and stop it yourself:
///
/// - ``start()`` connects, authenticates and waits for the service's first message.
/// - ``send(audio:)`` streams audio in the provider's wire format; it suspends when the network
///   or the service is slower than the audio (bounded queue; Speechmatics acknowledgement window).
/// - ``stop()`` sends the vendor's end message (AssemblyAI `Terminate`, Speechmatics `EndOfStream`)
///   and returns once every final the service sends has been delivered, within ``Configuration/stopTimeout``.
/// - ``cancel()`` (or cancelling a task inside `start`, `send` or `stop`) ends the session at once.
///
/// Releasing the last reference to a started transcriber without ``stop()`` ends the session as
/// ``cancel()`` does: its connections are dropped and its background work ends.
///
/// Every failure is delivered once, as ``/StreamingSTTProtocol/TranscriptEvent/error(_:)``, and
/// thrown from the call that was waiting on it — unless ``Configuration/reconnection`` is set:
/// then retryable failures open a new session
/// (``/StreamingSTTProtocol/TranscriptEvent/reconnecting(_:)``,
/// ``/StreamingSTTProtocol/TranscriptEvent/reconnected(_:)``) and the audio sent meanwhile is
/// replayed to it; see ``/StreamingSTTProtocol/ReconnectionPolicy``.
public final class StreamingTranscriber: Sendable {
    /// The service and its options: `.assemblyAI(options)` or `.speechmatics(options)`.
    public typealias Provider = TranscriptionProvider

    /// The provider and its options.
    public let provider: Provider
    /// The session settings.
    public let configuration: Configuration
    /// The session's events.
    public let events: TranscriptEvents
    /// Runs the transcription (the first channel's, with ``fanOut``).
    package let driver: TranscriptionDriver
    /// One session per channel, for multichannel audio on a vendor without a multichannel
    /// protocol (``Configuration/channelLabels`` with AssemblyAI); `nil` otherwise.
    package let fanOut: ChannelFanOut?
    /// The task that runs the driver's background work, with the start/stop API.
    private let runTask = LockedState<Task<Void, Never>?>(nil)
    /// Whether a caller's scope (``withSession(provider:configuration:logger:isolation:_:)``) runs
    /// the background work.
    private let runsInScope: Bool

    /// Creates a session; nothing happens until ``start()``.
    /// - Parameters:
    ///   - provider: the service and its options.
    ///   - configuration: timeouts, TLS, limits and the reconnection policy.
    ///   - logger: receives debug-level details; never a key, a token or a URL query.
    public convenience init(
        provider: Provider,
        configuration: Configuration = .init(),
        logger: Logger = WebSocketConnection.disabledLogger
    ) {
        self.init(provider: provider, configuration: configuration, logger: logger, runsInScope: false)
    }

    private init(provider: Provider, configuration: Configuration, logger: Logger, runsInScope: Bool) {
        self.provider = provider
        self.configuration = configuration
        let labels = configuration.channelLabels
        if labels.isEmpty {
            fanOut = nil
            driver = TranscriptionDriver(provider: provider, configuration: configuration, logger: logger)
        } else if let carrying = provider.vendor.carryingChannels(labels) {
            fanOut = nil
            driver = TranscriptionDriver(
                provider: TranscriptionProvider(carrying), configuration: configuration, logger: logger)
        } else {
            let fanOut = ChannelFanOut(provider: provider, configuration: configuration, labels: labels, logger: logger)
            self.fanOut = fanOut
            driver = fanOut.drivers[0]
        }
        self.events = TranscriptEvents(handOff: fanOut?.handOff ?? driver.handOff)
        self.runsInScope = runsInScope
    }

    deinit {
        // Nobody can stop the session any more: end it, and its background work with it.
        runTask.withLock { $0 }?.cancel()
    }

    /// Runs `body` with a started session, then stops it gracefully and returns what `body`
    /// returned. The session's background work (reading, reconnection, rollover) runs as a child
    /// task of this call, so nothing of it outlives it.
    ///
    /// When `body` throws, or the task is cancelled, the session is cancelled (its connections
    /// dropped) and the error is rethrown. `body` may call ``stop()`` itself to get the summary;
    /// the session is then not stopped again.
    /// - Parameters:
    ///   - provider: the service and its options.
    ///   - configuration: timeouts, TLS, limits and the reconnection policy.
    ///   - logger: receives debug-level details; never a key, a token or a URL query.
    ///   - isolation: the actor `body` runs on (the caller's, by default).
    ///   - body: uses the started session.
    /// - Throws: what ``start()``, `body` or ``stop()`` threw.
    public static func withSession<Result>(
        provider: Provider,
        configuration: Configuration = .init(),
        logger: Logger = WebSocketConnection.disabledLogger,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (StreamingTranscriber) async throws -> Result
    ) async throws -> Result {
        let transcriber = StreamingTranscriber(
            provider: provider, configuration: configuration, logger: logger, runsInScope: true)
        return try await withThrowingTaskGroup(of: Void.self, returning: Result.self) { group in
            group.addTask { [driver = transcriber.driver, fanOut = transcriber.fanOut] in
                await runBackgroundWork(driver: driver, fanOut: fanOut)
            }
            do {
                try await transcriber.start()
                let result = try await body(transcriber)
                if await !transcriber.hasEnded { try await transcriber.stop() }
                return result
            } catch {
                await transcriber.cancel()
                throw error
            }
        }
    }

    /// Connects and waits for the session to start (the first event,
    /// ``/StreamingSTTProtocol/TranscriptEvent/begin(_:)``, is delivered too). The first session is
    /// not retried, even with a reconnection policy.
    /// - Returns: the session's id and what the service echoed.
    /// - Throws: ``/StreamingSTTProtocol/TranscriptionError``: `invalidConfiguration` (nothing was
    ///   sent), `authenticationFailed`, `handshakeRejected`, `connectionFailed`, `timeout`,
    ///   `vendorError`, `tokenRequestFailed`, `cancelled`, `alreadyStarted` — once the connection is
    ///   released.
    @discardableResult
    public func start() async throws(TranscriptionError) -> SessionInfo {
        if !runsInScope {
            runTask.withLock { task in
                guard task == nil else { return }
                // The start/stop API has no caller scope that could own the session's background
                // work, so this one task owns it, as child tasks; it ends with the session, or
                // when this transcriber is released. `withSession` runs the same work as a child
                // of the caller's task instead.
                // It holds the driver, not the transcriber: releasing the transcriber cancels it.
                task = Task { [driver, fanOut] in await Self.runBackgroundWork(driver: driver, fanOut: fanOut) }
            }
        }
        if let fanOut { return try await fanOut.start() }
        return try await driver.start()
    }

    /// The session's background work: the driver's, or every channel's and their merging.
    private static func runBackgroundWork(driver: TranscriptionDriver, fanOut: ChannelFanOut?) async {
        if let fanOut { await fanOut.run() } else { await driver.run() }
    }

    /// Whether the transcription has ended.
    private var hasEnded: Bool {
        get async {
            if let fanOut { return await fanOut.hasEnded }
            return await driver.hasEnded
        }
    }

    /// Sends audio in the provider's wire format (the configured encoding and sample rate, mono,
    /// little-endian), cut into chunks of ``Configuration/audioChunkDuration``. For a multichannel
    /// session (Speechmatics channel diarization) the bytes hold every channel, interleaved frame
    /// by frame in label order (``wireFormat`` has that many channels); each channel goes to the
    /// service as its own stream.
    ///
    /// Suspends while the send queue is full and, for Speechmatics, while too many chunks wait for
    /// their acknowledgement. Calls are served in order. While a reconnection is under way the
    /// audio is kept for the next session and the call returns at once.
    /// - Throws: ``/StreamingSTTProtocol/TranscriptionError``: `notStarted`, `sessionEnded` (with
    ///   the session's error, if any), `connectionLost`, `timeout`, `cancelled`.
    public func send(audio bytes: [UInt8]) async throws(TranscriptionError) {
        if let fanOut { return try await fanOut.send(audio: bytes) }
        try await driver.send(audio: bytes)
    }

    /// The audio format sent on the wire: the provider's configured encoding and rate; mono, or one
    /// channel per label of a multichannel session (Speechmatics `channel_diarization_labels`).
    public var wireFormat: AudioFormat {
        var format = driver.wireFormat
        if let fanOut { format.channelCount = fanOut.labels.count }
        return format
    }

    /// Ends the current turn at once: AssemblyAI `ForceEndpoint`; Speechmatics
    /// `ForceEndOfUtterance` with the audio time sent so far. Does nothing while reconnecting.
    public func forceEndOfTurn() async throws(TranscriptionError) {
        if let fanOut {
            return try await fanOut.forEach { driver throws(TranscriptionError) in try await driver.forceEndOfTurn() }
        }
        try await driver.forceEndOfTurn()
    }

    /// Asks for the speakers identified so far (Speechmatics `GetSpeakers`, with diarization on):
    /// the answer is a ``/StreamingSTTProtocol/TranscriptEvent/speakers(_:)`` event. With `final`
    /// the service answers once, at the end of the stream, before the session ends. Send it after
    /// the first final. Does nothing while reconnecting.
    /// - Throws: ``/StreamingSTTProtocol/TranscriptionError``: `invalidConfiguration` for
    ///   AssemblyAI, which has no such request (its speaker labels come on each turn);
    ///   `notStarted`, `sessionEnded`, `connectionLost`.
    public func requestSpeakers(final: Bool = false) async throws(TranscriptionError) {
        try await driver.requestSpeakers(final: final)
    }

    /// AssemblyAI `KeepAlive`: resets the inactivity timer (only useful with `inactivity_timeout`).
    /// Speechmatics has no such message; this does nothing there.
    public func keepAlive() async throws(TranscriptionError) {
        if let fanOut {
            return try await fanOut.forEach { driver throws(TranscriptionError) in try await driver.keepAlive() }
        }
        try await driver.keepAlive()
    }

    /// Changes the session's configuration mid-stream: AssemblyAI `UpdateConfiguration`,
    /// Speechmatics `SetRecognitionConfig`. Only the fields the vendor allows to change are sent.
    /// With reconnection, every later session is sent the same changes before its audio.
    public func updateConfiguration(_ update: ConfigurationUpdate) async throws(TranscriptionError) {
        if let fanOut {
            return try await fanOut.forEach { driver throws(TranscriptionError) in
                try await driver.updateConfiguration(update)
            }
        }
        try await driver.updateConfiguration(update)
    }

    /// Ends the session gracefully: sends what is left of the audio, the vendor's end message, and
    /// waits (``Configuration/stopTimeout`` plus the audio not yet transcribed, longer while the
    /// service keeps sending) until the service has sent its last final and its closing message,
    /// and every connection is released. ``/StreamingSTTProtocol/TranscriptEvent/terminated(_:)`` is
    /// the last event.
    /// With reconnection, a session lost while stopping is replaced and ended in turn, and a
    /// session being rolled over is drained first.
    /// - Returns: the session's summary.
    /// - Throws: ``/StreamingSTTProtocol/TranscriptionError``: `timeout` when the service does not
    ///   finish in time, or whatever ended the session.
    @discardableResult
    public func stop() async throws(TranscriptionError) -> SessionSummary {
        if let fanOut { return try await fanOut.stop() }
        return try await driver.stop()
    }

    /// Ends the session at once: drops the connection without the vendor's end message. Finals not
    /// yet received are lost. ``/StreamingSTTProtocol/TranscriptEvent/error(_:)`` with
    /// ``/StreamingSTTProtocol/TranscriptionError/Code/cancelled`` is the last event.
    public func cancel() async {
        if let fanOut { return await fanOut.cancel() }
        await driver.cancel()
    }

    /// Seconds of audio sent so far (or, while reconnecting, kept to be sent).
    public var audioSecondsSent: Double {
        get async { await driver.audioSecondsSent }
    }

    /// Where the connection to the service stands now (see ``/StreamingSTTProtocol/ConnectionState``).
    /// With one session per channel (multichannel AssemblyAI), the channels' states merged: open
    /// once all are, reconnecting while any is, ended once all are.
    public var connectionState: ConnectionState { fanOut?.connectionState ?? driver.connectionStates.current }

    /// The connection states from now on, starting with the current one: each iteration of this
    /// property is its own subscription. A reader that falls behind skips to the newest state
    /// (nothing piles up); the sequence finishes after ``/StreamingSTTProtocol/ConnectionState/ended(_:)``.
    public var connectionStates: AsyncStream<ConnectionState> {
        (fanOut?.connectionStates ?? driver.connectionStates).subscribe()
    }

    /// The session's statistics now (see ``/StreamingSTTProtocol/SessionStatistics``); the
    /// summary of a graceful stop carries the last ones. With one session per channel (multichannel
    /// AssemblyAI), the channels' statistics merged: the audio counted once, the worst channel's
    /// lag, the counts summed (see ``/StreamingSTTProtocol/SessionStatistics``).
    public var statistics: SessionStatistics {
        get async {
            if let fanOut { return await fanOut.statistics }
            return await driver.sessionStatistics
        }
    }

    /// Waits until a sender is held back by the Speechmatics acknowledgement window (for tests).
    package func waitUntilBlockedOnAcknowledgements() async {
        await driver.waitUntilBlockedOnAcknowledgements()
    }

    /// The task that runs the session's background work with the start/stop API, once started
    /// (for tests: it ends when the session has ended and that work is done).
    package var backgroundWork: Task<Void, Never>? { runTask.withLock { $0 } }
}
