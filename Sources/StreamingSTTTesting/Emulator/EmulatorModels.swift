/// A streaming speech-to-text service that ``TranscriptionEmulator`` emulates.
public enum EmulatorVendor: String, Sendable, Hashable, CaseIterable {
    /// AssemblyAI Universal Streaming v3 (`/v3/ws`).
    case assemblyAI
    /// Speechmatics Real-Time v2 (`/v2`, `/v2/<language>`).
    case speechmatics
}

/// What the emulator knows about a session when it opens; given to
/// ``TranscriptionEmulator/Configuration/faults`` to choose the faults for that session.
public struct EmulatorSessionInfo: Sendable, Hashable {
    /// The vendor, from the request path.
    public var vendor: EmulatorVendor
    /// The session's number among all sessions of this emulator, from 0, in handshake order.
    public var index: Int
    /// The session's number among the sessions of the same vendor, from 0.
    public var vendorIndex: Int
    /// The request path without the query (`/v3/ws`, `/v2/en`).
    public var path: String
    /// The query arguments, URL-decoded, with `token` and `jwt` values masked as `***`.
    public var query: [TestWebSocketServer.Handshake.QueryItem]
    /// The handshake headers (lowercase names), with the `authorization` value masked as `***`.
    public var headers: [TestWebSocketServer.Handshake.Header]
}

/// Everything the emulator saw and did in one session, for assertions.
///
/// Secrets are masked: the `authorization` header value and `token` / `jwt` query values read
/// `***`.
public struct EmulatorSessionRecord: Sendable, Hashable {
    /// The vendor.
    public var vendor: EmulatorVendor
    /// The session's number among all sessions, from 0 (see ``EmulatorSessionInfo/index``).
    public var index: Int
    /// The request path without the query.
    public var path: String
    /// The query arguments, URL-decoded, in order, with secrets masked.
    public var query: [TestWebSocketServer.Handshake.QueryItem]
    /// The handshake headers with lowercase names, with secrets masked.
    public var headers: [TestWebSocketServer.Handshake.Header]
    /// The HTTP status the handshake was refused with, or `nil` when it was upgraded.
    public var handshakeStatus: Int?
    /// Every text message the client sent, in order.
    public var textMessagesReceived: [String] = []
    /// Every binary payload the client sent, concatenated (at most
    /// ``TranscriptionEmulator/Configuration/maxRecordedAudioBytes``; see ``audioByteCount``).
    public var audio: [UInt8] = []
    /// The total number of audio bytes received, recorded or not.
    public var audioByteCount: Int = 0
    /// The size of each binary message, in order.
    public var audioChunkSizes: [Int] = []
    /// Every protocol violation the emulator detected, each with how it answered
    /// (`"3007: Input duration violation: 20.0 ms. Expected between 50 and 1000 ms"`,
    /// `"protocol_error/1003: …"`, or `"recorded only: …"` when the vendor tolerates it).
    public var violations: [String] = []
    /// Things worth knowing that are not violations: ignored unknown query keys or fields,
    /// the faults applied.
    public var notes: [String] = []
    /// Every JSON text message the emulator sent, in order (faults' raw frames included).
    public var messagesSent: [String] = []
    /// The text of every final transcript sent, in order: AssemblyAI `Turn` messages with
    /// `end_of_turn: true` (both the unformatted and the formatted one when `format_turns=true`),
    /// Speechmatics `AddTranscript` `metadata.transcript` (empty finals included, trailing space
    /// kept).
    public var finalTranscripts: [String] = []
    /// The close code of the connection's close handshake, whoever started it; `nil` when the
    /// connection was dropped without one (or is still open).
    public var closeCode: Int?
    /// The close reason that went with ``closeCode``.
    public var closeReason: String?
    /// `true` when the client sent the first close frame.
    public var closedByClient: Bool = false
    /// `true` once the session is over and its connection released.
    public var ended: Bool = false

    /// The Speechmatics final text joined into one string, or the AssemblyAI end-of-turn texts
    /// (the formatted one when a turn has two) joined with spaces. Compare it with
    /// ``EmulatorScript/transcript``.
    public var transcript: String {
        switch vendor {
        case .speechmatics:
            return finalTranscripts.joined().trimmingTrailingSpaces()
        case .assemblyAI:
            return assemblyAITurnTexts.joined(separator: " ")
        }
    }

    /// AssemblyAI: the text of each turn once, preferring the formatted final of a turn.
    var assemblyAITurnTexts: [String] {
        var byTurn: [(order: Int, text: String, formatted: Bool)] = []
        for message in messagesSent {
            guard case .success(let json) = EmulatorJSON.parse(message), json["type"] == .string("Turn"),
                json["end_of_turn"] == .bool(true), let order = json["turn_order"]?.intValue,
                let text = json["transcript"]?.stringValue
            else { continue }
            let formatted = json["turn_is_formatted"] == .bool(true)
            if let index = byTurn.firstIndex(where: { $0.order == order }) {
                if formatted || !byTurn[index].formatted { byTurn[index] = (order, text, formatted) }
            } else {
                byTurn.append((order, text, formatted))
            }
        }
        return byTurn.map(\.text)
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var result = self
        while result.last == " " { result.removeLast() }
        return result
    }
}

/// A fault to inject into one session; chosen per session by
/// ``TranscriptionEmulator/Configuration/faults``.
///
/// "After N audio chunks" means: once the session has received and answered its N-th binary
/// message. With N = 0 the fault happens right after `Begin` / `RecognitionStarted`.
public enum EmulatorFault: Sendable, Hashable {
    /// Drops TCP without a close frame.
    case dropConnection(afterAudioChunks: Int)
    /// Closes with this code and reason, with no vendor `Error` message first.
    case close(code: Int, reason: String, afterAudioChunks: Int)
    /// Sends a text frame that is not JSON, then carries on.
    case sendMalformedJSON(afterAudioChunks: Int)
    /// Sends a well-formed message of a type the vendor does not define, then carries on.
    case sendUnknownMessage(afterAudioChunks: Int)
    /// Sends one text frame of `bytes` bytes (a JSON message of an unknown type padded to that
    /// size), then carries on.
    case sendHugeFrame(bytes: Int, afterAudioChunks: Int)
    /// Delays every message the emulator sends by this long (messages keep their order).
    case delayReplies(Duration)
    /// Stops reading from the socket, so the client's sends back up.
    case stopReading(afterAudioChunks: Int)
    /// Stops reading from the socket like ``stopReading(afterAudioChunks:)``, but goes on sending:
    /// a message of a type the vendor does not define every 200 ms, as a service that no longer
    /// reads may still send what it has (transcripts of audio it already holds). Nothing it sends
    /// answers the client's pings.
    case stopReadingButKeepSending(afterAudioChunks: Int)
    /// Refuses the WebSocket handshake with this HTTP status.
    case rejectHandshake(status: Int)
    /// Never sends `Termination` (AssemblyAI) or `EndOfTranscript` (Speechmatics); everything
    /// before it is still sent, and the session waits for the client to close.
    case neverSendFinalMessage
    /// The vendor's realistic mid-stream server error: AssemblyAI `Error` 3005
    /// "Session Cancelled: An error occurred" and close 3005; Speechmatics `Error` `job_error` and
    /// close 4013.
    case vendorError(afterAudioChunks: Int)
    /// Closes with this code before `Begin` (right after the upgrade) or `RecognitionStarted`
    /// (on `StartRecognition`), with no `Error` message.
    case closeBeforeStart(code: Int)
    /// Never sends `Begin` / `RecognitionStarted`; the session stays open and keeps reading.
    case neverStart
    /// Sends the vendor's `Warning` with this text, then carries on: AssemblyAI
    /// `{"type":"Warning","warning_code":1234,"warning":text}`, Speechmatics
    /// `{"message":"Warning","type":"emulator_warning","reason":text}`.
    case sendWarning(text: String, afterAudioChunks: Int)
}

/// A fault of the temporary-token endpoints (`GET /v3/token`, `POST /v1/api_keys`); set with
/// ``TranscriptionEmulator/Configuration/tokenFault``.
public enum EmulatorTokenFault: Sendable, Hashable {
    /// Reads each request (it counts in ``TranscriptionEmulator/tokenRequestCount``), then never
    /// answers: the connection stays open until the client gives up or the emulator shuts down.
    case neverAnswer
}

/// How the emulated AssemblyAI service behaves where the service has settings or where the
/// documentation leaves a choice.
public struct AssemblyAIBehaviour: Sendable, Hashable {
    /// Whether audio sent faster than real time is refused with `Error` 3007
    /// "Audio Transmission Rate Exceeded" (the service does this).
    public var enforceRealTime: Bool
    /// How far ahead of the wall clock (since `Begin`) the received audio may be before
    /// ``enforceRealTime`` refuses it.
    public var rateSlack: Duration
    /// The delay between `Terminate` (after the last `Turn`) and `Termination`; the service takes
    /// about 0.5–1.3 s.
    public var terminationDelay: Duration
    /// `true`: a missing or wrong key is refused with HTTP 401 at the handshake; `false` (the
    /// service's behaviour): the upgrade is accepted, then `Error` 1008 and close 1008.
    public var rejectUnauthorizedWithHTTP401: Bool
    /// The longest session when no token says less; `Begin.expires_at` is based on it, and
    /// reaching it ends the session with `Error` 3008 and close 3008. The service allows 3 h.
    public var maxSessionDuration: Duration
    /// `api_version` in `Begin.configuration`.
    public var apiVersion: String

    /// Creates a behaviour; the defaults are the service's.
    public init(
        enforceRealTime: Bool = true,
        rateSlack: Duration = .seconds(1),
        terminationDelay: Duration = .milliseconds(500),
        rejectUnauthorizedWithHTTP401: Bool = false,
        maxSessionDuration: Duration = .seconds(10800),
        apiVersion: String = "1.0.0"
    ) {
        self.enforceRealTime = enforceRealTime
        self.rateSlack = rateSlack
        self.terminationDelay = terminationDelay
        self.rejectUnauthorizedWithHTTP401 = rejectUnauthorizedWithHTTP401
        self.maxSessionDuration = maxSessionDuration
        self.apiVersion = apiVersion
    }
}

/// How the emulated Speechmatics service behaves where the service has settings or where the
/// documentation leaves a choice.
public struct SpeechmaticsBehaviour: Sendable, Hashable {
    /// How a missing or wrong key is refused.
    public enum AuthFailure: Sendable, Hashable {
        /// Refuse the handshake with this HTTP status (the SaaS answers 401).
        case httpStatus(Int)
        /// Accept the upgrade, then `Error` `not_authorised` and close 4001.
        case inBand
    }

    /// A final transcript is sent every this many seconds of received audio (the SaaS sends one
    /// about every 0.33–0.4 s, empty during silence).
    public var finalCadence: Double
    /// How far finals trail the received audio, in seconds, at most `max_delay` (the SaaS trails
    /// by about 0.7 s). Words inside this window appear in partials first.
    public var finalLatency: Double
    /// Whether an `Info` `concurrent_session_usage` message is sent right after the upgrade, as
    /// the SaaS does.
    public var sendInfoBeforeStart: Bool
    /// The quota reported in that `Info` message.
    public var concurrentSessionQuota: Int
    /// How a missing or wrong key is refused.
    public var handshakeAuthFailure: AuthFailure
    /// Whether a session beyond ``concurrentSessionQuota`` is refused (`Error` `quota_exceeded`,
    /// close 4005), as the service does.
    public var enforcesConcurrentSessionQuota: Bool
    /// The longest time without audio (the SaaS: 1 h), then `Error` `idle_timeout` and close 1008;
    /// `Warning` `idle_timeout` 15, 10 and 5 minutes before.
    public var idleTimeout: Duration
    /// The longest session (the SaaS: 48 h), then `Error` `session_timeout` and close 1008;
    /// `Warning` `session_timeout` 45, 30 and 15 minutes before.
    public var maxSessionDuration: Duration
    /// `nil`: audio is processed (and acknowledged with `AudioAdded`) as soon as it is read.
    /// A rate (1.0 = real time): each chunk is acknowledged only once that much processing time
    /// has passed since `RecognitionStarted`, so a client that sends faster than the rate sees
    /// its acknowledgements fall behind.
    public var processingRate: Double?
    /// After `EndOfTranscript`, how long the emulator waits for the client's close before closing
    /// with 1000 itself.
    public var closeGrace: Duration
    /// Whether a temporary key works for one session only (the brief's rule for tokens; the
    /// Speechmatics documentation does not say).
    public var temporaryKeysSingleUse: Bool
    /// `orchestrator_version` in `RecognitionStarted`.
    public var orchestratorVersion: String

    /// Creates a behaviour; the defaults follow the SaaS.
    public init(
        finalCadence: Double = 0.35,
        finalLatency: Double = 0.7,
        sendInfoBeforeStart: Bool = true,
        concurrentSessionQuota: Int = 150,
        handshakeAuthFailure: AuthFailure = .httpStatus(401),
        enforcesConcurrentSessionQuota: Bool = true,
        idleTimeout: Duration = .seconds(3600),
        maxSessionDuration: Duration = .seconds(48 * 3600),
        processingRate: Double? = nil,
        closeGrace: Duration = .milliseconds(500),
        temporaryKeysSingleUse: Bool = true,
        orchestratorVersion: String = "2025.08.29127+289170c022.HEAD"
    ) {
        self.finalCadence = finalCadence
        self.finalLatency = finalLatency
        self.sendInfoBeforeStart = sendInfoBeforeStart
        self.concurrentSessionQuota = concurrentSessionQuota
        self.handshakeAuthFailure = handshakeAuthFailure
        self.enforcesConcurrentSessionQuota = enforcesConcurrentSessionQuota
        self.idleTimeout = idleTimeout
        self.maxSessionDuration = maxSessionDuration
        self.processingRate = processingRate
        self.closeGrace = closeGrace
        self.temporaryKeysSingleUse = temporaryKeysSingleUse
        self.orchestratorVersion = orchestratorVersion
    }
}

/// A temporary token or key the emulator issued through its HTTP endpoint (`GET /v3/token`,
/// `POST /v1/api_keys`): the lifetimes the caller asked for, never the token itself.
public struct EmulatorTokenRequest: Sendable, Hashable {
    /// The vendor whose endpoint was called.
    public var vendor: EmulatorVendor
    /// AssemblyAI `expires_in_seconds`; `nil` for Speechmatics.
    public var expiresInSeconds: Int?
    /// AssemblyAI `max_session_duration_seconds`; `nil` when not sent, and for Speechmatics.
    public var maxSessionDurationSeconds: Int?
    /// Speechmatics `ttl`; `nil` for AssemblyAI.
    public var ttl: Int?
}
