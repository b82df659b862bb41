import CSTTShim
import Logging
import StreamingSTTSupport

/// A `stt_conn *` handle. The channel that stores one owns one shim reference to it.
package struct ConnectionHandle: @unchecked Sendable {
    // Justification for @unchecked: the pointer is only passed to `stt_conn_*` functions, which
    // are thread-safe (they take the loop's mutex); the shim keeps the memory alive while any
    // reference is held, and the owning channel releases its reference exactly once, in deinit.
    package let raw: OpaquePointer

    package init(raw: OpaquePointer) { self.raw = raw }
}

/// The Swift side of one connection: receives the shim's events on the service thread and hands
/// them to async callers. Shared by client connections and the test server's connections.
///
/// Ownership: the shim holds a `passRetained` reference to the channel from connect (client) or
/// handshake (server) until `STT_EV_DESTROYED`, released by ``sttEventThunk``. The channel in turn
/// holds one shim reference to its `stt_conn`, released in `deinit`.
package final class WebSocketChannel: Sendable {
    private struct State {
        var handle: ConnectionHandle?
        /// How the connection ended; set before ``inbound`` is finished.
        var closure: WebSocketClosure?
        /// Counts the shim's drain events: a sender waits for the first one after its send.
        var drainGeneration = 0
        /// Finished at the next drain event (or the end) for the senders waiting for it; made by
        /// the first of them.
        var drained: HandOffQueue<Never, Never>?
        /// Finished when a sender starts waiting for a drain; made by the first
        /// ``waitUntilSenderBlocked()``.
        var senderBlocked: HandOffQueue<Never, Never>?
        var httpResponse: HTTPResponse?
        var reachedPeer = false
    }

    private let state = LockedState(State())
    /// The messages received, then the connection's end (``WebSocketClosure/endOfMessages``).
    /// Over `maxBufferedInbound` queued bytes the socket stops being read, until the reader has
    /// taken the queue down to half of it.
    private let inbound: HandOffQueue<WebSocketMessage, WebSocketError>
    /// Finished with the outcome of the handshake.
    private let connectOutcome = HandOffQueue<Never, WebSocketError>()
    /// Finished once the shim has released the connection.
    private let destroyed = HandOffQueue<Never, Never>()
    /// Finished when a client connection reaches its peer (TLS or the request has begun), or ends.
    private let peerReached = HandOffQueue<Never, Never>()
    package let logger: Logger
    /// The values that may hold a credential (header values, the query and its values).
    let secrets: [String]
    /// Takes them out of this connection's log lines and connect-failure details.
    private let scrubber: LogScrubber
    /// The loop's record of live secrets this channel is registered in, until it is destroyed.
    private let liveSecrets = LockedState<LiveSecrets?>(nil)
    private let onEstablished: (@Sendable (WebSocketChannel) -> Void)?
    private let inboundFilter: WebSocketInboundFilter?

    package init(
        logger: Logger,
        secrets: [String],
        maxBufferedInbound: Int,
        inboundFilter: WebSocketInboundFilter? = nil,
        onEstablished: (@Sendable (WebSocketChannel) -> Void)? = nil
    ) {
        self.logger = logger
        self.secrets = secrets.filter { !$0.isEmpty }
        self.scrubber = LogScrubber(secrets: self.secrets)
        // The waiting reader is resumed under the lock: the reader takes the same lock before it
        // waits again, which orders its next continuation after this resume in a way
        // ThreadSanitizer can see (the runtime's own ordering, when the reader had not suspended
        // yet, is an atomic it cannot).
        self.inbound = HandOffQueue(
            weigh: { $0.byteCount }, weightLimit: max(1, maxBufferedInbound), resumesConsumerUnderLock: true)
        self.inboundFilter = inboundFilter
        self.onEstablished = onEstablished
    }

    deinit {
        if let handle = state.withLock({ $0.handle }) { stt_conn_release(handle.raw) }
    }

    package func attach(_ handle: ConnectionHandle) {
        state.withLock { $0.handle = handle }
    }

    package var handle: ConnectionHandle? { state.withLock { $0.handle } }

    // MARK: - Events (service thread)

    /// Handles one shim event. Runs on the service thread: never blocks, never awaits.
    package func handle(_ event: stt_event) {
        switch Int(event.kind) {
        case Int(STT_EV_MESSAGE.rawValue):
            received(event)
        case Int(STT_EV_DRAINED.rawValue):
            let drained = state.withLock { state in
                state.drainGeneration &+= 1
                defer { state.drained = nil }
                return state.drained
            }
            drained?.finish()
        case Int(STT_EV_ESTABLISHED.rawValue):
            if let conn = event.conn, onEstablished != nil {
                // Server connection: the event carries a reference for us.
                attach(ConnectionHandle(raw: conn))
            }
            connectOutcome.finish(.success(()))
            onEstablished?(self)
        case Int(STT_EV_CONNECT_FAILED.rawValue):
            finish(.failed(connectError(event)))
        case Int(STT_EV_CLOSED.rawValue):
            finish(Self.closure(event))
        case Int(STT_EV_DESTROYED.rawValue):
            finish(.failed(WebSocketError(.connectionLost)))
            unregisterSecrets()
            destroyed.finish()
        case Int(STT_EV_LOG.rawValue):
            log(level: Int(event.code), line: Self.text(event))
        case Int(STT_EV_PEER_REACHED.rawValue):
            state.withLock { $0.reachedPeer = true }
            peerReached.finish()
        case Int(STT_EV_HTTP_RESPONSE.rawValue):
            let body = Array(UnsafeRawBufferPointer(start: event.data, count: event.len))
            state.withLock { $0.httpResponse = HTTPResponse(status: Int(event.status), body: body) }
            finish(.closedLocally(.normalClosure))
        default:
            break
        }
    }

    private func received(_ event: stt_event) {
        let message: WebSocketMessage
        let bytes = UnsafeBufferPointer(start: event.data, count: event.len)
        if let inboundFilter, inboundFilter(bytes.span, event.binary != 0) { return }
        if event.binary != 0 {
            message = .binary(Array(bytes))
        } else {
            message = .text(String(decoding: bytes, as: UTF8.self))
        }
        if inbound.append(message) == .queuedOverWeightLimit, let conn = event.conn {
            stt_conn_pause_reading(conn, 1)
        }
    }

    /// Records how the connection ended (first report wins) and wakes every waiter.
    private func finish(_ closure: WebSocketClosure) {
        let (final, drained) = state.withLock { state in
            if state.closure == nil { state.closure = closure }
            defer { state.drained = nil }
            return (state.closure!, state.drained)
        }
        // Each of these keeps its first result: a handshake that completed stays completed.
        connectOutcome.finish(.failure(final.error ?? WebSocketError(.connectionLost)))
        inbound.finish(final.endOfMessages)
        drained?.finish()
        peerReached.finish()
    }

    private static func text(_ event: stt_event) -> String {
        guard let data = event.data, event.len > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: data, count: event.len), as: UTF8.self)
    }

    private func connectError(_ event: stt_event) -> WebSocketError {
        let detail = scrubber.scrub(Self.text(event))
        let status = event.status == 0 ? nil : Int(event.status)
        let tls = event.tls_error == 0 ? nil : Int(event.tls_error)
        switch UInt32(event.code) {
        case STT_FAIL_REFUSED.rawValue: return WebSocketError(.connectionRefused, detail: detail)
        case STT_FAIL_TLS.rawValue: return WebSocketError(.tlsFailure, detail: detail, tlsVerifyResult: tls)
        case STT_FAIL_TIMEOUT.rawValue: return WebSocketError(.connectTimeout)
        case STT_FAIL_HTTP_STATUS.rawValue:
            return WebSocketError(.handshakeRejected, detail: detail, httpStatus: status)
        case STT_FAIL_ABORTED.rawValue: return WebSocketError(.cancelled)
        case STT_FAIL_LOOP_SHUTDOWN.rawValue: return WebSocketError(.eventLoopShutDown)
        default: return WebSocketError(.handshakeFailed, detail: detail, httpStatus: status)
        }
    }

    private static func closure(_ event: stt_event) -> WebSocketClosure {
        let frame = WebSocketCloseFrame(code: UInt16(clamping: event.status), reason: text(event))
        switch UInt32(event.code) {
        case STT_CLOSE_BY_PEER.rawValue: return .closedByPeer(frame)
        case STT_CLOSE_LOCAL.rawValue: return .closedLocally(frame)
        case STT_CLOSE_TOO_BIG.rawValue:
            return .failed(WebSocketError(.messageTooLarge, closeCode: 1009))
        case STT_CLOSE_PING_TIMEOUT.rawValue: return .failed(WebSocketError(.pingTimeout))
        case STT_CLOSE_ABORTED.rawValue: return .failed(WebSocketError(.cancelled))
        case STT_CLOSE_LOOP_SHUTDOWN.rawValue: return .failed(WebSocketError(.eventLoopShutDown))
        default: return .failed(WebSocketError(.connectionLost))
        }
    }

    /// Logs a libwebsockets line of this connection, without its secrets.
    package func log(level: Int, line: String) {
        let swiftLevel: Logger.Level = level == 1 ? .notice : .debug  // LLL_ERR == 1
        guard logger.logLevel <= swiftLevel else { return }
        let redacted = scrubber.scrub(line)
        logger.log(level: swiftLevel, "libwebsockets", metadata: ["stt.lws.line": "\(redacted)"])
    }

    /// Registers this channel's secrets in its loop's `live` record until it is destroyed, so
    /// that the loop's own log lines are scrubbed of them too.
    func registerSecrets(in live: LiveSecrets) {
        live.add(self)
        liveSecrets.withLock { $0 = live }
    }

    /// Removes this channel's secrets from its loop's record.
    func unregisterSecrets() {
        liveSecrets.withLock { live in
            defer { live = nil }
            return live
        }?.remove(self)
    }

    // MARK: - Calls from tasks

    /// Waits for the handshake to complete or fail.
    package func waitUntilEstablished() async -> Result<Void, WebSocketError> {
        if let outcome = connectOutcome.finishResult { return outcome }
        return await withTaskCancellationHandler {
            await connectOutcome.waitUntilFinished()
        } onCancel: {
            self.abort()
        }
    }

    /// The next message, `nil` after an orderly close, or the failure that ended the connection.
    package func nextMessage() async -> Result<WebSocketMessage?, WebSocketError> {
        if Task.isCancelled {
            abort()
            return .failure(WebSocketError(.cancelled))
        }
        let next = await inbound.next {
            if let handle { stt_conn_pause_reading(handle.raw, 0) }
        }
        switch next {
        case .element(let message): return .success(message)
        case .end: return .success(nil)
        case .failure(let error): return .failure(error)
        case .cancelled:
            abort()
            return .failure(WebSocketError(.cancelled))
        case .busy: return .failure(WebSocketError(.concurrentIteration))
        }
    }

    /// Queues a message; suspends while more than `limit` bytes are queued.
    package func send(
        _ bytes: UnsafeRawBufferPointer,
        binary: Bool,
        fragments: Int = 1,
        limit: Int
    ) -> (ConnectionHandle, Int, Int)? {
        guard let (handle, generation) = state.withLock({ state in state.handle.map { ($0, state.drainGeneration) } })
        else { return nil }
        let result = stt_conn_send(
            handle.raw, bytes.baseAddress, bytes.count, binary ? 1 : 0, Int32(fragments), max(0, limit))
        return (handle, Int(result), generation)
    }

    /// After `send` returned 1: waits until the queue is at or under `limit`.
    package func waitForDrain(
        handle: ConnectionHandle, generation: Int, limit: Int
    ) async -> Result<Void, WebSocketError> {
        var generation = generation
        while true {
            if Task.isCancelled {
                abort()
                return .failure(WebSocketError(.cancelled))
            }
            let closed: Bool = await withTaskCancellationHandler {
                let (drained, senderBlocked) = state.withLock { state in
                    if state.closure != nil || state.drainGeneration != generation {
                        return (HandOffQueue<Never, Never>?.none, HandOffQueue<Never, Never>?.none)
                    }
                    let drained = state.drained ?? HandOffQueue()
                    state.drained = drained
                    defer { state.senderBlocked = nil }
                    return (drained, state.senderBlocked)
                }
                senderBlocked?.finish()
                _ = await drained?.waitUntilFinished()
                return state.withLock { $0.closure != nil }
            } onCancel: {
                self.abort()
            }
            if closed { return .failure(closedError()) }
            generation = state.withLock { $0.drainGeneration }
            switch stt_conn_wait_drain(handle.raw, max(0, limit)) {
            case 0: return .success(())
            case 1: continue
            default: return .failure(closedError())
            }
        }
    }

    /// The error to report for a send on a closed connection.
    package func closedError() -> WebSocketError {
        switch state.withLock({ $0.closure }) {
        case .failed(let error): error
        case .closedByPeer(let frame): WebSocketError(.closed, detail: "closed by the peer", closeCode: frame.code)
        case .closedLocally(let frame): WebSocketError(.closed, detail: "closed locally", closeCode: frame.code)
        case nil: WebSocketError(.closed)
        }
    }

    /// Queues a close frame after everything already queued.
    package func close(_ frame: WebSocketCloseFrame) {
        guard let handle else { return }
        let reason = Self.closeReasonBytes(frame.reason)
        _ = reason.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) {
                stt_conn_close(handle.raw, Int32(frame.code), $0.baseAddress, $0.count)
            }
        }
    }

    /// The reason as UTF-8, cut to the 123 bytes a close frame allows without splitting a character.
    static func closeReasonBytes(_ reason: String) -> [UInt8] {
        let bytes = Array(reason.utf8)
        guard bytes.count > 123 else { return bytes }
        var end = 123
        while end > 0 && bytes[end] & 0xC0 == 0x80 { end -= 1 }
        return Array(bytes[..<end])
    }

    /// Drops TCP without a close frame after everything queued has been written.
    package func dropAfterQueued() {
        if let handle { _ = stt_conn_drop(handle.raw) }
    }

    /// Drops the connection without a close frame.
    package func abort() {
        if let handle { stt_conn_abort(handle.raw) }
    }

    /// Pauses or resumes reading from the socket (test server: simulate a peer that stops reading).
    package func pauseReading(_ paused: Bool) {
        if let handle { stt_conn_pause_reading(handle.raw, paused ? 1 : 0) }
    }

    /// Waits until the connection has ended.
    package func waitForClosure() async -> WebSocketClosure {
        if let closure { return closure }
        _ = await inbound.waitUntilFinished()
        return closure!  // set before the inbound queue is finished
    }

    /// Waits until a sender is suspended because the outbound queue is over its limit
    /// (for tests of backpressure).
    package func waitUntilSenderBlocked() async {
        let senderBlocked = state.withLock { state -> HandOffQueue<Never, Never>? in
            if state.drained != nil { return nil }  // a sender is waiting already
            let senderBlocked = state.senderBlocked ?? HandOffQueue()
            state.senderBlocked = senderBlocked
            return senderBlocked
        }
        _ = await senderBlocked?.waitUntilFinished()
    }

    /// Waits until a client connection has reached its peer (TCP is up, and TLS or the request has
    /// begun) or has ended; returns whether it reached its peer.
    package func waitUntilPeerReached() async -> Bool {
        _ = await peerReached.waitUntilFinished()
        return state.withLock { $0.reachedPeer }
    }

    /// Waits until the shim has released the connection (its socket is closed and its memory
    /// freed); the loop's connection count no longer includes it.
    package func waitUntilDestroyed() async {
        _ = await destroyed.waitUntilFinished()
    }

    /// Waits for the answer to a plain HTTP request, or the failure that prevented it.
    package func waitForHTTPResponse() async -> Result<HTTPResponse, WebSocketError> {
        let closure = await withTaskCancellationHandler {
            await waitForClosure()
        } onCancel: {
            self.abort()
        }
        await waitUntilDestroyed()
        if let response = state.withLock({ $0.httpResponse }) { return .success(response) }
        return .failure(closure.error ?? WebSocketError(.handshakeFailed, detail: "no HTTP response"))
    }

    /// How the connection ended, or `nil` while it is open.
    package var closure: WebSocketClosure? { state.withLock { $0.closure } }

    /// The round trip of the last keepalive ping answered; `nil` before the first.
    package var pingRoundTrip: Duration? {
        guard let handle else { return nil }
        let nanoseconds = stt_conn_ping_rtt_ns(handle.raw)
        return nanoseconds > 0 ? .nanoseconds(nanoseconds) : nil
    }

    /// Bytes queued for sending and not yet written to the socket.
    package var queuedOutboundBytes: Int {
        guard let handle else { return 0 }
        return stt_conn_queued_bytes(handle.raw)
    }
}

extension WebSocketClosure {
    /// The error, for a failed connection.
    var error: WebSocketError? {
        if case .failed(let error) = self { return error }
        return nil
    }

    /// What the message sequence ends with.
    var endOfMessages: Result<Void, WebSocketError> {
        if case .failed(let error) = self { return .failure(error) }
        return .success(())
    }
}

/// The shim's event callback: finds the channel behind `user` and balances its retain on destroy.
package let sttEventThunk: stt_event_fn = { user, event in
    guard let user, let event else { return }
    let channel = Unmanaged<WebSocketChannel>.fromOpaque(user).takeUnretainedValue()
    channel.handle(event.pointee)
    if Int(event.pointee.kind) == Int(STT_EV_DESTROYED.rawValue) {
        Unmanaged<WebSocketChannel>.fromOpaque(user).release()
    }
}
