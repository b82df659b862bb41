import Foundation
import StreamingSTT
import StreamingSTTSupport
import StreamingSTTTesting
import StreamingSTTWebSocket
import Testing

/// A raw WebSocket client for emulator tests: hand-written JSON out, every received message
/// collected in the background, awaitable with a deadline (no sleeps).
final class EmulatorClient: Sendable {
    let connection: WebSocketConnection
    private struct State {
        var messages: [WebSocketMessage] = []
        var end: Result<Void, WebSocketError>?
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter = 0
    }
    private let state = LockedState(State())
    private let reader = LockedState<Task<Void, Never>?>(nil)

    init(connection: WebSocketConnection) {
        self.connection = connection
        let task = Task { [state, connection] in
            var end: Result<Void, WebSocketError> = .success(())
            do {
                for try await message in connection.messages {
                    let waiters = state.withLock { state in
                        state.messages.append(message)
                        defer { state.waiters.removeAll() }
                        return Array(state.waiters.values)
                    }
                    for waiter in waiters { waiter.resume() }
                }
            } catch let error as WebSocketError {
                end = .failure(error)
            } catch {
                end = .failure(WebSocketError(.closed, detail: "\(error)"))
            }
            let waiters = state.withLock { state in
                state.end = end
                defer { state.waiters.removeAll() }
                return Array(state.waiters.values)
            }
            for waiter in waiters { waiter.resume() }
        }
        reader.withLock { $0 = task }
    }

    /// Connects to `url` with `headers`, trusting the shared test CA for `wss://`.
    static func connect(
        _ url: String, headers: [(name: String, value: String)] = [],
        configure: (inout WebSocketConfiguration) -> Void = { _ in }
    ) async throws -> EmulatorClient {
        var configuration = trusting(sharedAuthority)
        configuration.additionalHeaders = headers
        // Generous: under a full parallel test run a TLS connect can take seconds.
        configuration.connectTimeout = .seconds(30)
        configure(&configuration)
        let connection = try await WebSocketConnection.connect(to: url, configuration: configuration)
        return EmulatorClient(connection: connection)
    }

    /// Every message received so far.
    var messages: [WebSocketMessage] { state.withLock { $0.messages } }
    /// Every text message received so far.
    var texts: [String] {
        messages.compactMap { if case .text(let text) = $0 { text } else { nil } }
    }
    /// The text messages parsed as JSON objects (unparseable ones left out).
    var objects: [[String: Any]] { texts.compactMap(parseObject) }
    /// How the message sequence ended, or `nil` while open.
    var end: Result<Void, WebSocketError>? { state.withLock { $0.end } }

    func send(json text: String) async throws { try await connection.send(text: text) }
    func send(audio bytes: [UInt8]) async throws { try await connection.send(binary: bytes) }

    /// Sends `seconds` of silence in chunks of `chunkMilliseconds`, paced by real time when
    /// `paced` (with a monotonic clock; the delay is the behaviour being tested).
    func sendSilence(
        seconds: Double, chunkMilliseconds: Int = 50, sampleRate: Int = 16000, bytesPerSample: Int = 2,
        paced: Bool = false
    ) async throws -> [UInt8] {
        let chunkBytes = sampleRate * bytesPerSample * chunkMilliseconds / 1000
        let chunks = Int((seconds * 1000 / Double(chunkMilliseconds)).rounded(.up))
        var sent: [UInt8] = []
        let clock = ContinuousClock()
        let start = clock.now
        for index in 0..<chunks {
            if paced { try await Task.sleep(until: start + .milliseconds(index * chunkMilliseconds), clock: clock) }
            // Not all zeros, so the recorded audio check sees the order.
            let chunk = [UInt8](repeating: UInt8(index & 0x7F), count: chunkBytes)
            try await send(audio: chunk)
            sent += chunk
        }
        return sent
    }

    /// Waits until `predicate` holds for the received texts (or the connection ended and it
    /// does not), within `limit`.
    @discardableResult
    func wait(
        for what: String, limit: Duration = .seconds(15), _ predicate: @escaping @Sendable ([String]) -> Bool
    ) async throws -> [String] {
        try await withTimeout(limit, what) { [self] in
            while true {
                let (texts, seen, ended) = state.withLock { state in
                    (
                        state.messages.compactMap { if case .text(let text) = $0 { text } else { nil } },
                        state.messages.count, state.end != nil
                    )
                }
                if predicate(texts) { return texts }
                if ended { throw TimedOut(what: "\(what) (the connection ended first)") }
                try Task.checkCancellation()
                await changed(since: seen)
            }
        }
    }

    /// Waits for a JSON message whose discriminator (`type` or `message`) is `name`.
    @discardableResult
    func waitForMessage(_ name: String, limit: Duration = .seconds(15)) async throws -> [String: Any] {
        let texts = try await wait(for: name, limit: limit) { texts in
            texts.contains { text in parseObject(text).map { discriminator($0) == name } ?? false }
        }
        return texts.compactMap(parseObject).first { discriminator($0) == name }!
    }

    /// Waits until the connection ends; returns how.
    func closed(limit: Duration = .seconds(15)) async throws -> WebSocketClosure {
        try await withTimeout(limit, "the close") { [connection] in await connection.closed() }
    }

    /// Returns once more than `seen` messages have arrived or the connection ended. The check
    /// and the registration share one lock, so a message arriving in between is not missed.
    private func changed(since seen: Int) async {
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = state.withLock { state -> Bool in
                    if Task.isCancelled || state.end != nil || state.messages.count != seen { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }

    func close() async { _ = await connection.close() }
}

func parseObject(_ text: String) -> [String: Any]? {
    guard let data = text.data(using: .utf8) else { return nil }
    return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
}

func discriminator(_ object: [String: Any]) -> String? {
    // Speechmatics messages always carry `message` (their `type` is a subtype: Info, Error…).
    (object["message"] as? String) ?? (object["type"] as? String)
}

/// The top-level keys of a JSON object text, in order (for field-order checks; the parser in the
/// emulator is not used, so the two sides stay independent).
func topLevelKeys(_ text: String) -> [String] {
    var keys: [String] = []
    var depth = 0
    var inString = false
    var escaped = false
    var current = ""
    var expectingKey = false
    for character in text {
        if inString {
            if escaped {
                escaped = false
                current.append(character)
            } else if character == "\\" {
                escaped = true
            } else if character == "\"" {
                inString = false
                if depth == 1 && expectingKey { keys.append(current) }
            } else {
                current.append(character)
            }
            continue
        }
        switch character {
        case "\"":
            inString = true
            current = ""
        case "{", "[":
            depth += 1
            expectingKey = character == "{" && depth == 1
        case "}", "]":
            depth -= 1
        case ",":
            if depth == 1 { expectingKey = true }
        case ":":
            if depth == 1 { expectingKey = false }
        default:
            break
        }
    }
    return keys
}

extension WebSocketClosure {
    /// The peer's close code when the peer closed first.
    var peerCode: Int? {
        if case .closedByPeer(let frame) = self { return Int(frame.code) }
        return nil
    }

    var peerReason: String? {
        if case .closedByPeer(let frame) = self { return frame.reason }
        return nil
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved characters kept).
func queryEncoded(_ value: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
}

/// An emulator configuration with real-time pacing off (tests send faster than real time).
func fastConfiguration(
    tls: Bool = false,
    script: EmulatorScript = EmulatorScript(text: "Hello world. How are you?"),
    configure: (inout TranscriptionEmulator.Configuration) -> Void = { _ in }
) -> TranscriptionEmulator.Configuration {
    var configuration = TranscriptionEmulator.Configuration(
        tls: tls ? sharedAuthority : nil, script: script,
        assemblyAI: .init(enforceRealTime: false, terminationDelay: .milliseconds(100)))
    configure(&configuration)
    return configuration
}

let assemblyAIKey: [(name: String, value: String)] = [("Authorization", "emulator-key")]
let speechmaticsKey: [(name: String, value: String)] = [("Authorization", "Bearer emulator-key")]
