import Logging

/// A live transcription session with AssemblyAI or Speechmatics, the same API for both.
///
/// ```swift
/// let transcriber = StreamingTranscriber(provider: .assemblyAI(assemblyAI))
/// try await transcriber.start()
/// async let reading: Void = {
///     for await event in transcriber.events {
///         if case .final(let transcript) = event { print(transcript.text) }
///     }
/// }()
/// for chunk in pcmChunks { try await transcriber.send(audio: chunk) }   // 16 kHz s16le mono
/// let summary = try await transcriber.stop()   // every final arrives before this returns
/// await reading
/// ```
///
/// - ``start()`` connects, authenticates and waits for the service's first message.
/// - ``send(audio:)`` streams audio in the provider's wire format; it suspends when the network
///   or the service is slower than the audio (bounded queue; Speechmatics acknowledgement window).
/// - ``stop()`` sends the vendor's end message (AssemblyAI `Terminate`, Speechmatics `EndOfStream`)
///   and returns once every final the service sends has been delivered, within ``Configuration/stopTimeout``.
/// - ``cancel()`` (or cancelling a task inside `start`, `send` or `stop`) ends the session at once.
///
/// Every failure is delivered once, as ``TranscriptEvent/error(_:)``, and thrown from the call
/// that was waiting on it.
public actor StreamingTranscriber {
    /// The service and its options.
    public enum Provider: Sendable, Hashable {
        /// AssemblyAI Universal Streaming v3.
        case assemblyAI(AssemblyAI)
        /// Speechmatics Real-Time v2.
        case speechmatics(Speechmatics)

        /// Which provider.
        public var kind: ProviderKind {
            switch self {
            case .assemblyAI: .assemblyAI
            case .speechmatics: .speechmatics
            }
        }
    }

    /// Session settings that do not belong to a vendor.
    public struct Configuration: Sendable {
        /// DNS, TCP, TLS and the WebSocket handshake together.
        public var connectTimeout: Duration
        /// From the handshake to `Begin` / `RecognitionStarted` (a large Speechmatics vocabulary
        /// can delay the start by up to 15 s).
        public var startTimeout: Duration
        /// From the end message to `Termination` / `EndOfTranscript`.
        public var stopTimeout: Duration
        /// How long the sender waits for Speechmatics acknowledgements before giving up.
        public var acknowledgementTimeout: Duration
        /// Audio is sent in chunks of this duration (AssemblyAI allows 50–1000 ms per message and
        /// recommends 50; the last chunk may be up to twice as long).
        public var audioChunkDuration: Duration
        /// TLS settings (extra trusted CAs for a private endpoint or an emulator).
        public var tls: TLSConfiguration
        /// WebSocket keepalive (Speechmatics asks for a ping timeout of at least 60 s).
        public var keepalive: WebSocketConfiguration.Keepalive
        /// The bound of the WebSocket send queue.
        public var maxQueuedOutboundBytes: Int
        /// The largest message accepted from the service.
        public var maxMessageSize: Int
        /// Also deliver every vendor message as ``TranscriptEvent/raw(_:)`` (empty finals included).
        public var deliversRawMessages: Bool
        /// The loop that services the connection.
        public var eventLoop: WebSocketEventLoop

        /// Creates a configuration; every argument has a default.
        public init(
            connectTimeout: Duration = .seconds(10),
            startTimeout: Duration = .seconds(20),
            stopTimeout: Duration = .seconds(10),
            acknowledgementTimeout: Duration = .seconds(120),
            audioChunkDuration: Duration = .milliseconds(50),
            tls: TLSConfiguration = .init(),
            keepalive: WebSocketConfiguration.Keepalive = .enabled(
                pingInterval: .seconds(30), pongTimeout: .seconds(60)),
            maxQueuedOutboundBytes: Int = 256 << 10,
            maxMessageSize: Int = 4 << 20,
            deliversRawMessages: Bool = false,
            eventLoop: WebSocketEventLoop = .shared
        ) {
            self.connectTimeout = connectTimeout
            self.startTimeout = startTimeout
            self.stopTimeout = stopTimeout
            self.acknowledgementTimeout = acknowledgementTimeout
            self.audioChunkDuration = audioChunkDuration
            self.tls = tls
            self.keepalive = keepalive
            self.maxQueuedOutboundBytes = maxQueuedOutboundBytes
            self.maxMessageSize = maxMessageSize
            self.deliversRawMessages = deliversRawMessages
            self.eventLoop = eventLoop
        }
    }

    private enum Phase {
        case idle, connecting, running, stopping
        case ended(Result<SessionSummary, TranscriptionError>)
    }

    /// The provider and its options.
    public nonisolated let provider: Provider
    /// The session settings.
    public nonisolated let configuration: Configuration
    /// The session's events.
    public nonisolated let events: TranscriptEvents

    private let logger: Logger
    private let continuation: AsyncStream<TranscriptEvent>.Continuation
    private var decoder: any SessionDecoder
    private var phase = Phase.idle
    private var connection: WebSocketConnection?
    private var session: SessionInfo?
    private var startWaiters: [CheckedContinuation<Void, Never>] = []
    private var endWaiters: [CheckedContinuation<Void, Never>] = []
    private var ackWaiters: [CheckedContinuation<Void, Never>] = []
    private var blockedObservers: [CheckedContinuation<Void, Never>] = []
    private var blockedOnAcknowledgements = false
    private var sendLockHeld = false
    private var sendLockWaiters: [CheckedContinuation<Void, Never>] = []
    private var chunker: WireChunker
    private var chunksSent = 0
    private var chunksAcknowledged = 0
    private var bytesSent = 0
    private var finalCount = 0
    private let clock = ContinuousClock()
    private var connectedAt: ContinuousClock.Instant?
    private var converter: AudioConverter?

    /// Creates a session; nothing happens until ``start()``.
    /// - Parameters:
    ///   - provider: the service and its options.
    ///   - configuration: timeouts, TLS and limits.
    ///   - logger: receives debug-level details; never a key, a token or a URL query.
    public init(
        provider: Provider,
        configuration: Configuration = .init(),
        logger: Logger = WebSocketConnection.disabledLogger
    ) {
        self.provider = provider
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "stt.provider"] = "\(provider.kind)"
        self.logger = logger
        let (stream, continuation) = AsyncStream.makeStream(of: TranscriptEvent.self, bufferingPolicy: .unbounded)
        self.events = TranscriptEvents(stream: stream)
        self.continuation = continuation
        var decoder: any SessionDecoder
        let bytesPerFrame: Int
        let sampleRate: Int
        let holdBack: Bool
        switch provider {
        case .assemblyAI(let options):
            decoder = AssemblyAIDecoder(configuration: options)
            bytesPerFrame = options.encoding.bytesPerSample
            sampleRate = options.sampleRate
            holdBack = true
        case .speechmatics(let options):
            decoder = SpeechmaticsDecoder()
            bytesPerFrame = options.encoding.bytesPerSample
            sampleRate = options.sampleRate
            holdBack = false
        }
        decoder.deliversRawMessages = configuration.deliversRawMessages
        self.decoder = decoder
        let frames = max(1, Int(Double(sampleRate) * Self.seconds(configuration.audioChunkDuration)))
        self.chunker = WireChunker(
            chunkBytes: frames * bytesPerFrame, alignment: bytesPerFrame, holdsBackLastChunk: holdBack)
    }

    // MARK: - Public API

    /// Connects and waits for the session to start (the first event, ``TranscriptEvent/begin(_:)``,
    /// is delivered too).
    /// - Returns: the session's id and what the service echoed.
    /// - Throws: ``TranscriptionError``: `invalidConfiguration` (nothing was sent),
    ///   `authenticationFailed`, `handshakeRejected`, `connectionFailed`, `timeout`, `vendorError`,
    ///   `cancelled`, `alreadyStarted`.
    @discardableResult
    public func start() async throws(TranscriptionError) -> SessionInfo {
        guard case .idle = phase else {
            throw TranscriptionError(.alreadyStarted, provider: provider.kind, reason: "start() was called twice")
        }
        do {
            try validate()
        } catch {
            fail(error)
            throw error
        }
        phase = .connecting
        let url: String
        var webSocket = WebSocketConfiguration(
            connectTimeout: configuration.connectTimeout, keepalive: configuration.keepalive,
            maxMessageSize: configuration.maxMessageSize, maxQueuedOutboundBytes: configuration.maxQueuedOutboundBytes,
            tls: configuration.tls)
        switch provider {
        case .assemblyAI(let options):
            url = options.sessionURL()
            webSocket.additionalHeaders = options.sessionHeaders()
        case .speechmatics(let options):
            url = options.sessionURL()
            webSocket.additionalHeaders = options.sessionHeaders()
        }
        logger.debug("session connecting")
        let connection: WebSocketConnection
        do {
            connection = try await WebSocketConnection.connect(
                to: url, configuration: webSocket, eventLoop: configuration.eventLoop, logger: logger)
        } catch {
            let failure = TranscriptionError(transport: error, provider: provider.kind)
            fail(failure)
            throw failure
        }
        self.connection = connection
        connectedAt = clock.now
        phase = .running
        Task { await self.readLoop(connection) }
        if case .speechmatics(let options) = provider {
            do {
                try await connection.send(text: options.startRecognition.description)
            } catch {
                fail(TranscriptionError(transport: error, provider: provider.kind))
            }
        }
        await waitForStart()
        if let session { return session }
        throw endedError()
    }

    /// Sends audio in the provider's wire format (the configured encoding and sample rate, mono,
    /// little-endian), cut into chunks of ``Configuration/audioChunkDuration``.
    ///
    /// Suspends while the send queue is full and, for Speechmatics, while too many chunks wait for
    /// their acknowledgement. Calls are served in order.
    /// - Throws: ``TranscriptionError``: `notStarted`, `sessionEnded` (with the session's error, if
    ///   any), `connectionLost`, `timeout`, `cancelled`.
    public func send(audio bytes: [UInt8]) async throws(TranscriptionError) {
        try checkRunning()
        await acquireSendLock()
        defer { releaseSendLock() }
        for chunk in chunker.append(bytes) { try await sendChunk(chunk) }
    }

    /// The audio format sent on the wire: mono, the provider's configured encoding and rate.
    public nonisolated var wireFormat: AudioFormat {
        switch provider {
        case .assemblyAI(let options):
            AudioFormat(encoding: options.encoding == .pcmMulaw ? .mulaw : .int16, sampleRate: options.sampleRate)
        case .speechmatics(let options):
            AudioFormat(
                encoding: options.encoding == .pcmF32LE ? .float32 : (options.encoding == .mulaw ? .mulaw : .int16),
                sampleRate: options.sampleRate)
        }
    }

    /// Sends audio in any format: it is converted to ``wireFormat`` (channels mixed down,
    /// resampled with a band-limited filter, re-encoded), then sent as ``send(audio:)`` does.
    /// Every buffer of a session must have the same format.
    /// - Throws: ``TranscriptionError`` as ``send(audio:)``, or `audioFailed` when the buffer
    ///   cannot be converted.
    public func send(_ buffer: AudioBuffer) async throws(TranscriptionError) {
        try checkRunning()
        let wire = wireFormat
        if buffer.format == wire && converter == nil {
            try await send(audio: buffer.bytes)
            return
        }
        do {
            if converter == nil { converter = try AudioConverter(from: buffer.format, to: wire) }
            guard let converter, converter.inputFormat == buffer.format else {
                throw AudioError(.invalidFormat, detail: "every buffer of a session must have the same format")
            }
            let converted = try converter.convert(buffer)
            if !converted.bytes.isEmpty { try await send(audio: converted.bytes) }
        } catch let error as AudioError {
            throw TranscriptionError(
                .audioFailed, provider: provider.kind, reason: error.description, audioError: error)
        } catch let error as TranscriptionError {
            throw error
        } catch {
            throw TranscriptionError(.audioFailed, provider: provider.kind, reason: "\(error)")
        }
    }

    /// Sends every buffer of `source` until it ends, paced in real time (the hosted AssemblyAI
    /// service rejects audio sent faster than real time) or as fast as the transport allows.
    /// It does not stop the session: call ``stop()`` after it returns.
    /// - Throws: ``TranscriptionError``: `audioFailed` when the source fails (the session goes on),
    ///   or whatever ended the session.
    public func stream(from source: some AudioSource, pacing: AudioPacing = .realTime) async throws(TranscriptionError)
    {
        var pacer = AudioPacer(pacing)
        do {
            for try await buffer in source {
                try await pacer.wait(for: buffer)
                try await send(buffer)
            }
        } catch let error as TranscriptionError {
            throw error
        } catch let error as AudioError {
            throw TranscriptionError(
                .audioFailed, provider: provider.kind, reason: error.description, audioError: error)
        } catch {
            throw TranscriptionError(.audioFailed, provider: provider.kind, reason: "\(error)")
        }
    }

    /// Ends the current turn at once: AssemblyAI `ForceEndpoint`; Speechmatics
    /// `ForceEndOfUtterance` with the audio time sent so far.
    public func forceEndOfTurn() async throws(TranscriptionError) {
        try checkRunning()
        switch provider {
        case .assemblyAI:
            try await sendControl(.object([("type", .string("ForceEndpoint"))]))
        case .speechmatics:
            try await sendControl(
                .object([("message", .string("ForceEndOfUtterance")), ("timestamp", .number(audioSecondsSent))]))
        }
    }

    /// AssemblyAI `KeepAlive`: resets the inactivity timer (only useful with `inactivity_timeout`).
    /// Speechmatics has no such message; this does nothing there.
    public func keepAlive() async throws(TranscriptionError) {
        try checkRunning()
        if case .assemblyAI = provider { try await sendControl(.object([("type", .string("KeepAlive"))])) }
    }

    /// Changes the session's configuration mid-stream: AssemblyAI `UpdateConfiguration`,
    /// Speechmatics `SetRecognitionConfig`. Only the fields the vendor allows to change are sent.
    public func updateConfiguration(_ update: ConfigurationUpdate) async throws(TranscriptionError) {
        try checkRunning()
        switch provider {
        case .assemblyAI:
            try await sendControl(try update.assemblyAIMessage())
        case .speechmatics(let options):
            try await sendControl(try update.speechmaticsMessage(language: options.language))
        }
    }

    /// Ends the session gracefully: sends what is left of the audio, the vendor's end message, and
    /// waits (at most ``Configuration/stopTimeout``) until the service has sent its last final and
    /// its closing message. ``TranscriptEvent/terminated(_:)`` is the last event.
    /// - Returns: the session's summary.
    /// - Throws: ``TranscriptionError``: `timeout` when the service does not finish in time, or
    ///   whatever ended the session.
    @discardableResult
    public func stop() async throws(TranscriptionError) -> SessionSummary {
        switch phase {
        case .idle: throw TranscriptionError(.notStarted, provider: provider.kind, reason: "stop() before start()")
        case .connecting: await waitForStart()
        case .ended(let result): return try result.get()
        case .running, .stopping: break
        }
        if case .running = phase {
            await acquireSendLock()
            defer { releaseSendLock() }
            if case .running = phase {
                do {
                    if let converter, let tail = try? converter.flush(), !tail.bytes.isEmpty {
                        for chunk in chunker.append(tail.bytes) { try await sendChunk(chunk) }
                    }
                    let merge: Bool
                    if case .assemblyAI = provider { merge = true } else { merge = false }
                    for chunk in chunker.finish(mergeTail: merge) { try await sendChunk(chunk) }
                    phase = .stopping
                    switch provider {
                    case .assemblyAI:
                        try await sendRaw(.object([("type", .string("Terminate"))]))
                    case .speechmatics:
                        try await sendRaw(
                            .object([("message", .string("EndOfStream")), ("last_seq_no", .number(Double(chunksSent)))])
                        )
                    }
                } catch {
                    // The session ended while stopping; `phase` says how.
                }
            }
        }
        if case .stopping = phase {
            let finished = await waitForEnd(within: configuration.stopTimeout)
            if !finished {
                fail(
                    TranscriptionError(
                        .timeout, provider: provider.kind,
                        reason: "the service did not finish within \(configuration.stopTimeout) after the end message",
                        isRetryable: true))
            }
        }
        guard case .ended(let result) = phase else { throw endedError() }
        return try result.get()
    }

    /// Ends the session at once: drops the connection without the vendor's end message. Finals not
    /// yet received are lost. ``TranscriptEvent/error(_:)`` with ``TranscriptionError/Code/cancelled``
    /// is the last event.
    public func cancel() {
        switch phase {
        case .ended: return
        default: fail(TranscriptionError(.cancelled, provider: provider.kind, reason: "the session was cancelled"))
        }
    }

    /// Waits until a sender is held back by the Speechmatics acknowledgement window (for tests).
    package func waitUntilBlockedOnAcknowledgements() async {
        if blockedOnAcknowledgements { return }
        await withCheckedContinuation { blockedObservers.append($0) }
    }

    /// Seconds of audio sent so far.
    public var audioSecondsSent: Double {
        Double(bytesSent) / Double(bytesPerSecond)
    }

    // MARK: - Internals

    private var bytesPerSecond: Int {
        switch provider {
        case .assemblyAI(let options): options.sampleRate * options.encoding.bytesPerSample
        case .speechmatics(let options): options.sampleRate * options.encoding.bytesPerSample
        }
    }

    private func validate() throws(TranscriptionError) {
        switch provider {
        case .assemblyAI(let options):
            try options.validate()
            let milliseconds = Self.seconds(configuration.audioChunkDuration) * 1000
            if !(50...500).contains(milliseconds) {
                throw TranscriptionError(
                    .invalidConfiguration, provider: .assemblyAI,
                    reason: "audioChunkDuration must be 50…500 ms for AssemblyAI (messages must hold 50–1000 ms)")
            }
        case .speechmatics(let options):
            try options.validate()
            if configuration.audioChunkDuration <= .zero || configuration.audioChunkDuration > .seconds(5) {
                throw TranscriptionError(
                    .invalidConfiguration, provider: .speechmatics,
                    reason: "audioChunkDuration must be above 0 and at most 5 s")
            }
        }
    }

    private func checkRunning() throws(TranscriptionError) {
        switch phase {
        case .running: return
        case .idle, .connecting:
            throw TranscriptionError(.notStarted, provider: provider.kind, reason: "the session has not started")
        case .stopping:
            throw TranscriptionError(.sessionEnded, provider: provider.kind, reason: "the session is stopping")
        case .ended: throw endedError()
        }
    }

    private func endedError() -> TranscriptionError {
        if case .ended(.failure(let error)) = phase { return error }
        return TranscriptionError(.sessionEnded, provider: provider.kind, reason: "the session has ended")
    }

    private func sendChunk(_ chunk: [UInt8]) async throws(TranscriptionError) {
        guard let connection else { throw endedError() }
        if case .speechmatics(let options) = provider {
            while chunksSent - chunksAcknowledged >= options.maxUnacknowledgedChunks {
                if case .ended = phase { throw endedError() }
                blockedOnAcknowledgements = true
                resumeAll(&blockedObservers)
                let acknowledged = await waitForAcknowledgement(within: configuration.acknowledgementTimeout)
                blockedOnAcknowledgements = false
                if !acknowledged {
                    let error = TranscriptionError(
                        .timeout, provider: .speechmatics,
                        reason: "no AudioAdded acknowledgement within \(configuration.acknowledgementTimeout)",
                        isRetryable: true)
                    fail(error)
                    throw error
                }
            }
        }
        if case .ended = phase { throw endedError() }
        do {
            try await connection.send(binary: chunk)
        } catch {
            throw await sendFailed(error)
        }
        chunksSent += 1
        bytesSent += chunk.count
    }

    private func sendControl(_ message: JSONValue) async throws(TranscriptionError) {
        try await sendRaw(message)
    }

    private func sendRaw(_ message: JSONValue) async throws(TranscriptionError) {
        guard let connection else { throw endedError() }
        do {
            try await connection.send(text: message.description)
        } catch {
            throw await sendFailed(error)
        }
    }

    /// A send failed because the connection ended. The reader decides how the session ended (it
    /// first delivers every message received before the end), so wait for it, then report that.
    private func sendFailed(_ error: WebSocketError) async -> TranscriptionError {
        if error.code == .cancelled {
            fail(TranscriptionError(transport: error, provider: provider.kind))
        } else if !isEnded, !(await waitForEnd(within: configuration.stopTimeout)) {
            fail(TranscriptionError(transport: error, provider: provider.kind))
        }
        return endedError()
    }

    // MARK: Reading

    private func readLoop(_ connection: WebSocketConnection) async {
        var iterator = connection.messages.makeAsyncIterator()
        while true {
            let message: WebSocketMessage?
            do {
                message = try await iterator.next()
            } catch {
                if case .ended = phase { return }
                apply(decoder.flush())
                fail(TranscriptionError(transport: error, provider: provider.kind))
                return
            }
            guard let message else { break }
            guard case .text(let text) = message else { continue }  // binary frames mean nothing here
            apply(decoder.decode(text))
            if case .ended = phase { return }
        }
        // The service closed the connection.
        if case .ended = phase { return }
        apply(decoder.flush())
        if case .ended = phase { return }
        let frame: WebSocketCloseFrame
        switch connection.closure {
        case .closedByPeer(let peer): frame = peer
        case .closedLocally(let local): frame = local
        default: frame = .normalClosure
        }
        if let error = decoder.closeError(frame) {
            fail(error)
        } else if case .stopping = phase {
            complete(with: .null)
        } else {
            fail(
                TranscriptionError(
                    .serverClosed, provider: provider.kind, reason: "the service closed the session without ending it",
                    closeCode: frame.code, isRetryable: true))
        }
    }

    private func apply(_ outputs: [SessionOutput]) {
        for output in outputs {
            if case .ended = phase { return }
            switch output {
            case .event(let event):
                if case .final = event { finalCount += 1 }
                continuation.yield(event)
            case .started(let info):
                session = info
                logger.debug("session started", metadata: ["stt.session.id": "\(info.id)"])
                resumeAll(&startWaiters)
            case .acknowledged(let sequence):
                chunksAcknowledged = max(chunksAcknowledged, sequence)
                resumeAll(&ackWaiters)
            case .finished(let message):
                complete(with: message)
            case .failed(let error):
                fail(error)
            }
        }
    }

    /// The graceful end: `terminated`, then the sequence finishes.
    private func complete(with message: JSONValue) {
        guard !isEnded else { return }
        let measured = connectedAt.map { Self.seconds(clock.now - $0) } ?? 0
        let summary = SessionSummary(
            provider: provider.kind, sessionID: session?.id ?? "",
            audioDuration: message["audio_duration_seconds"]?.looseDouble ?? audioSecondsSent,
            sessionDuration: message["session_duration_seconds"]?.looseDouble ?? measured, finalCount: finalCount,
            raw: message)
        logger.debug("session terminated", metadata: ["stt.finals": "\(finalCount)"])
        continuation.yield(.terminated(summary))
        finish(.success(summary))
        if let connection { Task { await connection.close() } }
    }

    /// The failed end: `error`, then the sequence finishes and the connection is dropped.
    private func fail(_ error: TranscriptionError) {
        guard !isEnded else { return }
        logger.debug("session failed", metadata: ["stt.error": "\(error)"])
        continuation.yield(.error(error))
        finish(.failure(error))
        connection?.cancel()
    }

    private var isEnded: Bool {
        if case .ended = phase { return true }
        return false
    }

    private func finish(_ result: Result<SessionSummary, TranscriptionError>) {
        phase = .ended(result)
        continuation.finish()
        resumeAll(&startWaiters)
        resumeAll(&endWaiters)
        resumeAll(&ackWaiters)
    }

    private func resumeAll(_ waiters: inout [CheckedContinuation<Void, Never>]) {
        let resumed = waiters
        waiters.removeAll()
        for waiter in resumed { waiter.resume() }
    }

    // MARK: Waiting

    private enum Awaited {
        case start, end
        case acknowledgementAfter(Int)
    }

    private func holds(_ awaited: Awaited) -> Bool {
        switch awaited {
        case .start: session != nil || isEnded
        case .end: isEnded
        case .acknowledgementAfter(let count): chunksAcknowledged > count || isEnded
        }
    }

    private func register(_ awaited: Awaited, _ continuation: CheckedContinuation<Void, Never>) {
        switch awaited {
        case .start: startWaiters.append(continuation)
        case .end: endWaiters.append(continuation)
        case .acknowledgementAfter: ackWaiters.append(continuation)
        }
    }

    private func waitForStart() async {
        let deadline = configuration.startTimeout
        let started = await wait(for: .start, within: deadline)
        if !started {
            fail(
                TranscriptionError(
                    .timeout, provider: provider.kind,
                    reason: "the service did not start the session within \(deadline)", isRetryable: true))
        }
    }

    private func waitForEnd(within limit: Duration) async -> Bool {
        await wait(for: .end, within: limit)
    }

    private func waitForAcknowledgement(within limit: Duration) async -> Bool {
        await wait(for: .acknowledgementAfter(chunksAcknowledged), within: limit)
    }

    /// Waits until `awaited` holds (re-checked each time a waiter is resumed), for at most `limit`.
    /// Returns whether it held. Cancelling the waiting task ends the session.
    private func wait(for awaited: Awaited, within limit: Duration) async -> Bool {
        let deadline = clock.now + limit
        let timer = Task { [weak self] in
            try? await Task.sleep(until: deadline, clock: .continuous)
            await self?.wakeEveryone()
        }
        defer { timer.cancel() }
        while !holds(awaited) {
            if Task.isCancelled {
                fail(TranscriptionError(.cancelled, provider: provider.kind, reason: "the task was cancelled"))
                return holds(awaited)
            }
            if clock.now >= deadline { return false }
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in register(awaited, continuation) }
            } onCancel: {
                Task { await self.wakeEveryone() }
            }
        }
        return true
    }

    private func wakeEveryone() {
        resumeAll(&startWaiters)
        resumeAll(&endWaiters)
        resumeAll(&ackWaiters)
    }

    private func acquireSendLock() async {
        while sendLockHeld {
            await withCheckedContinuation { sendLockWaiters.append($0) }
        }
        sendLockHeld = true
    }

    private func releaseSendLock() {
        sendLockHeld = false
        if !sendLockWaiters.isEmpty { sendLockWaiters.removeFirst().resume() }
    }

    static func seconds(_ duration: Duration) -> Double {
        let (whole, attoseconds) = duration.components
        return Double(whole) + Double(attoseconds) / 1e18
    }
}
