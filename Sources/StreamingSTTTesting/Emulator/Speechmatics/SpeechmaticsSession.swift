import Foundation

/// One emulated Speechmatics Real-Time v2 session on an accepted WebSocket.
struct SpeechmaticsSession: Sendable {
    let io: SessionIO
    let handshake: TestWebSocketServer.Handshake
    let configuration: TranscriptionEmulator.Configuration
    let tokens: TokenStore
    let concurrentSessions: Int

    private var behaviour: SpeechmaticsBehaviour { configuration.speechmatics }

    func run() async {
        await runSession(connection: io.connection) { queue in
            await body(queue)
        }
    }

    /// Sends `Error` then closes with the error type's code; the close reason is the type.
    private func fail(_ error: SpeechmaticsError, recordOnly: String? = nil) async {
        io.violation("\(error.type)/\(error.closeCode): \(recordOnly ?? error.reason)")
        await io.send(
            .obj(["message": .string("Error"), "type": .string(error.type), "reason": .string(error.reason)]))
        await io.close(code: error.closeCode, reason: error.type)
    }

    private func drain(_ queue: SessionEvents) async {
        while let event = await queue.next() {
            if case .closed = event { return }
        }
    }

    /// Checks and uses the credentials: a Bearer API key, or a temporary key (Bearer or `jwt=`).
    private func authenticate() -> String? {
        if let key = EmulatorCore.bearer(handshake) {
            if configuration.apiKeys.contains(key) { return nil }
            switch tokens.consume(key, vendor: .speechmatics) {
            case .success: return nil
            case .failure(let reason): return "the Bearer key is \(reason)"
            }
        }
        if let jwt = handshake.queryValues("jwt").last {
            switch tokens.consume(jwt, vendor: .speechmatics) {
            case .success: return nil
            case .failure(let reason): return "the jwt query parameter is \(reason)"
            }
        }
        return handshake.header("authorization") == nil ? "no credentials" : "the Authorization header is not Bearer"
    }

    private var pathLanguage: String? {
        let path = handshake.path
        guard path.hasPrefix("/v2/"), path.count > 4 else { return nil }
        return String(path.dropFirst(4))
    }

    private func body(_ queue: SessionEvents) async {
        let faults = io.faults
        let clock = ContinuousClock()

        if let problem = authenticate() {
            await fail(
                .init(type: "not_authorised", reason: "Not Authorized"), recordOnly: "Not Authorized: \(problem)")
            return await drain(queue)
        }
        if behaviour.enforcesConcurrentSessionQuota, concurrentSessions > behaviour.concurrentSessionQuota {
            // "Going over gives quota_exceeded and close 4005" (limits).
            await fail(
                .init(
                    type: "quota_exceeded",
                    reason: "Concurrent session quota exceeded (\(behaviour.concurrentSessionQuota) sessions)"))
            return await drain(queue)
        }
        if behaviour.sendInfoBeforeStart {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime]
            let quota = behaviour.concurrentSessionQuota
            await io.send(
                .obj([
                    "message": .string("Info"), "type": .string("concurrent_session_usage"),
                    "reason": .string("\(concurrentSessions) concurrent sessions active out of quota \(quota)"),
                    "usage": .int(concurrentSessions), "quota": .int(quota),
                    "last_updated": .string(formatter.string(from: Date())),
                ]))
        }

        enum Phase { case awaitingStart, started, ending(ContinuousClock.Instant?) }
        var phase = Phase.awaitingStart
        let openedAt = clock.now
        var lastAudioAt = clock.now
        var limits = SessionLimitWarnings(behaviour: behaviour)
        var startedAt: ContinuousClock.Instant?
        var config = SpeechmaticsConfig()
        var transcripts: SpeechmaticsTranscripts?
        var audioEvents = SpeechmaticsAudioEvents(script: configuration.script, types: nil)
        /// A multichannel session's channels, by label (channel diarization).
        var channels: [String: ChannelState] = [:]
        var seqNo = 0
        var audioBytes = 0
        let neverStart = faults.contains(.neverStart)
        let neverFinal = faults.contains(.neverSendFinalMessage)
        var audioMilliseconds: Int {
            guard let bytesPerSample = config.bytesPerSample, let rate = config.sampleRate else { return 0 }
            return Int(Int64(audioBytes) * 1000 / Int64(bytesPerSample * rate))
        }

        func send(_ messages: [SpeechmaticsTranscripts.Message]) async {
            for message in messages { await io.send(message.json, final: message.final) }
        }

        let faultMessages = VendorFaultMessages(
            malformed: #"{"message":"AddTranscript","results":["#,
            unknown: .obj(["message": .string("EmulatorUnknownMessage"), "detail": .string("ignore me")]),
            discriminator: "message",
            warning: { text in
                .obj([
                    "message": .string("Warning"), "type": .string("emulator_warning"),
                    "reason": .string(text),
                ])
            })

        /// Applies the faults due after `count` chunks; returns `true` when the session is over.
        func applyFaults(afterChunks count: Int) async -> Bool {
            await io.applyFaults(
                afterChunks: count,
                messages: faultMessages
            ) {
                await fail(
                    .init(type: "job_error", reason: "Unable to process the audio: the job failed"),
                    recordOnly: "injected job_error")
            }
        }

        /// The end of one channel's audio: its last finals.
        func endChannel(_ label: String) async {
            guard var channel = channels[label], !channel.ended else { return }
            channel.ended = true
            await send(channel.engine.flush(audio: channel.milliseconds(config)))
            channels[label] = channel
        }

        /// The speakers heard so far, on every channel.
        var speakersSeen: [String] {
            var seen = transcripts?.speakersSeen ?? []
            for label in config.channelLabels {
                for speaker in channels[label]?.engine.speakersSeen ?? [] where !seen.contains(speaker) {
                    seen.append(speaker)
                }
            }
            return seen
        }

        /// `EndOfStream` (or the last `EndOfChannel`): every final, then `EndOfTranscript` (unless
        /// withheld).
        func finish() async {
            if var engine = transcripts {
                await send(engine.flush(audio: audioMilliseconds))
                transcripts = engine
            }
            for label in config.channelLabels { await endChannel(label) }
            if transcripts != nil || !channels.isEmpty, config.getSpeakersAtEnd {
                await io.send(speakersResult(speakersSeen))
            }
            if neverFinal {
                io.note("fault: EndOfTranscript withheld")
                phase = .ending(nil)
                return
            }
            await io.send(.obj(["message": .string("EndOfTranscript")]))
            phase = .ending(clock.now + behaviour.closeGrace)
        }

        while let event = await queue.next() {
            switch event {
            case .closed:
                io.markClosing()
                return
            case .tick:
                await io.applyTickFaults(messages: faultMessages)
                if case .ending(let deadline?) = phase, clock.now >= deadline {
                    io.note("the client did not close after EndOfTranscript; closing with 1000")
                    await io.close(code: 1000, reason: "")
                    return await drain(queue)
                }
                let now = clock.now
                for warning in limits.due(sessionAge: now - openedAt, idle: now - lastAudioAt) {
                    await io.send(warning)
                }
                if now - openedAt >= behaviour.maxSessionDuration {
                    await fail(
                        .init(type: "session_timeout", reason: "Session has reached its maximum duration"),
                        recordOnly: "session_timeout (the session's limit, not a client error)")
                    return await drain(queue)
                }
                if now - lastAudioAt >= behaviour.idleTimeout {
                    await fail(
                        .init(type: "idle_timeout", reason: "Session timed out due to inactivity, no audio sent"),
                        recordOnly: "idle_timeout (no audio, not a client error)")
                    return await drain(queue)
                }
            case .binary(let bytes, let arrival):
                io.recorder.received(audio: bytes)
                switch phase {
                case .awaitingStart:
                    await fail(.protocolError("Received audio before RecognitionStarted"))
                    return await drain(queue)
                case .ending:
                    io.violation("recorded only: audio after EndOfStream (answered with Warning add_audio_after_eos)")
                    await io.send(
                        .obj([
                            "message": .string("Warning"), "type": .string("add_audio_after_eos"),
                            "reason": .string("Audio received after EndOfStream is ignored"),
                        ]))
                    continue
                case .started:
                    break
                }
                if config.perChannel {
                    await fail(.protocolError("Binary AddAudio in a multichannel session: send AddChannelAudio"))
                    return await drain(queue)
                }
                if let startedAt, arrival < startedAt {
                    await fail(.protocolError("Received audio before RecognitionStarted"))
                    return await drain(queue)
                }
                seqNo += 1
                audioBytes += bytes.count
                lastAudioAt = clock.now
                if let rate = behaviour.processingRate, rate > 0, let startedAt {
                    let due = startedAt + .milliseconds(Int(Double(audioMilliseconds) / rate))
                    if clock.now < due { try? await Task.sleep(until: due, clock: clock) }
                }
                await io.send(.obj(["message": .string("AudioAdded"), "seq_no": .int(seqNo)]))
                if var engine = transcripts {
                    await send(engine.advance(to: audioMilliseconds))
                    transcripts = engine
                }
                for message in audioEvents.advance(to: audioMilliseconds) { await io.send(message) }
                if await applyFaults(afterChunks: seqNo) { return await drain(queue) }
            case .text(let text, _):
                io.recorder.received(text: text)
                guard case .success(let json) = EmulatorJSON.parse(text), json.isObject else {
                    await fail(.init(type: "invalid_message", reason: "The message is not a JSON object"))
                    return await drain(queue)
                }
                guard let name = json["message"]?.stringValue else {
                    await fail(.init(type: "invalid_message", reason: "The message has no \"message\" field"))
                    return await drain(queue)
                }
                if case .awaitingStart = phase, name != "StartRecognition" {
                    await fail(.protocolError("Expected StartRecognition first, received \(name)"))
                    return await drain(queue)
                }
                if case .ending = phase {
                    // After EndOfStream nothing more is expected; tolerate and record.
                    io.violation("recorded only: \(name) after EndOfStream")
                    continue
                }
                switch name {
                case "StartRecognition":
                    guard case .awaitingStart = phase else {
                        await fail(.protocolError("StartRecognition may only be sent once"))
                        return await drain(queue)
                    }
                    if let code = faults.lazy.compactMap({ fault -> Int? in
                        if case .closeBeforeStart(let code) = fault { return code }
                        return nil
                    }).first {
                        io.note("fault: closeBeforeStart(\(code))")
                        await io.close(code: code, reason: "")
                        return await drain(queue)
                    }
                    switch SpeechmaticsConfig.parse(json, pathLanguage: pathLanguage) {
                    case .failure(let error):
                        await fail(error)
                        return await drain(queue)
                    case .success(let (parsed, notes)):
                        config = parsed
                        for note in notes { io.note(note) }
                    }
                    phase = .started
                    if config.perChannel {
                        for (index, label) in config.channelLabels.enumerated() {
                            // Each channel reports the sounds heard on it, labelled (§4.6).
                            channels[label] = ChannelState(
                                engine: SpeechmaticsTranscripts(
                                    script: configuration.script.channel(index), config: config, behaviour: behaviour,
                                    channel: label),
                                audioEvents: SpeechmaticsAudioEvents(
                                    script: configuration.script, types: config.audioEventTypes,
                                    channel: (index, label)))
                        }
                    } else {
                        transcripts = SpeechmaticsTranscripts(
                            script: configuration.script, config: config, behaviour: behaviour)
                        audioEvents = SpeechmaticsAudioEvents(
                            script: configuration.script, types: config.audioEventTypes)
                    }
                    if neverStart {
                        io.note("fault: neverStart")
                        continue
                    }
                    let language = SpeechmaticsConfig.languages[config.language]
                    var started: [(String, EmulatorJSON)] = [
                        ("message", .string("RecognitionStarted")),
                        ("orchestrator_version", .string(behaviour.orchestratorVersion)),
                        ("id", .string(UUID().uuidString.lowercased())),
                        (
                            "language_pack_info",
                            .obj([
                                "adapted": .bool(false), "itn": .bool(true),
                                "language_description": .string(language?.description ?? config.language),
                                "word_delimiter": .string(language?.delimiter ?? " "),
                                "writing_direction": .string(language?.rtl == true ? "right-to-left" : "left-to-right"),
                            ])
                        ),
                    ]
                    // The spec's name (the multichannel prose says "channels"; protocol note §4.1).
                    if config.perChannel {
                        started.append(("channel_ids", .array(config.channelLabels.map(EmulatorJSON.string))))
                    }
                    // The moment RecognitionStarted is written: audio can only follow it.
                    startedAt = await io.send(.obj(started))
                    if config.emptyTranslationTargets {
                        await io.send(
                            .obj([
                                "message": .string("Warning"), "type": .string("empty_translation_target_list"),
                                "reason": .string("No translation target languages were given"),
                            ]))
                    }
                    if await applyFaults(afterChunks: 0) { return await drain(queue) }
                case "EndOfStream":
                    guard let last = json["last_seq_no"]?.intValue, last >= 0 else {
                        await fail(
                            .init(type: "invalid_message", reason: "EndOfStream requires an integer last_seq_no"))
                        return await drain(queue)
                    }
                    // In a multichannel session it ends every channel (protocol note §3.4).
                    let received = config.perChannel ? (channels.values.map(\.sequence).max() ?? 0) : seqNo
                    if last > received {
                        await fail(
                            .protocolError("last_seq_no \(last) is greater than the \(received) audio chunks received"))
                        return await drain(queue)
                    }
                    if config.perChannel {
                        if last != received {
                            io.violation(
                                "recorded only: EndOfStream last_seq_no \(last) but \(received) chunks were received")
                        }
                    } else if last != seqNo {
                        io.violation(
                            "recorded only: EndOfStream last_seq_no \(last) but \(seqNo) audio chunks were received")
                    }
                    await finish()
                case "SetRecognitionConfig":
                    guard let update = json["transcription_config"], update.isObject else {
                        await fail(.config("SetRecognitionConfig requires a transcription_config object"))
                        return await drain(queue)
                    }
                    var updated = config
                    var notes: [String] = []
                    if let error = setRecognitionConfig(update, into: &updated, notes: &notes) {
                        await fail(error)
                        return await drain(queue)
                    }
                    for note in notes { io.note(note) }
                    config = updated
                    transcripts?.config = updated
                    for label in config.channelLabels { channels[label]?.engine.config = updated }
                case "ForceEndOfUtterance":
                    if let timestamp = json["timestamp"], !(timestamp.numberValue.map { $0 >= 0 } ?? false) {
                        await fail(.init(type: "invalid_message", reason: "timestamp must be a number of at least 0"))
                        return await drain(queue)
                    }
                    if let channel = json["channel"], channel.stringValue == nil {
                        await fail(.init(type: "invalid_message", reason: "channel must be a string"))
                        return await drain(queue)
                    }
                    let timestamp = json["timestamp"]?.numberValue.map { Int(($0 * 1000).rounded()) }
                    if var engine = transcripts {
                        await send(engine.forceEndOfUtterance(audio: audioMilliseconds, timestamp: timestamp))
                        transcripts = engine
                    }
                    if config.perChannel {
                        // One channel, or every channel still open.
                        let label = json["channel"]?.stringValue
                        if let label, channels[label] == nil {
                            await fail(.protocolError("ForceEndOfUtterance for unknown channel \(label)"))
                            return await drain(queue)
                        }
                        for each in config.channelLabels where label == nil || label == each {
                            guard var channel = channels[each], !channel.ended else { continue }
                            await send(
                                channel.engine.forceEndOfUtterance(
                                    audio: channel.milliseconds(config), timestamp: timestamp))
                            channels[each] = channel
                        }
                    }
                case "GetSpeakers":
                    if let final = json["final"], final.boolValue == nil {
                        await fail(.init(type: "invalid_message", reason: "final must be a boolean"))
                        return await drain(queue)
                    }
                    if json["final"]?.boolValue == true {
                        config.getSpeakersAtEnd = true
                    } else {
                        await io.send(speakersResult(speakersSeen))
                    }
                case "AddChannelAudio", "EndOfChannel":
                    guard config.perChannel else {
                        await fail(
                            .protocolError("\(name) needs diarization channel or channel_and_speaker"))
                        return await drain(queue)
                    }
                    guard let label = json["channel"]?.stringValue else {
                        await fail(.init(type: "invalid_message", reason: "\(name) requires a string channel"))
                        return await drain(queue)
                    }
                    guard var channel = channels[label] else {
                        await fail(.protocolError("\(name) for unknown channel \(label)"))
                        return await drain(queue)
                    }
                    if name == "EndOfChannel" {
                        guard let last = json["last_seq_no"]?.intValue, last >= 0 else {
                            await fail(
                                .init(type: "invalid_message", reason: "EndOfChannel requires an integer last_seq_no"))
                            return await drain(queue)
                        }
                        if channel.ended {
                            await fail(.protocolError("channel \(label) has already ended"))
                            return await drain(queue)
                        }
                        if last > channel.sequence {
                            await fail(
                                .protocolError(
                                    "last_seq_no \(last) is greater than the \(channel.sequence) chunks of channel \(label)"
                                ))
                            return await drain(queue)
                        }
                        if last != channel.sequence {
                            io.violation(
                                "recorded only: EndOfChannel \(label) last_seq_no \(last) but \(channel.sequence) chunks were received"
                            )
                        }
                        await endChannel(label)
                        // "Once every channel is closed the session ends" (protocol note §3.5).
                        if channels.values.allSatisfy(\.ended) { await finish() }
                        continue
                    }
                    guard let data = json["data"]?.stringValue, let bytes = Data(base64Encoded: data) else {
                        await fail(.init(type: "invalid_message", reason: "AddChannelAudio requires base64 data"))
                        return await drain(queue)
                    }
                    io.recorder.received(audio: Array(bytes))
                    if channel.ended {
                        io.violation("recorded only: audio on channel \(label) after its EndOfChannel")
                        await io.send(
                            .obj([
                                "message": .string("Warning"), "type": .string("add_audio_after_eos"),
                                "reason": .string("Audio received after EndOfChannel is ignored"),
                            ]))
                        continue
                    }
                    if let size = config.bytesPerSample, bytes.count % size != 0 {
                        await fail(
                            .init(
                                type: "invalid_message",
                                reason: "AddChannelAudio data of \(bytes.count) bytes is not whole samples"))
                        return await drain(queue)
                    }
                    channel.sequence += 1
                    channel.bytes += bytes.count
                    lastAudioAt = clock.now
                    await io.send(
                        .obj([
                            "message": .string("ChannelAudioAdded"), "channel": .string(label),
                            "seq_no": .int(channel.sequence),
                        ]))
                    await send(channel.engine.advance(to: channel.milliseconds(config)))
                    for message in channel.audioEvents.advance(to: channel.milliseconds(config)) {
                        await io.send(message)
                    }
                    channels[label] = channel
                    if label == config.channelLabels.first,
                        await applyFaults(afterChunks: channel.sequence)
                    {
                        return await drain(queue)
                    }
                default:
                    await fail(.init(type: "invalid_message", reason: "Unknown message type: \(name)"))
                    return await drain(queue)
                }
            }
        }
    }

    /// Validates `SetRecognitionConfig`: only the mid-session fields may change, the language
    /// must stay; other fields are accepted only with their original value.
    private func setRecognitionConfig(
        _ update: EmulatorJSON, into config: inout SpeechmaticsConfig, notes: inout [String]
    ) -> SpeechmaticsError? {
        for member in update.members ?? [] where !SpeechmaticsConfig.midSessionFields.contains(member.key) {
            let original = config.transcriptionConfig.last { $0.key == member.key }?.value
            if original != member.value {
                return .config("transcription_config.\(member.key) cannot be changed during a session")
            }
            notes.append("SetRecognitionConfig: unchanged field '\(member.key)' accepted")
        }
        var mid = update
        if update["language"] == nil, case .object(var members) = update {
            members.insert(.init(key: "language", value: .string(config.language)), at: 0)
            mid = .object(members)
        }
        return SpeechmaticsConfig.validateTranscription(mid, into: &config, notes: &notes, midSession: true)
    }

    private func speakersResult(_ speakers: [String]) -> EmulatorJSON {
        .obj([
            "message": .string("SpeakersResult"),
            "speakers": .array(
                speakers.map { label in
                    .obj([
                        "label": .string(label),
                        "speaker_identifiers": .array([.string("emulator-speaker-\(label.lowercased())")]),
                    ])
                }),
        ])
    }
}

/// One channel of a multichannel session: its count of `AddChannelAudio` messages, its audio,
/// its transcripts and translations (without `channel`: translations have none, §4.5) and its
/// audio events (with `channel`, §4.6).
struct ChannelState: Sendable {
    var sequence = 0
    var bytes = 0
    var ended = false
    var engine: SpeechmaticsTranscripts
    var audioEvents: SpeechmaticsAudioEvents

    init(engine: SpeechmaticsTranscripts, audioEvents: SpeechmaticsAudioEvents) {
        self.engine = engine
        self.audioEvents = audioEvents
    }

    /// Milliseconds of this channel's audio received.
    func milliseconds(_ config: SpeechmaticsConfig) -> Int {
        guard let size = config.bytesPerSample, let rate = config.sampleRate else { return 0 }
        return Int(Int64(bytes) * 1000 / Int64(size * rate))
    }
}

/// The Speechmatics warnings ahead of a session's limits: `idle_timeout` at 15, 10 and 5 minutes
/// before the inactivity limit, `session_timeout` at 45, 30 and 15 minutes before the maximum
/// duration (each once; only those that fall inside the limit).
struct SessionLimitWarnings {
    private let idleWarnings: [Int]
    private var idleLeft: [Int]
    private var sessionLeft: [Int]
    private var lastIdle = Duration.zero
    private let idleLimit: Duration
    private let sessionLimit: Duration

    init(behaviour: SpeechmaticsBehaviour) {
        idleLimit = behaviour.idleTimeout
        sessionLimit = behaviour.maxSessionDuration
        idleWarnings = [15, 10, 5].filter { .seconds($0 * 60) < behaviour.idleTimeout }
        idleLeft = idleWarnings
        sessionLeft = [45, 30, 15].filter { .seconds($0 * 60) < behaviour.maxSessionDuration }
    }

    /// The warnings due now; audio since the previous call re-arms the idle ones.
    mutating func due(sessionAge: Duration, idle: Duration) -> [EmulatorJSON] {
        if idle < lastIdle { idleLeft = idleWarnings }
        lastIdle = idle
        return Self.take(&idleLeft, elapsed: idle, limit: idleLimit, type: "idle_timeout") {
            "Session will timeout in \($0)m due to inactivity, no audio sent within the last \($1)m"
        }
            + Self.take(&sessionLeft, elapsed: sessionAge, limit: sessionLimit, type: "session_timeout") {
                "Session will timeout in \($0)m due to max duration, session has been active for \($1)m"
            }
    }

    /// The warnings of `left` (minutes before `limit`) that `elapsed` has reached, removed from it.
    private static func take(
        _ left: inout [Int], elapsed: Duration, limit: Duration, type: String,
        reason: (_ minutesLeft: Int, _ minutesElapsed: Int) -> String
    ) -> [EmulatorJSON] {
        var warnings: [EmulatorJSON] = []
        while let minutes = left.first, elapsed >= limit - .seconds(minutes * 60) {
            left.removeFirst()
            let text = reason(minutes, Int(elapsed / .seconds(60)))
            warnings.append(.obj(["message": .string("Warning"), "type": .string(type), "reason": .string(text)]))
        }
        return warnings
    }
}
