import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import StreamingSTTCore
import StreamingSTTTesting
import StreamingSTTWebSocket
import Synchronization
import Testing
import TranscriptionRelay

/// The vendor key the emulator accepts; it must never reach a client or a log line.
let vendorKey = "vendor-key-7f3a91c2-never-leaves-the-server"
/// The client tokens the relay accepts.
let clientToken = "client-token-alpha"
let secondClientToken = "client-token-beta"
let thirdClientToken = "client-token-gamma"

/// One certificate authority for every test in the process (the emulator serves TLS with it).
let sharedAuthority: TestCertificateAuthority = {
    try! TestCertificateAuthority.generate(names: ["localhost", "127.0.0.1"])
}()

/// What the emulator "hears" in every session.
let script = EmulatorScript(
    text: "Hello world. Streaming through the relay.", startingAt: 0.3, wordDuration: 0.25, gap: 0.05,
    sentenceGap: 0.8)

struct TimeoutError: Error, CustomStringConvertible {
    var description: String { "timed out" }
}

/// Runs `body`, failing with ``TimeoutError`` after `limit`, even when `body` ignores
/// cancellation (awaiting a task's value, a connection's end): the caller never waits for `body`
/// past `limit`, which is then cancelled and left to end on its own. A task group cannot do this,
/// as it waits for every child before it returns; so `body` runs in a task of its own.
func withTimeout<T: Sendable>(
    _ limit: Duration = .seconds(30), _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    let (outcome, continuation) = AsyncThrowingStream.makeStream(of: T.self)
    let work = Task {
        do {
            continuation.yield(try await body())
            continuation.finish()
        } catch {
            continuation.finish(throwing: error)
        }
    }
    let timer = Task {
        try? await Task.sleep(for: limit)
        continuation.finish(throwing: TimeoutError())
    }
    defer {
        work.cancel()
        timer.cancel()
    }
    var results = outcome.makeAsyncIterator()
    guard let value = try await results.next() else { throw CancellationError() }
    return value
}

/// Keeps every log entry, rendered with its metadata, so a test can search them.
final class LogRecorder: Sendable {
    private let entries = Mutex<[String]>([])

    var lines: [String] { entries.withLock { $0 } }

    func append(_ line: String) { entries.withLock { $0.append(line) } }

    func logger(label: String = "stt-server-test") -> Logger {
        var logger = Logger(label: label) { _ in RecordingHandler(recorder: self) }
        logger.logLevel = .trace
        return logger
    }

    struct RecordingHandler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(
            level: Logger.Level, message: Logger.Message, metadata extra: Logger.Metadata?, source: String,
            file: String, function: String, line: UInt
        ) {
            let all = self.metadata.merging(extra ?? [:]) { $1 }
            recorder.append("\(level) \(message) \(all)")
        }
    }
}

/// The emulator over TLS, with the relay's vendor key.
func makeEmulator(terminationDelay: Duration = .milliseconds(20)) throws -> TranscriptionEmulator {
    try TranscriptionEmulator(
        configuration: .init(
            tls: sharedAuthority, apiKeys: [vendorKey], script: script,
            assemblyAI: .init(enforceRealTime: false, terminationDelay: terminationDelay)))
}

/// A relay configuration pointing at `emulator` for both vendors. The audio rate cap lets a burst
/// of 60 s through, because the tests send their few seconds of audio at once; the tests of the
/// cap set it back.
func relayConfiguration(
    emulator: TranscriptionEmulator, clientTokens: [String] = [clientToken, secondClientToken, thirdClientToken]
) -> RelayConfiguration {
    var configuration = RelayConfiguration(
        host: "127.0.0.1", port: 0, clientTokens: clientTokens.map { Secret($0) },
        assemblyAI: VendorAccess(
            apiKey: Secret(vendorKey), endpoint: emulator.assemblyAIURL, tokenURL: emulator.assemblyAITokenURL),
        speechmatics: VendorAccess(
            apiKey: Secret(vendorKey), endpoint: emulator.speechmaticsURL, tokenURL: emulator.speechmaticsTokenURL),
        tls: TLSConfiguration(additionalTrustRoots: [.file(sharedAuthority.caCertificatePath)]))
    configuration.audioBurst = .seconds(60)
    // Lag messages after finals only, so that the tests can count them; the test of the
    // periodic reports sets an interval.
    configuration.lagReportInterval = nil
    return configuration
}

/// A clock for the relay's limits that moves only when the test advances it.
final class ManualClock: RelayClock {
    private let elapsed = Mutex(Duration.zero)

    var now: Duration { elapsed.withLock { $0 } }

    func advance(by duration: Duration) { elapsed.withLock { $0 += duration } }
}

/// `seconds` of 16 kHz s16le mono audio (silence: the emulator transcribes from its script).
func audio(seconds: Double) -> [UInt8] { [UInt8](repeating: 0, count: Int(seconds * 32000)) }

/// A WebSocket client of the relay, keeping everything it received.
struct RelayClient {
    let connection: WebSocketConnection

    static func connect(
        port: Int, token: String?, headers: [(name: String, value: String)] = [], path: String = "/v1/listen"
    ) async throws -> RelayClient {
        var configuration = WebSocketConfiguration()
        configuration.additionalHeaders = headers
        if let token { configuration.additionalHeaders.append(("Authorization", "Bearer \(token)")) }
        let connection = try await WebSocketConnection.connect(
            to: "ws://127.0.0.1:\(port)\(path)", configuration: configuration)
        return RelayClient(connection: connection)
    }

    /// Sends `bytes` in 100 ms messages, as the page does.
    func send(audio bytes: [UInt8]) async throws {
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + 3200)
            try await connection.send(binary: Array(bytes[offset..<end]))
            offset = end
        }
    }

    /// Reads until the relay closes the connection; returns the JSON events (without the `state`
    /// and `lag` messages unless asked) and the close frame.
    func readAll(
        includingState: Bool = false, includingLag: Bool = false
    ) async throws -> (events: [RelayEvent], closure: WebSocketClosure?) {
        var events: [RelayEvent] = []
        do {
            for try await message in connection.messages {
                guard case .text(let text) = message else { continue }
                let event = try RelayEvent(parsing: text)
                if event.type == "state" && !includingState || event.type == "lag" && !includingLag { continue }
                events.append(event)
            }
        } catch {
            // The relay may drop TCP right after its close frame; the closure says what happened.
        }
        return (events, await connection.closed())
    }

    /// Reads the next JSON event that is not a `state` or `lag` message.
    func next(_ iterator: inout WebSocketMessages.AsyncIterator) async throws -> RelayEvent? {
        while let message = try await iterator.next() {
            guard case .text(let text) = message else { continue }
            let event = try RelayEvent(parsing: text)
            if event.type != "state" && event.type != "lag" { return event }
        }
        return nil
    }
}

extension WebSocketClosure {
    /// The close code the peer sent, if it closed first.
    var peerCode: UInt16? {
        if case .closedByPeer(let frame) = self { return frame.code }
        return nil
    }
}

/// A JSON event the relay sent: its text, and its members (`event.type`, `event.words`, …), each
/// `nil` when absent. Parsing fails on text that is not a JSON object with a string `type`, and on
/// a member of the wrong type (`"start":"0.3"`, `"retryable":1`).
@dynamicMemberLookup
struct RelayEvent {
    /// The message's text, as received.
    let json: String
    let members: Members

    init(parsing json: String) throws {
        self.json = json
        members = try JSONDecoder().decode(Members.self, from: Data(json.utf8))
    }

    subscript<Value>(dynamicMember member: KeyPath<Members, Value>) -> Value { members[keyPath: member] }

    /// The members of every kind of event (`EventJSON`).
    struct Members: Decodable {
        var type: String
        // begin
        var id: String?
        var provider: String?
        // partial, final
        var text: String?
        var start: Double?
        var end: Double?
        var words: [Word]?
        var endOfTurn: Bool?
        // terminated
        var audioDuration: Double?
        var sessionDuration: Double?
        // error
        var code: String?
        var message: String?
        var retryable: Bool?
        var vendorCode: String?
        var httpStatus: Int?
        // state
        var state: String?
        var attempt: Int?
        // lag, lagging
        var lag: Double?
        var maxLag: Double?
        var bound: Double?
        var transcribedUntil: Double?
        var audioSent: Double?
    }

    /// A transcript's word.
    struct Word: Decodable {
        var text: String?
        var start: Double?
        var end: Double?
        var confidence: Double?
        var speaker: String?
    }
}
