import CSTTShim
import Dispatch
import Logging
import StreamingSTTSupport

/// One libwebsockets context and the one thread that services it.
///
/// Every connection made through a loop is serviced by that loop's single thread: thousands of
/// connections cost one thread, not one each. Most programs use ``shared``; create your own loop
/// to isolate a group of connections or to shut them all down together.
///
/// - Important: Only `lws_cancel_service` is ever called from outside the service thread; every
///   other libwebsockets call happens on it. Calls from your tasks queue work and wake it.
public final class WebSocketEventLoop: Sendable {
    /// The context; `nil` only for ``shared`` when libwebsockets could not create one.
    private let loop: LoopHandle?
    /// Why this loop has no context, then.
    private let creationFailure: WebSocketError?
    private let logSink: Unmanaged<LogSink>
    private let isShutDown = LockedState(false)
    /// Jobs of tasks that prefer this loop as their executor (see ``TaskExecutor`` conformance).
    let jobs: Unmanaged<LoopJobs>

    /// The process-wide loop, created on first use and never shut down.
    ///
    /// Its own log lines (those that belong to no connection) are discarded; lines about a
    /// connection go to that connection's logger. (A loop made with a logger sends its own lines
    /// there, scrubbed of the secrets of every connection alive on it, like a connection's.)
    /// If libwebsockets cannot create its context (no memory, no file descriptors), the program
    /// goes on: every connection through this loop then fails with
    /// ``WebSocketError/Code/eventLoopShutDown`` and the reason in its detail.
    public static let shared: WebSocketEventLoop = {
        do throws(WebSocketError) {
            return try WebSocketEventLoop()
        } catch {
            return WebSocketEventLoop(failure: error)
        }
    }()

    /// Creates a loop and starts its service thread.
    /// - Parameter logger: receives libwebsockets' own warnings and errors that belong to no
    ///   connection, scrubbed of the secrets of the connections alive on the loop.
    /// - Throws: ``WebSocketError`` with code ``WebSocketError/Code/eventLoopShutDown`` if the
    ///   context cannot be created.
    public convenience init(
        logger: Logger = Logger(label: "stt.websocket", factory: { _ in SwiftLogNoOpLogHandler() })
    )
        throws(WebSocketError)
    {
        try self.init(logger: logger) { options, error, errorLength in
            stt_loop_create(options, error, errorLength)
        }
    }

    /// Creates a loop whose `stt_loop *` comes from `create`, given the options this loop fills in
    /// (its event, log and idle callbacks) and an error buffer. The test server passes its own
    /// creation function (a listening loop), so that only it links the server code.
    package init(
        logger: Logger,
        create: (UnsafePointer<stt_loop_options>, UnsafeMutablePointer<CChar>, Int) -> OpaquePointer?
    ) throws(WebSocketError) {
        let sink = Unmanaged.passRetained(LogSink(logger: logger))
        let jobs = Unmanaged.passRetained(LoopJobs())
        var options = stt_loop_options()
        options.on_event = sttEventThunk
        options.on_log = logThunk
        options.log_user = sink.toOpaque()
        options.on_idle = idleThunk
        options.idle_user = jobs.toOpaque()
        var error = [CChar](repeating: 0, count: 256)
        let errorLength = error.count
        guard let raw = create(&options, &error, errorLength) else {
            sink.release()
            jobs.release()
            throw WebSocketError(.eventLoopShutDown, detail: cStringText(error))
        }
        self.loop = LoopHandle(raw: raw)
        self.creationFailure = nil
        self.logSink = sink
        self.jobs = jobs
        jobs.takeUnretainedValue().attach(loop: LoopHandle(raw: raw), executor: UnownedTaskExecutor(ordinary: self))
    }

    /// A loop without a context, because creating one failed with `failure`: shut down from the
    /// start (connections fail with `failure`, jobs of tasks that prefer it run on the global
    /// executor).
    package init(failure: WebSocketError) {
        self.loop = nil
        self.creationFailure = WebSocketError(
            .eventLoopShutDown, detail: "libwebsockets could not create its context: \(failure.detail)")
        self.logSink = Unmanaged.passRetained(
            LogSink(logger: Logger(label: "stt.websocket", factory: { _ in SwiftLogNoOpLogHandler() })))
        self.jobs = Unmanaged.passRetained(LoopJobs())
        isShutDown.withLock { $0 = true }
        jobs.takeUnretainedValue().stop()
    }

    /// The error of a connection attempt on this loop once it is shut down (or never had a context).
    package var shutDownError: WebSocketError { creationFailure ?? WebSocketError(.eventLoopShutDown) }

    deinit {
        shutdown()
        logSink.release()
        jobs.release()
    }

    /// Closes every connection of this loop (without close frames: their message sequences end
    /// with ``WebSocketError/Code/eventLoopShutDown``), stops the service thread and frees the
    /// context. Blocks until done; calling it again does nothing.
    public func shutdown() {
        let first = isShutDown.withLock { done in
            defer { done = true }
            return !done
        }
        guard first, let loop else { return }
        if stt_loop_is_service_thread(loop.raw) != 0 {
            // From a job running on this loop's own thread, which cannot wait for itself: the
            // loop is destroyed from another thread, which keeps what it uses alive until then.
            let (jobs, logSink) = (self.jobs.retain(), self.logSink.retain())
            jobs.takeUnretainedValue().stop()
            DispatchQueue.global().async {
                stt_loop_destroy(loop.raw)
                jobs.takeUnretainedValue().forwardRemaining()
                jobs.release()
                logSink.release()
            }
            return
        }
        // From now on jobs go to the global executor; the ones still queued follow them once the
        // service thread has stopped.
        jobs.takeUnretainedValue().stop()
        stt_loop_destroy(loop.raw)
        jobs.takeUnretainedValue().forwardRemaining()
    }

    /// Connections alive on this loop: connecting, open or closing.
    public var connectionCount: Int {
        guard let loop, !isShutDown.withLock({ $0 }) else { return 0 }
        return Int(stt_loop_connection_count(loop.raw))
    }

    /// Whether the calling thread is this loop's service thread.
    package var isServiceThread: Bool { loop.map { stt_loop_is_service_thread($0.raw) != 0 } ?? false }

    /// Starts a client connection bound to `channel`; `nil` when the loop is shut down.
    package func connect(_ parameters: inout stt_connect_params, channel: WebSocketChannel) -> ConnectionHandle? {
        guard let loop, !isShutDown.withLock({ $0 }) else { return nil }
        // Before the connection exists: its first log line may come before `stt_conn_connect`
        // returns, and it is unregistered when destroyed.
        channel.registerSecrets(in: logSink.takeUnretainedValue().liveSecrets)
        let user = Unmanaged.passRetained(channel)
        guard let raw = stt_conn_connect(loop.raw, &parameters, user.toOpaque()) else {
            channel.unregisterSecrets()
            user.release()
            return nil
        }
        return ConnectionHandle(raw: raw)
    }
}

/// The `stt_loop *` of a loop.
struct LoopHandle: @unchecked Sendable {
    // Justification for @unchecked: `stt_loop_*` functions are thread-safe; the loop frees the
    // pointer only in `stt_loop_destroy`, called once from `shutdown()`.
    let raw: OpaquePointer
}

/// Receives libwebsockets log lines that belong to no connection, and scrubs them of the
/// secrets of the loop's live connections.
private final class LogSink: Sendable {
    let logger: Logger
    let liveSecrets = LiveSecrets()
    init(logger: Logger) { self.logger = logger }
}

private let logThunk: stt_log_fn = { user, level, line in
    guard let user, let line else { return }
    let sink = Unmanaged<LogSink>.fromOpaque(user).takeUnretainedValue()
    let swiftLevel: Logger.Level = level == 1 ? .notice : .debug  // LLL_ERR == 1
    guard sink.logger.logLevel <= swiftLevel else { return }
    let scrubbed = sink.liveSecrets.scrub(String(cString: line))
    sink.logger.log(level: swiftLevel, "libwebsockets", metadata: ["stt.lws.line": "\(scrubbed)"])
}

/// The text of a NUL-terminated C buffer.
func cStringText(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
