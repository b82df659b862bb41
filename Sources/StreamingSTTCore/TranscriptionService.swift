import Dispatch
import Logging
import ServiceLifecycle
import StreamingSTTSupport
import StreamingSTTWebSocket

/// The transcriptions of a server and their event loop, as a swift-service-lifecycle `Service`:
/// in a `ServiceGroup`, a graceful shutdown (SIGTERM, with the group's signals) stops every open
/// session the way ``StreamingTranscriber/stop()`` does — the rest of its audio and the vendor's
/// end message are sent and its last finals delivered — within ``shutdownTimeout``; sessions
/// still running then end with a `timeout` error. Then the loop is shut down (unless it is
/// ``/StreamingSTTWebSocket/WebSocketEventLoop/shared``, which lives as long as the program).
///
/// ```swift
/// let transcription = TranscriptionService(eventLoop: try WebSocketEventLoop(), shutdownTimeout: .seconds(20))
/// let group = ServiceGroup(
///     services: [httpServer, transcription], gracefulShutdownSignals: [.sigterm], logger: logger)
/// // in a request handler:
/// let transcriber = await transcription.transcriber(provider: .speechmatics(options))
/// ```
///
/// List it after the HTTP server: a group shuts its services down in reverse order, so the
/// sessions end, and their last finals reach clients, while the server's connections are open.
/// Only the sessions made by ``transcriber(provider:configuration:logger:)`` are the service's.
/// Cancelling the task that runs the service (the group's cancellation) cancels them at once.
public final class TranscriptionService: Service, Sendable {
    /// The loop that services the sessions' connections.
    public let eventLoop: WebSocketEventLoop
    /// How long open sessions have, from the start of a graceful shutdown, to deliver their last
    /// finals and end.
    public let shutdownTimeout: Duration
    private let logger: Logger
    private let registry = LockedState(Registry())

    private struct Registry {
        var transcribers: [WeakTranscriber] = []
        var isShuttingDown = false
    }

    private struct WeakTranscriber {
        weak var transcriber: StreamingTranscriber?
    }

    /// Creates the service.
    /// - Parameters:
    ///   - eventLoop: the loop of its sessions; the service shuts it down when it ends, unless it
    ///     is ``/StreamingSTTWebSocket/WebSocketEventLoop/shared``.
    ///   - shutdownTimeout: how long open sessions have to end gracefully on shutdown.
    ///   - logger: receives a line when the shutdown starts and when its bound passes.
    public init(
        eventLoop: WebSocketEventLoop = .shared, shutdownTimeout: Duration = .seconds(30),
        logger: Logger = WebSocketConnection.disabledLogger
    ) {
        self.eventLoop = eventLoop
        self.shutdownTimeout = shutdownTimeout
        self.logger = logger
    }

    /// A session of this service, on its loop (it replaces the configuration's
    /// ``StreamingTranscriber/Configuration/eventLoop``). Once the shutdown has begun, the session
    /// is cancelled from the start: its ``StreamingTranscriber/start()`` throws `cancelled`.
    /// - Parameters:
    ///   - provider: the service and its options.
    ///   - configuration: timeouts, TLS, limits and the reconnection policy.
    ///   - logger: receives debug-level details; never a key, a token or a URL query.
    public func transcriber(
        provider: StreamingTranscriber.Provider, configuration: StreamingTranscriber.Configuration = .init(),
        logger: Logger = WebSocketConnection.disabledLogger
    ) async -> StreamingTranscriber {
        var configuration = configuration
        configuration.eventLoop = eventLoop
        let transcriber = StreamingTranscriber(provider: provider, configuration: configuration, logger: logger)
        let refused = registry.withLock { registry in
            registry.transcribers.removeAll { $0.transcriber == nil }
            if !registry.isShuttingDown { registry.transcribers.append(WeakTranscriber(transcriber: transcriber)) }
            return registry.isShuttingDown
        }
        if refused { await transcriber.driver.fail(.serviceShuttingDown(provider.kind)) }
        return transcriber
    }

    /// Sessions of this service that have not ended (started or not).
    public var openSessionCount: Int {
        get async {
            var count = 0
            for transcriber in registered() where await !transcriber.driver.hasEnded { count += 1 }
            return count
        }
    }

    /// Runs until a graceful shutdown (then stops every open session, within ``shutdownTimeout``)
    /// or until its task is cancelled (then cancels them); shuts the loop down before it returns.
    public func run() async throws {
        do {
            try await gracefulShutdown()
            await stopSessions()
        } catch {
            // Cancelled: no time for anything graceful.
            for transcriber in closeRegistry() { await transcriber.cancel() }
        }
        if eventLoop !== WebSocketEventLoop.shared {
            // `shutdown()` blocks until the loop's thread has stopped: not on the cooperative pool.
            await withCheckedContinuation { continuation in
                DispatchQueue.global().async { [eventLoop] in
                    eventLoop.shutdown()
                    continuation.resume()
                }
            }
        }
    }

    /// Stops every session, each as ``StreamingTranscriber/stop()`` does, and ends those still
    /// running after ``shutdownTimeout`` with a `timeout` error.
    private func stopSessions() async {
        let open = closeRegistry()
        logger.info("transcription service shutting down", metadata: ["stt.sessions": "\(open.count)"])
        let bound = shutdownTimeout
        let logger = logger
        await withTaskGroup(of: Bool.self) { group in
            for transcriber in open {
                group.addTask {
                    await transcriber.driver.stopForShutdown()
                    return true
                }
            }
            group.addTask {
                do { try await Task.sleep(for: bound) } catch { return false }
                logger.notice("transcription service shutdown bound passed", metadata: ["stt.bound": "\(bound)"])
                for transcriber in open {
                    await transcriber.driver.fail(
                        TranscriptionError(
                            .timeout, provider: transcriber.provider.kind,
                            reason: "the transcription service shut down before the session ended (bound \(bound))",
                            isRetryable: true))
                }
                return false
            }
            var stopping = open.count
            while stopping > 0, let stopped = await group.next() {
                if stopped { stopping -= 1 }
            }
            group.cancelAll()
        }
    }

    /// Refuses new sessions from now on; returns the ones alive.
    private func closeRegistry() -> [StreamingTranscriber] {
        registry.withLock { registry in
            registry.isShuttingDown = true
            return registry.transcribers.compactMap(\.transcriber)
        }
    }

    private func registered() -> [StreamingTranscriber] {
        registry.withLock { $0.transcribers.compactMap(\.transcriber) }
    }
}

extension TranscriptionDriver {
    /// Stops the transcription for a shutdown of its service: as ``stop()``, or, when it has not
    /// been started, ends it (`cancelled`) so that it cannot start any more.
    func stopForShutdown() async {
        guard case .idle = phase else {
            _ = try? await stop()
            return
        }
        fail(.serviceShuttingDown(provider.kind))
    }
}

extension TranscriptionError {
    /// A session of a ``TranscriptionService`` that is shutting down, refused before it started.
    fileprivate static func serviceShuttingDown(_ provider: ProviderKind) -> TranscriptionError {
        TranscriptionError(.cancelled, provider: provider, reason: "the transcription service is shutting down")
    }
}
