import Foundation
import Logging
import StreamingSTTSupport
import StreamingSTTWebSocket

/// An in-process emulator of AssemblyAI Universal Streaming v3 and Speechmatics Real-Time v2,
/// with both vendors' temporary-token endpoints, for testing speech-to-text clients offline.
///
/// One server on 127.0.0.1 (a kernel-chosen port, `ws://` or `wss://`) serves both vendors by
/// path: `/v3/ws` is AssemblyAI, `/v2`, `/v2/` and `/v2/<language>` are Speechmatics,
/// `GET /v3/token` and `POST /v1/api_keys?type=rt` mint temporary tokens.
///
/// The emulator is strict: it checks what the real services check (authentication, query
/// parameters, the `StartRecognition` schema, message order, audio chunk durations, sending faster
/// than real time, `last_seq_no`, one-use tokens) and answers a violation the way the service does,
/// with the vendor's `Error` message and close code, or an HTTP status at the handshake. It
/// transcribes from an ``EmulatorScript``: words are released as the received audio's duration
/// passes their times, in each vendor's message shapes, so a test knows the exact transcript to
/// expect. Everything a session received and sent is recorded (``sessions``), and faults can be
/// injected per session (``EmulatorFault``).
///
/// ```swift
/// let emulator = try TranscriptionEmulator(configuration: .init(
///     script: EmulatorScript(text: "Hello world. How are you?")))
/// defer { emulator.shutdown() }
/// // Point your client at emulator.assemblyAIURL with "Authorization: emulator-key",
/// // send 16 kHz pcm_s16le audio (silence is fine) in 50 ms chunks, then Terminate.
/// let records = await emulator.waitForSessions(count: 1)
/// #expect(records[0].transcript == "Hello world. How are you?")
/// #expect(records[0].violations.isEmpty)
/// ```
///
/// See `Docs/Emulator.md` for every behaviour and the choices made where the vendors'
/// documentation is silent.
public final class TranscriptionEmulator: Sendable {
    /// What the emulator accepts, says and breaks. Every setting has a default.
    public struct Configuration: Sendable {
        /// Serve `wss://` and `https://` with this authority's certificate; `nil` for `ws://` and
        /// `http://`.
        public var tls: TestCertificateAuthority?
        /// The API keys accepted: AssemblyAI's raw `Authorization: <key>`, Speechmatics'
        /// `Authorization: Bearer <key>`, and both token endpoints.
        public var apiKeys: Set<String>
        /// What is said in the audio of every session.
        public var script: EmulatorScript
        /// AssemblyAI settings (real-time pacing, termination delay…).
        public var assemblyAI: AssemblyAIBehaviour
        /// Speechmatics settings (final cadence, `Info` before start, handshake auth failure…).
        public var speechmatics: SpeechmaticsBehaviour
        /// The faults for each session, chosen when its handshake arrives. Runs on the server's
        /// thread: keep it quick.
        public var faults: @Sendable (EmulatorSessionInfo) -> [EmulatorFault]
        /// The most audio bytes recorded per session (the count goes on in
        /// ``EmulatorSessionRecord/audioByteCount``).
        public var maxRecordedAudioBytes: Int
        /// The most messages recorded per session and direction.
        public var maxRecordedMessages: Int
        /// Adds `"emulator_sent_at_ns": "<nanoseconds>"` to every transcript message (AssemblyAI
        /// `Turn`, Speechmatics `AddTranscript` and `AddPartialTranscript`): `CLOCK_MONOTONIC`
        /// read just before the message is handed to the connection, as a decimal string. It shows
        /// in the client's `Transcript.raw`, so a client on the same machine (in any process:
        /// `CLOCK_MONOTONIC` is system-wide) can measure how long a transcript took to reach it.
        /// Off by default: the real services send no such field. `stt-benchmark latency` uses it.
        public var stampsTranscripts: Bool
        /// Receives libwebsockets' lines about the server.
        public var logger: Logger
        /// The receive buffer (`SO_RCVBUF`) of each accepted socket; `nil` (the default) for the
        /// system's. A few KiB with ``EmulatorFault/stopReading(afterAudioChunks:)`` make the
        /// client's sends block soon, as against a peer that stalled.
        public var receiveBufferSize: Int?
        /// A fault of both temporary-token endpoints; `nil` (the default) for none.
        public var tokenFault: EmulatorTokenFault? = nil
        /// What is said in one session's audio, chosen when its handshake arrives, instead of
        /// ``script``; `nil` (the default) or a `nil` answer: ``script``. For one session per
        /// channel (AssemblyAI multichannel, whose sessions cannot say which channel they carry):
        /// `{ script.channel($0.vendorIndex) }` gives the n-th session the n-th channel's words.
        public var sessionScript: (@Sendable (EmulatorSessionInfo) -> EmulatorScript?)? = nil

        /// Creates a configuration.
        ///
        /// - Parameters:
        ///   - tls: `nil` for plain `ws://` / `http://`.
        ///   - apiKeys: the accepted keys; `["emulator-key"]` by default.
        ///   - script: what is said; by default "Hello world. How are you?".
        ///   - assemblyAI: AssemblyAI behaviour; the service's defaults.
        ///   - speechmatics: Speechmatics behaviour; the SaaS defaults.
        ///   - maxRecordedAudioBytes: 32 MiB by default.
        ///   - maxRecordedMessages: 100 000 by default.
        ///   - stampsTranscripts: `false` by default (see ``stampsTranscripts``).
        ///   - logger: logs nothing by default.
        ///   - receiveBufferSize: the system's by default.
        ///   - faults: none by default.
        public init(
            tls: TestCertificateAuthority? = nil,
            apiKeys: Set<String> = ["emulator-key"],
            script: EmulatorScript = EmulatorScript(text: "Hello world. How are you?"),
            assemblyAI: AssemblyAIBehaviour = .init(),
            speechmatics: SpeechmaticsBehaviour = .init(),
            maxRecordedAudioBytes: Int = 32 << 20,
            maxRecordedMessages: Int = 100_000,
            stampsTranscripts: Bool = false,
            logger: Logger = WebSocketConnection.disabledLogger,
            receiveBufferSize: Int? = nil,
            faults: @escaping @Sendable (EmulatorSessionInfo) -> [EmulatorFault] = { _ in [] }
        ) {
            self.tls = tls
            self.apiKeys = apiKeys
            self.script = script
            self.assemblyAI = assemblyAI
            self.speechmatics = speechmatics
            self.maxRecordedAudioBytes = maxRecordedAudioBytes
            self.maxRecordedMessages = maxRecordedMessages
            self.stampsTranscripts = stampsTranscripts
            self.logger = logger
            self.receiveBufferSize = receiveBufferSize
            self.faults = faults
        }
    }

    private let server: TestWebSocketServer
    private let core: EmulatorCore

    /// Starts the emulator on 127.0.0.1 with a kernel-chosen port.
    /// - Throws: ``TestServerError`` if the server cannot listen.
    public init(configuration: Configuration = .init()) throws(TestServerError) {
        let core = EmulatorCore(configuration: configuration)
        self.core = core
        server = try TestWebSocketServer(
            tls: configuration.tls,
            recordedCustomHeaders: ["assemblyai-version", "x-request-id"],
            receiveBufferSize: configuration.receiveBufferSize,
            logger: configuration.logger,
            handshakePolicy: .custom { core.decide($0) },
            httpHandler: .init { await core.http($0) },
            { await core.handle($0) })
    }

    deinit { server.shutdown() }

    /// The port the emulator listens on.
    public var port: Int { server.port }

    /// `true` when serving `wss://` and `https://`.
    public var isSecure: Bool { server.isSecure }

    private var wsScheme: String { isSecure ? "wss" : "ws" }
    private var httpScheme: String { isSecure ? "https" : "http" }

    /// The AssemblyAI streaming URL, `ws(s)://127.0.0.1:PORT/v3/ws` (add your query).
    public var assemblyAIURL: String { "\(wsScheme)://127.0.0.1:\(port)/v3/ws" }
    /// The Speechmatics real-time URL, `ws(s)://127.0.0.1:PORT/v2`.
    public var speechmaticsURL: String { "\(wsScheme)://127.0.0.1:\(port)/v2" }
    /// The AssemblyAI token endpoint, `http(s)://127.0.0.1:PORT/v3/token` (add
    /// `?expires_in_seconds=…`).
    public var assemblyAITokenURL: String { "\(httpScheme)://127.0.0.1:\(port)/v3/token" }
    /// The Speechmatics temporary-key endpoint, `http(s)://127.0.0.1:PORT/v1/api_keys?type=rt`.
    public var speechmaticsTokenURL: String { "\(httpScheme)://127.0.0.1:\(port)/v1/api_keys?type=rt" }

    /// Every session so far, in handshake order, including handshakes refused with an HTTP
    /// status (see ``EmulatorSessionRecord/handshakeStatus``) and sessions still running.
    public var sessions: [EmulatorSessionRecord] { core.records }

    /// Waits until at least `count` sessions have ended, then returns every session so far.
    /// Returns early (with what there is) if the waiting task is cancelled.
    public func waitForSessions(count: Int) async -> [EmulatorSessionRecord] {
        await core.waitForEnded(count: count)
        return core.records
    }

    /// The tokens issued through the token endpoints so far, in order (what the caller asked for).
    public var tokenRequests: [EmulatorTokenRequest] { core.tokenRequests.withLock { $0 } }

    /// The number of requests the temporary-token endpoints have received so far (both vendors,
    /// answered or not).
    public var tokenRequestCount: Int { core.tokenRequestCount }

    /// Waits until the temporary-token endpoints have received at least `count` requests (see
    /// ``tokenRequestCount``). Returns early if the waiting task is cancelled or the emulator
    /// shuts down.
    public func waitForTokenRequests(count: Int) async {
        await core.waitForTokenRequests(count: count)
    }

    /// Mints an AssemblyAI temporary token directly (the same as `GET /v3/token`).
    public func makeAssemblyAIToken(expiresInSeconds: Int = 60, maxSessionDurationSeconds: Int? = nil) -> String {
        core.tokens.issue(
            vendor: .assemblyAI, ttl: expiresInSeconds, maxSessionSeconds: maxSessionDurationSeconds)
    }

    /// Mints a Speechmatics temporary key directly (the same as `POST /v1/api_keys?type=rt`).
    public func makeSpeechmaticsTemporaryKey(ttl: Int = 60) -> String {
        core.tokens.issue(
            vendor: .speechmatics, ttl: ttl, singleUse: core.configuration.speechmatics.temporaryKeysSingleUse)
    }

    /// Drops every connection and stops the server. Blocks until done.
    public func shutdown() {
        server.shutdown()
        core.shutDown()
    }
}

/// The emulator's shared state; reached from the server's callbacks.
final class EmulatorCore: Sendable {
    let configuration: TranscriptionEmulator.Configuration
    let tokens = TokenStore()
    /// The tokens issued through the HTTP endpoints (``TranscriptionEmulator/tokenRequests``).
    let tokenRequests = LockedState<[EmulatorTokenRequest]>([])

    private struct Pending: Sendable {
        var info: EmulatorSessionInfo
        var faults: [EmulatorFault]
        var recorder: SessionRecorder
    }

    private struct State {
        var recorders: [SessionRecorder] = []
        var nextIndex = 0
        var vendorCounts: [EmulatorVendor: Int] = [:]
        var pending: [TestWebSocketServer.Handshake: [Pending]] = [:]
        var activeSpeechmatics = 0
        var waiters: [Int: Waiter] = [:]
        var tokenRequests = 0
        var tokenWaiters: [Int: Waiter] = [:]
        var nextWaiter = 0
        var shutDown = false
    }

    /// A parked caller: the count it waits for, and how to wake it.
    private typealias Waiter = (count: Int, continuation: CheckedContinuation<Void, Never>)

    private let state = LockedState(State())

    init(configuration: TranscriptionEmulator.Configuration) {
        self.configuration = configuration
    }

    var records: [EmulatorSessionRecord] {
        state.withLock { $0.recorders }.map(\.snapshot)
    }

    // MARK: - Routing

    static func vendor(forPath path: String) -> EmulatorVendor? {
        if path == "/v3/ws" { return .assemblyAI }
        if path == "/v2" || path == "/v2/" { return .speechmatics }
        if path.hasPrefix("/v2/") {
            let language = path.dropFirst(4)
            if !language.isEmpty, !language.contains("/") { return .speechmatics }
        }
        return nil
    }

    static func masked(
        _ handshake: TestWebSocketServer.Handshake
    ) -> (
        query: [TestWebSocketServer.Handshake.QueryItem], headers: [TestWebSocketServer.Handshake.Header]
    ) {
        let query = handshake.query.map { item in
            var item = item
            if ["token", "jwt", "webhook_auth_header_value"].contains(item.name) { item.value = "***" }
            return item
        }
        let headers = handshake.headers.map { header in
            var header = header
            if header.name == "authorization" { header.value = "***" }
            return header
        }
        return (query, headers)
    }

    /// Runs on the server's thread for each handshake.
    func decide(_ handshake: TestWebSocketServer.Handshake) -> TestWebSocketServer.Decision {
        guard let vendor = Self.vendor(forPath: handshake.path) else { return .reject(status: 404) }
        let (query, headers) = Self.masked(handshake)
        let (index, vendorIndex) = state.withLock { state in
            defer {
                state.nextIndex += 1
                state.vendorCounts[vendor, default: 0] += 1
            }
            return (state.nextIndex, state.vendorCounts[vendor, default: 0])
        }
        let info = EmulatorSessionInfo(
            vendor: vendor, index: index, vendorIndex: vendorIndex, path: handshake.path, query: query,
            headers: headers)
        let faults = configuration.faults(info)
        let recorder = SessionRecorder(
            record: EmulatorSessionRecord(
                vendor: vendor, index: index, path: handshake.path, query: query, headers: headers),
            maxAudioBytes: configuration.maxRecordedAudioBytes, maxMessages: configuration.maxRecordedMessages)
        for fault in faults where fault != .neverSendFinalMessage && fault != .neverStart {
            recorder.note("fault planned: \(fault)")
        }

        var rejection: Int?
        for case .rejectHandshake(let status) in faults { rejection = status }
        if rejection == nil {
            switch vendor {
            case .assemblyAI:
                if configuration.assemblyAI.rejectUnauthorizedWithHTTP401, !assemblyAICredentialsLookValid(handshake) {
                    recorder.violation("HTTP 401: missing or invalid AssemblyAI credentials")
                    rejection = 401
                }
            case .speechmatics:
                if case .httpStatus(let status) = configuration.speechmatics.handshakeAuthFailure,
                    !speechmaticsCredentialsLookValid(handshake)
                {
                    recorder.violation("HTTP \(status): missing or invalid Speechmatics credentials")
                    rejection = status
                }
            }
        }
        if let rejection {
            recorder.update {
                $0.handshakeStatus = rejection
                $0.ended = true
            }
            add(recorder, ended: true)
            return .reject(status: rejection)
        }
        add(recorder, ended: false)
        state.withLock { state in
            state.pending[handshake, default: []].append(Pending(info: info, faults: faults, recorder: recorder))
        }
        return .accept
    }

    private func add(_ recorder: SessionRecorder, ended: Bool) {
        let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.recorders.append(recorder)
            return ended ? Self.readyWaiters(&state) : []
        }
        for waiter in ready { waiter.resume() }
    }

    func assemblyAICredentialsLookValid(_ handshake: TestWebSocketServer.Handshake) -> Bool {
        if let header = handshake.header("authorization"),
            configuration.apiKeys.contains(header) || tokens.isValid(header, vendor: .assemblyAI)
        {
            return true
        }
        if let token = handshake.queryValues("token").last { return tokens.isValid(token, vendor: .assemblyAI) }
        return false
    }

    /// The key from `Authorization: Bearer <key>`, or `nil`.
    static func bearer(_ handshake: TestWebSocketServer.Handshake) -> String? {
        guard let header = handshake.header("authorization") else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return parts[1].trimmingCharacters(in: .whitespaces)
    }

    func speechmaticsCredentialsLookValid(_ handshake: TestWebSocketServer.Handshake) -> Bool {
        if let key = Self.bearer(handshake),
            configuration.apiKeys.contains(key) || tokens.isValid(key, vendor: .speechmatics)
        {
            return true
        }
        if let jwt = handshake.queryValues("jwt").last { return tokens.isValid(jwt, vendor: .speechmatics) }
        return false
    }

    // MARK: - Sessions

    func handle(_ connection: TestWebSocketServer.Connection) async {
        let pending = state.withLock { state -> Pending? in
            guard var list = state.pending[connection.handshake], !list.isEmpty else { return nil }
            let first = list.removeFirst()
            state.pending[connection.handshake] = list.isEmpty ? nil : list
            return first
        }
        guard let pending else {
            await connection.close(WebSocketCloseFrame(code: 1011, reason: "internal_error"))
            return
        }
        let io = SessionIO(
            connection: connection, recorder: pending.recorder, faults: pending.faults,
            stampsTranscripts: configuration.stampsTranscripts)
        var configuration = configuration
        if let script = configuration.sessionScript?(pending.info) { configuration.script = script }
        switch pending.info.vendor {
        case .assemblyAI:
            await AssemblyAISession(
                io: io, handshake: connection.handshake, configuration: configuration, tokens: tokens
            )
            .run()
        case .speechmatics:
            let usage = state.withLock { state in
                state.activeSpeechmatics += 1
                return state.activeSpeechmatics
            }
            await SpeechmaticsSession(
                io: io, handshake: connection.handshake, configuration: configuration, tokens: tokens,
                concurrentSessions: usage
            ).run()
            state.withLock { $0.activeSpeechmatics -= 1 }
        }
        let closure = await connection.closed()
        pending.recorder.update { record in
            switch closure {
            case .closedByPeer(let frame):
                record.closeCode = Int(frame.code)
                record.closeReason = frame.reason
                record.closedByClient = true
            case .closedLocally(let frame):
                record.closeCode = Int(frame.code)
                record.closeReason = frame.reason
            case .failed:
                break
            }
            record.ended = true
        }
        let ready = state.withLock { Self.readyWaiters(&$0) }
        for waiter in ready { waiter.resume() }
    }

    private static func readyWaiters(_ state: inout State) -> [CheckedContinuation<Void, Never>] {
        let ended = state.recorders.filter(\.ended).count
        var ready: [CheckedContinuation<Void, Never>] = []
        for (id, waiter) in state.waiters where waiter.count <= ended || state.shutDown {
            ready.append(waiter.continuation)
            state.waiters[id] = nil
        }
        return ready
    }

    func waitForEnded(count: Int) async {
        await wait(in: \.waiters, count: count) { state in state.recorders.filter(\.ended).count >= count }
    }

    /// Parks the caller in `waiters` (under `count`, for the code that wakes it) until `reached`
    /// holds, the emulator shuts down or the task is cancelled.
    private func wait(
        in waiters: any WritableKeyPath<State, [Int: Waiter]> & Sendable, count: Int,
        until reached: @escaping @Sendable (State) -> Bool
    ) async {
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> Bool in
                    if Task.isCancelled || state.shutDown || reached(state) { return true }
                    state[keyPath: waiters][id] = (count, continuation)
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0[keyPath: waiters].removeValue(forKey: id) }
            waiter?.continuation.resume()
        }
    }

    func shutDown() {
        let waiters = state.withLock { state in
            state.shutDown = true
            defer {
                state.waiters.removeAll()
                state.tokenWaiters.removeAll()
            }
            return state.waiters.values.map(\.continuation) + state.tokenWaiters.values.map(\.continuation)
        }
        for waiter in waiters { waiter.resume() }
    }

    var tokenRequestCount: Int { state.withLock { $0.tokenRequests } }

    /// Counts a token request and wakes the waiters it satisfies.
    private func countTokenRequest() {
        let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.tokenRequests += 1
            let count = state.tokenRequests
            let due = state.tokenWaiters.filter { $0.value.count <= count }
            for id in due.keys { state.tokenWaiters[id] = nil }
            return due.values.map(\.continuation)
        }
        for waiter in ready { waiter.resume() }
    }

    func waitForTokenRequests(count: Int) async {
        await wait(in: \.tokenWaiters, count: count) { state in state.tokenRequests >= count }
    }

    /// Never returns before the task is cancelled (the server cancels it when it shuts down).
    private static func untilCancelled() async {
        let (stream, continuation) = AsyncStream<Void>.makeStream()
        for await _ in stream {}  // ends when the task is cancelled
        continuation.finish()
    }

    // MARK: - HTTP

    func http(_ request: TestWebSocketServer.HTTPRequest) async -> TestWebSocketServer.HTTPResponse {
        let isTokenRequest = request.path == "/v3/token" || request.path == "/v1/api_keys"
        if isTokenRequest { countTokenRequest() }
        if isTokenRequest, configuration.tokenFault == .neverAnswer {
            await Self.untilCancelled()
            return Self.json(503, .obj(["error": .string("Service Unavailable")]))
        }
        switch request.path {
        case "/v3/token": return assemblyAIToken(request)
        case "/v1/api_keys": return speechmaticsKey(request)
        default: return Self.json(404, .obj(["error": .string("Not Found")]))
        }
    }

    struct TokenRequestError: Error {
        var message: String
    }

    static func json(_ status: Int, _ body: EmulatorJSON) -> TestWebSocketServer.HTTPResponse {
        TestWebSocketServer.HTTPResponse(
            status: status, headers: [("content-type", "application/json")], body: Array(body.text.utf8))
    }

    /// `GET /v3/token?expires_in_seconds=1..600[&max_session_duration_seconds=60..10800]`.
    private func assemblyAIToken(_ request: TestWebSocketServer.HTTPRequest) -> TestWebSocketServer.HTTPResponse {
        guard request.method == "GET" else { return Self.json(405, .obj(["error": .string("Method Not Allowed")])) }
        guard let key = request.header("authorization"), configuration.apiKeys.contains(key) else {
            return Self.json(401, .obj(["error": .string("Authentication error, API token missing/invalid")]))
        }
        func integer(_ name: String, _ range: ClosedRange<Int>, required: Bool) -> Result<Int?, TokenRequestError> {
            let values = request.query.filter { $0.name == name }.map(\.value)
            guard let value = values.last else {
                return required ? .failure(TokenRequestError(message: "\(name) is required")) : .success(nil)
            }
            guard values.count == 1, let number = Int(value) else {
                return .failure(TokenRequestError(message: "\(name) must be an integer"))
            }
            guard range.contains(number) else {
                return .failure(
                    TokenRequestError(message: "\(name) must be between \(range.lowerBound) and \(range.upperBound)"))
            }
            return .success(number)
        }
        let expires: Int
        switch integer("expires_in_seconds", 1...600, required: true) {
        case .failure(let error): return Self.json(400, .obj(["error": .string(error.message)]))
        case .success(let value): expires = value ?? 60
        }
        let maxDuration: Int?
        switch integer("max_session_duration_seconds", 60...10800, required: false) {
        case .failure(let error): return Self.json(400, .obj(["error": .string(error.message)]))
        case .success(let value): maxDuration = value
        }
        let token = tokens.issue(vendor: .assemblyAI, ttl: expires, maxSessionSeconds: maxDuration)
        tokenRequests.withLock {
            $0.append(.init(vendor: .assemblyAI, expiresInSeconds: expires, maxSessionDurationSeconds: maxDuration))
        }
        return Self.json(200, .obj(["token": .string(token), "expires_in_seconds": .int(expires)]))
    }

    /// `POST /v1/api_keys?type=rt` with `Authorization: Bearer <key>` and `{"ttl": 60..86400}`.
    private func speechmaticsKey(_ request: TestWebSocketServer.HTTPRequest) -> TestWebSocketServer.HTTPResponse {
        guard request.method == "POST" else {
            return Self.json(405, .obj(["code": .int(405), "error": .string("Method Not Allowed")]))
        }
        let bearer = request.header("authorization").flatMap { header -> String? in
            let parts = header.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
            return String(parts[1])
        }
        guard let bearer, configuration.apiKeys.contains(bearer) else {
            return Self.json(401, .obj(["code": .int(401), "error": .string("Permission Denied")]))
        }
        let type = request.query.last { $0.name == "type" }?.value ?? "batch"
        guard ["batch", "rt", "tts", "flow"].contains(type) else {
            return Self.json(
                422, .obj(["code": .int(422), "error": .string("type in query should be one of [batch rt tts flow]")]))
        }
        guard case .success(let body) = EmulatorJSON.parse(String(decoding: request.body, as: UTF8.self)),
            body.isObject
        else {
            return Self.json(422, .obj(["code": .int(422), "error": .string("the body must be a JSON object")]))
        }
        guard let ttlValue = body["ttl"] else {
            return Self.json(422, .obj(["code": .int(422), "error": .string("ttl in body is required")]))
        }
        guard case .int(let ttl) = ttlValue else {
            return Self.json(422, .obj(["code": .int(422), "error": .string("ttl in body must be of type integer")]))
        }
        guard ttl >= 60 else {
            return Self.json(
                422, .obj(["code": .int(422), "error": .string("ttl in body should be greater than or equal to 60")]))
        }
        guard ttl <= 86400 else {
            return Self.json(
                422, .obj(["code": .int(422), "error": .string("ttl in body should be less than or equal to 86400")]))
        }
        let key = tokens.issue(
            vendor: .speechmatics, ttl: ttl, realtime: type == "rt",
            singleUse: configuration.speechmatics.temporaryKeysSingleUse)
        tokenRequests.withLock { $0.append(.init(vendor: .speechmatics, ttl: ttl)) }
        return Self.json(201, .obj(["apikey_id": .null, "key_value": .string(key)]))
    }
}
