import Foundation

/// One emulated AssemblyAI v3 session on an accepted WebSocket.
struct AssemblyAISession: Sendable {
    let io: SessionIO
    let handshake: TestWebSocketServer.Handshake
    let configuration: TranscriptionEmulator.Configuration
    let tokens: TokenStore

    private var behaviour: AssemblyAIBehaviour { configuration.assemblyAI }

    func run() async {
        await runSession(connection: io.connection) { queue in
            await body(queue)
        }
    }

    /// Sends `Error` then closes with the same code (the service's way for every error).
    private func fail(_ code: Int, _ text: String, violation: String? = nil) async {
        io.violation("\(code): \(violation ?? text)")
        await io.send(.obj(["type": .string("Error"), "error_code": .int(code), "error": .string(text)]))
        await io.close(code: code, reason: closeReason(for: text))
    }

    /// Waits for the end of the connection, ignoring what arrives.
    private func drain(_ queue: SessionEvents) async {
        while let event = await queue.next() {
            if case .closed = event { return }
        }
    }

    private func authenticate() -> (ok: Bool, maxDuration: Int?, detail: String) {
        let header = handshake.header("authorization")
        if let header, configuration.apiKeys.contains(header) { return (true, nil, "") }
        if let token = handshake.queryValues("token").last {
            switch tokens.consume(token, vendor: .assemblyAI) {
            case .success(let grant): return (true, grant.maxSessionSeconds, "")
            case .failure(let reason): return (false, nil, "the token query parameter is \(reason)")
            }
        }
        if let header, !header.isEmpty {
            switch tokens.consume(header, vendor: .assemblyAI) {
            case .success(let grant): return (true, grant.maxSessionSeconds, "")
            case .failure(.unknown): return (false, nil, "the Authorization header holds no valid key or token")
            case .failure(let reason): return (false, nil, "the token in the Authorization header is \(reason)")
            }
        }
        return (false, nil, "no Authorization header and no token")
    }

    private func body(_ queue: SessionEvents) async {
        let faults = io.faults
        let clock = ContinuousClock()
        let opened = clock.now

        if let code = faults.lazy.compactMap({ fault -> Int? in
            if case .closeBeforeStart(let code) = fault { return code }
            return nil
        }).first {
            io.note("fault: closeBeforeStart(\(code))")
            await io.close(code: code, reason: "")
            return await drain(queue)
        }

        // Authentication, then the query, as the service answers them: after the upgrade.
        let auth = authenticate()
        guard auth.ok else {
            await fail(
                1008, "Unauthorized Connection: Missing Authorization header",
                violation: "Unauthorized Connection: \(auth.detail)")
            return await drain(queue)
        }
        let parameters: AssemblyAIParameters
        switch AssemblyAIParameters.parse(handshake.query) {
        case .failure(let errors):
            await fail(3006, errors.message)
            return await drain(queue)
        case .success(let (parsed, unknown)):
            parameters = parsed
            for key in unknown { io.note("ignored unknown query parameter '\(key)'") }
        }

        let neverStart = faults.contains(.neverStart)
        var maxDuration = behaviour.maxSessionDuration
        if let seconds = auth.maxDuration { maxDuration = min(maxDuration, .seconds(seconds)) }
        let expiresAt = opened + maxDuration
        if neverStart {
            io.note("fault: neverStart")
        } else {
            let expiresUnix = Int(Date().timeIntervalSince1970 + Double(maxDuration.components.seconds))
            await io.send(
                .obj([
                    "type": .string("Begin"), "id": .string(UUID().uuidString.lowercased()),
                    "expires_at": .int(expiresUnix),
                    "configuration": .obj([
                        "model": .string(parameters.speechModel),
                        "mode": parameters.family == .u3Pro ? .string(parameters.mode ?? "balanced") : .null,
                        "api_version": .string(behaviour.apiVersion),
                    ]),
                ]))
        }

        var turns = AssemblyAITurns(script: configuration.script, parameters: parameters)
        var chunks = 0
        var audioBytes = 0
        var lastActivity = clock.now
        var terminated = false
        let neverFinal = faults.contains(.neverSendFinalMessage)
        let bytesPerSecond = parameters.bytesPerSample.map { $0 * (parameters.sampleRate ?? 16000) }
        var audioMilliseconds: Int {
            guard let bytesPerSecond else { return 0 }
            return Int(Int64(audioBytes) * 1000 / Int64(bytesPerSecond))
        }

        let faultMessages = VendorFaultMessages(
            malformed: #"{"type":"Turn","turn_order":"#,
            unknown: .obj(["type": .string("EmulatorUnknownEvent"), "detail": .string("ignore me")]),
            discriminator: "type",
            warning: { text in
                .obj(["type": .string("Warning"), "warning_code": .int(1234), "warning": .string(text)])
            })

        /// Applies the faults due after `count` chunks; returns `true` when the session is over.
        func applyFaults(afterChunks count: Int) async -> Bool {
            await io.applyFaults(
                afterChunks: count,
                messages: faultMessages
            ) {
                await fail(3005, "Session Cancelled: An error occurred", violation: "injected server error")
            }
        }

        if !neverStart, await applyFaults(afterChunks: 0) { return await drain(queue) }

        while let event = await queue.next() {
            switch event {
            case .closed:
                io.markClosing()
                return
            case .tick:
                await io.applyTickFaults(messages: faultMessages)
                let now = clock.now
                if now >= expiresAt {
                    await fail(3008, "Session Expired: Maximum session duration exceeded")
                    return await drain(queue)
                }
                if let timeout = parameters.inactivityTimeout, !terminated,
                    now - lastActivity >= .seconds(timeout)
                {
                    // Undocumented for v3; the legacy text with the session-expired code (assumption).
                    await fail(3008, "Session idle for too long")
                    return await drain(queue)
                }
            case .binary(let bytes, _):
                io.recorder.received(audio: bytes)
                if terminated || neverStart { continue }
                lastActivity = clock.now
                chunks += 1
                if let bytesPerSecond {
                    let milliseconds = Double(bytes.count) * 1000 / Double(bytesPerSecond)
                    if milliseconds < 50 || milliseconds > 1000 {
                        let shown = EmulatorJSON.format((milliseconds * 1000).rounded() / 1000)
                        await fail(3007, "Input duration violation: \(shown) ms. Expected between 50 and 1000 ms")
                        return await drain(queue)
                    }
                    audioBytes += bytes.count
                    if behaviour.enforceRealTime {
                        let received = Double(audioBytes) / Double(bytesPerSecond)
                        let elapsed = (clock.now - opened) / .seconds(1)
                        if received > elapsed + behaviour.rateSlack / .seconds(1) {
                            await fail(
                                3007,
                                "Audio Transmission Rate Exceeded: Received \(twoDecimals(received)) sec. audio in "
                                    + "\(twoDecimals(elapsed)) sec")
                            return await drain(queue)
                        }
                    }
                } else {
                    audioBytes += bytes.count
                }
                for message in turns.advance(to: audioMilliseconds) {
                    await io.send(message.json, final: message.final)
                }
                if await applyFaults(afterChunks: chunks) { return await drain(queue) }
            case .text(let text, _):
                io.recorder.received(text: text)
                if terminated { continue }
                guard case .success(let json) = EmulatorJSON.parse(text) else {
                    await fail(3006, "Invalid JSON: \(text)")
                    return await drain(queue)
                }
                guard json.isObject else {
                    await fail(3006, "Invalid Message: \(text)")
                    return await drain(queue)
                }
                switch json["type"]?.stringValue {
                case "KeepAlive":
                    lastActivity = clock.now
                case "ForceEndpoint":
                    lastActivity = clock.now
                    for message in turns.forceEndpoint() { await io.send(message.json, final: message.final) }
                case "UpdateConfiguration":
                    switch updateConfiguration(json, parameters: &turns.parameters) {
                    case .success(let ignored):
                        for key in ignored { io.note("UpdateConfiguration: ignored field '\(key)'") }
                    case .failure(let error):
                        await fail(3006, "Invalid Message: \(text)", violation: "Invalid Message: \(error.text)")
                        return await drain(queue)
                    }
                case "Terminate":
                    terminated = true
                    for message in turns.flush(audioMilliseconds: audioMilliseconds) {
                        await io.send(message.json, final: message.final)
                    }
                    // Speaker revisions come at the end of the stream (about 400 ms later, per the
                    // vendor's announcement), before Termination.
                    if let revision = turns.speakerRevision() { await io.send(revision.json) }
                    if neverFinal {
                        io.note("fault: Termination withheld")
                        continue
                    }
                    try? await Task.sleep(for: behaviour.terminationDelay)
                    let sessionSeconds = (clock.now - opened) / .seconds(1)
                    await io.send(
                        .obj([
                            "type": .string("Termination"),
                            "audio_duration_seconds": .int(Int((Double(audioMilliseconds) / 1000).rounded())),
                            "session_duration_seconds": .int(Int(sessionSeconds.rounded())),
                        ]))
                    await io.close(code: 1000, reason: "")
                    return await drain(queue)
                default:
                    let name = json["type"]?.stringValue ?? text
                    await fail(3006, "Invalid Message Type: \(name)")
                    return await drain(queue)
                }
            }
        }
    }

    struct UpdateError: Error { var text: String }

    /// Applies an `UpdateConfiguration`; returns the fields it ignored.
    private func updateConfiguration(
        _ json: EmulatorJSON, parameters: inout AssemblyAIParameters
    ) -> Result<[String], UpdateError> {
        var ignored: [String] = []
        var updated = parameters
        for member in json.members ?? [] where member.key != "type" {
            let value = member.value
            switch member.key {
            case "min_turn_silence", "min_end_of_turn_silence_when_confident", "max_turn_silence",
                "interruption_delay", "turn_left_pad_ms":
                guard let number = value.intValue, number >= 0 else {
                    return .failure(UpdateError(text: "'\(member.key)' should be a non-negative integer"))
                }
                if member.key == "max_turn_silence" {
                    updated.maxTurnSilence = number
                } else if member.key == "interruption_delay" {
                    // The connection's limit holds mid-session too.
                    guard number <= 1000 else {
                        return .failure(UpdateError(text: "'interruption_delay' should be at most 1000"))
                    }
                    updated.interruptionDelay = number
                } else if member.key != "turn_left_pad_ms" {
                    updated.minTurnSilence = number
                }
            case "end_of_turn_confidence_threshold", "vad_threshold":
                guard let number = value.numberValue, (0...1).contains(number) else {
                    return .failure(UpdateError(text: "'\(member.key)' should be a number from 0 to 1"))
                }
                if member.key == "vad_threshold" {
                    updated.vadThreshold = number
                } else {
                    updated.endOfTurnConfidenceThreshold = number
                }
            case "format_turns", "filter_profanity", "session_heartbeat", "acknowledge_silence", "continuous_partials":
                guard let flag = value.boolValue else {
                    return .failure(UpdateError(text: "'\(member.key)' should be a boolean"))
                }
                if member.key == "format_turns" { updated.formatTurns = flag }
            case "keyterms_prompt", "language_codes":
                guard let items = value.arrayValue, items.allSatisfy({ $0.stringValue != nil }) else {
                    return .failure(UpdateError(text: "'\(member.key)' should be an array of strings"))
                }
                if member.key == "keyterms_prompt" {
                    let terms = items.compactMap(\.stringValue)
                    // The connection's limits hold mid-session too (lengths in code points).
                    guard terms.count <= 100, terms.allSatisfy({ $0.unicodeScalars.count <= 50 }) else {
                        return .failure(UpdateError(text: "'keyterms_prompt' holds at most 100 terms of 50 characters"))
                    }
                    updated.keytermsPrompt = terms
                }
            case "prompt", "agent_context":
                guard let text = value.stringValue else {
                    return .failure(UpdateError(text: "'\(member.key)' should be a string"))
                }
                if member.key == "prompt" {
                    updated.prompt = text
                } else {
                    guard text.unicodeScalars.count <= 1500 else {
                        return .failure(UpdateError(text: "'agent_context' should have at most 1500 characters"))
                    }
                    updated.agentContext = text
                }
            default:
                ignored.append(member.key)
            }
        }
        parameters = updated
        return .success(ignored)
    }
}

func twoDecimals(_ value: Double) -> String {
    let hundredths = Int((value * 100).rounded())
    let fraction = abs(hundredths % 100)
    return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
}

/// A valid JSON message of an unknown type, padded to exactly `bytes` bytes when possible.
func hugeFrame(bytes: Int, discriminator: String) -> String {
    let head = "{\"\(discriminator)\":\"EmulatorHugeFrame\",\"padding\":\""
    let tail = "\"}"
    let padding = max(0, bytes - head.utf8.count - tail.utf8.count)
    return head + String(repeating: "x", count: padding) + tail
}
