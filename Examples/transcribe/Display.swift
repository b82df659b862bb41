import Foundation
import StreamingSTT

/// Prints the session: text (finals on their own lines; on a terminal the partial is rewritten in
/// place) or JSON lines (one object per event), a status line on a terminal, and the output file.
final class Display: @unchecked Sendable {
    // @unchecked: every mutable field is behind `lock`; the class is shared between the event
    // consumer, the audio meter and the signal handler.
    private let lock = NSLock()
    private let format: Transcribe.OutputFormat
    private let timestamps: Bool
    private let showsLevel: Bool
    private let showsPartials: Bool
    private let file: TranscriptFile?
    private let stdoutIsTerminal = isatty(STDOUT_FILENO) == 1
    private let stderrIsTerminal = isatty(STDERR_FILENO) == 1
    private var partial = ""
    private var state = ""
    private var lag: Double?
    private var audioSeconds = 0.0
    private var level = 0.0
    private var lastStatus = ContinuousClock.now
    private(set) var summary: SessionSummary?

    init(
        format: Transcribe.OutputFormat, timestamps: Bool, showsLevel: Bool, showsPartials: Bool = true,
        file: TranscriptFile?
    ) {
        self.format = format
        self.timestamps = timestamps
        self.showsLevel = showsLevel
        self.showsPartials = showsPartials
        self.file = file
    }

    /// Prints every event until the session ends.
    func consume(_ events: TranscriptEvents) async {
        for await event in events { handle(event) }
    }

    private func handle(_ event: TranscriptEvent) {
        lock.lock()
        defer { lock.unlock() }
        if case .final(let transcript) = event { file?.append(transcript) }
        if case .terminated(let value) = event { summary = value }
        // --no-partials: AssemblyAI has no such setting (it always sends partials); they are not shown.
        if case .partial = event, !showsPartials { return }
        if case .warning(let notice) = event {
            // Not a JSON-lines event type: a line on stderr, in both formats.
            clearLineLocked()
            printError(
                "transcribe: warning from the service: \(Self.shortened(notice.type)): \(Self.shortened(notice.reason))"
            )
            redrawLocked()
            return
        }
        if format == .jsonl {
            for line in JSONLines.lines(for: event) { write(line + "\n") }
            return
        }
        switch event {
        case .partial(let transcript):
            partial = Self.channelPrefix(transcript) + transcript.text
            redrawLocked()
        case .final(let transcript):
            partial = ""
            clearLineLocked()
            write(render(transcript) + "\n")
            redrawLocked()
        case .translation(let translation) where !translation.isPartial:
            // Final translations only: a line of their own, after the finals they translate.
            clearLineLocked()
            let time = timestamps ? "[\(Self.clock(translation.start)) → \(Self.clock(translation.end))] " : ""
            write("\(time)[\(translation.language)] \(translation.text)\n")
            redrawLocked()
        case .audioEvent(let sound):
            clearLineLocked()
            // In a multichannel session the channel's label first, as on its transcripts.
            write(
                (timestamps ? "[\(Self.clock(sound.time))] " : "") + (sound.channel.map { "\($0): " } ?? "")
                    + "[\(sound.type) \(sound.kind.rawValue)]\n")
            redrawLocked()
        case .speakerRevision(let revision):
            // Not part of the transcript text: a note on stderr per revised turn.
            clearLineLocked()
            for turn in revision.turns {
                printError("transcribe: speaker revision: turn \(turn.turnOrder) is now \(turn.speaker ?? "unknown")")
            }
            redrawLocked()
        case .error(let error):
            clearLineLocked()
            printError("transcribe: \(Self.shortened("\(error)"))")
        case .reconnecting(let notice):
            clearLineLocked()
            let why: String
            switch notice.reason {
            case .rollover: why = "the session is near its time limit"
            case .failure(let error): why = Self.shortened("\(error)")
            }
            printError(
                "transcribe: reconnecting (attempt \(notice.attempt), in \(String(format: "%.2f", seconds(notice.delay))) s): \(why)"
            )
            redrawLocked()
        case .reconnected(let notice):
            clearLineLocked()
            printError(
                "transcribe: reconnected (session \(notice.sessionIndex); "
                    + String(format: "replayed %.2f s of audio, lost %.2f s)", notice.replayedAudio, notice.lostAudio))
            redrawLocked()
        default:
            break
        }
    }

    /// The longest text from the service printed whole on stderr.
    static let maxServiceText = 1000

    /// `text`, or its first ``maxServiceText`` characters and how many more there were: a service's
    /// message of any length stays one readable line on stderr.
    static func shortened(_ text: String) -> String {
        guard text.count > maxServiceText else { return text }
        return String(text.prefix(maxServiceText)) + "… (\(text.count - maxServiceText) more characters)"
    }

    private func render(_ transcript: Transcript) -> String {
        let channel = Self.channelPrefix(transcript)
        guard timestamps else { return channel + transcript.text }
        let label = Self.speakerPrefix(transcript)
        return "[\(Self.clock(transcript.start)) → \(Self.clock(transcript.end))] \(channel)\(label)\(transcript.text)"
    }

    /// `"left: "` before a transcript of a multichannel session (`--multichannel`); `""` otherwise.
    static func channelPrefix(_ transcript: Transcript) -> String {
        transcript.channel.map { "\($0): " } ?? ""
    }

    /// `"S1: "` before a transcript of a known speaker (its own, or its first attributed word's);
    /// `""` when no speaker is known (no diarization, or the service could not tell).
    static func speakerPrefix(_ transcript: Transcript) -> String {
        guard let speaker = transcript.speaker ?? transcript.words.lazy.compactMap(\.speaker).first else { return "" }
        return "\(speaker): "
    }

    static func clock(_ seconds: Double) -> String {
        let total = max(0, seconds)
        let minutes = Int(total) / 60
        return String(format: "%02d:%05.2f", minutes, total - Double(minutes * 60))
    }

    /// Records audio that was sent (for the status line).
    func audio(seconds: Double, level: Double) {
        lock.lock()
        defer { lock.unlock() }
        audioSeconds += seconds
        self.level = max(level, self.level * 0.6)
        let now = ContinuousClock.now
        if now - lastStatus > .milliseconds(250) {
            lastStatus = now
            redrawLocked()
        }
    }

    /// Sets the connection state shown on the status line.
    func status(_ text: String) {
        lock.lock()
        defer { lock.unlock() }
        state = text
        redrawLocked()
    }

    /// Whether the status line is drawn (stderr is a terminal): nothing needs to feed it otherwise.
    var drawsStatus: Bool { stderrIsTerminal }

    /// Shows the connection state on the status line.
    func connection(_ connection: ConnectionState) {
        switch connection {
        case .idle: status("")
        case .connecting: status("connecting")
        case .open: status("connected")
        case .reconnecting(let attempt): status("reconnecting (attempt \(attempt))")
        case .rollingOver: status("rolling over")
        case .stopping: status("finishing")
        case .ended(nil): status("ended")
        case .ended(.some): status("failed")
        }
    }

    /// Shows the transcript lag (seconds) on the status line.
    func transcriptLag(_ seconds: Double) {
        lock.lock()
        defer { lock.unlock() }
        lag = seconds
    }

    /// Clears the in-place line at the end.
    func finish() {
        lock.lock()
        defer { lock.unlock() }
        clearLineLocked()
    }

    private var statusText: String {
        var parts = [state, String(format: "%.1f s audio", audioSeconds)]
        if let lag { parts.append(String(format: "lag %.1f s", lag)) }
        if showsLevel {
            let bars = min(10, Int((level * 40).rounded()))
            parts.append("level " + String(repeating: "▮", count: bars) + String(repeating: "▯", count: 10 - bars))
        }
        return parts.filter { !$0.isEmpty }.joined(separator: " · ")
    }

    private func redrawLocked() {
        if format == .text && stdoutIsTerminal {
            // The partial on stdout, the status line after it on stderr (both on the terminal).
            write("\r\u{1B}[2K" + (partial.isEmpty ? "" : "… " + partial))
            if stderrIsTerminal {
                FileHandle.standardError.write(Data("  \u{1B}[2m[\(statusText)]\u{1B}[0m".utf8))
            }
        } else if stderrIsTerminal {
            FileHandle.standardError.write(Data(("\r\u{1B}[2K[\(statusText)]").utf8))
        }
    }

    private func clearLineLocked() {
        if format == .text && stdoutIsTerminal {
            write("\r\u{1B}[2K")
        } else if stderrIsTerminal {
            FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
        }
    }

    private func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}

/// The JSON-lines output: one object per event, with the documented names.
enum JSONLines {
    /// The lines for `event`: one for most events, one per revised turn for a speaker revision,
    /// none for the events scripts do not get.
    static func lines(for event: TranscriptEvent) -> [String] {
        guard case .speakerRevision(let revision) = event else { return line(for: event).map { [$0] } ?? [] }
        return revision.turns.map { turn in
            var object: [(key: String, value: JSONValue)] = [
                ("type", .string("speakerRevision")), ("turn", .number(Double(turn.turnOrder))),
            ]
            if let speaker = turn.speaker { object.append(("speaker", .string(speaker))) }
            if let first = turn.words.first, let last = turn.words.last {
                object += [("start", .number(first.start)), ("end", .number(last.end))]
            }
            object.append(("words", .array(turn.words.map(wordObject))))
            return JSONValue.object(object).description
        }
    }

    static func line(for event: TranscriptEvent) -> String? {
        let object: [(key: String, value: JSONValue)]
        switch event {
        case .begin(let info):
            object = [
                ("type", .string("begin")), ("id", .string(info.id)), ("provider", .string(info.provider.rawValue)),
            ]
        case .partial(let transcript):
            object = transcriptObject("partial", transcript)
        case .final(let transcript):
            object = transcriptObject("final", transcript)
        case .translation(let translation):
            object = [
                ("type", .string("translation")), ("language", .string(translation.language)),
                ("text", .string(translation.text)), ("start", .number(translation.start)),
                ("end", .number(translation.end)), ("partial", .bool(translation.isPartial)),
            ]
        case .audioEvent(let sound):
            object =
                [
                    ("type", .string("audioEvent")), ("event", .string(sound.kind.rawValue)),
                    ("name", .string(sound.type)), ("time", .number(sound.time)),
                ] + (sound.confidence.map { [("confidence", .number($0))] } ?? [])
                + (sound.channel.map { [("channel", .string($0))] } ?? [])
        case .endOfUtterance, .speechStarted, .info, .warning, .raw, .speakers, .speakerRevision, .lagging:
            // Not among the event types scripts expect (begin, partial, final, terminated, error;
            // reconnecting and reconnected with --reconnect only): warnings go to stderr.
            return nil
        case .reconnecting(let notice):
            object =
                [("type", .string("reconnecting"))] + reasonFields(notice.reason) + [
                    ("session", .number(Double(notice.sessionIndex))),
                    ("attempt", .number(Double(notice.attempt))), ("delay", .number(seconds(notice.delay))),
                ]
        case .reconnected(let notice):
            object =
                [("type", .string("reconnected"))] + reasonFields(notice.reason) + [
                    ("session", .number(Double(notice.sessionIndex))),
                    ("id", .string(notice.session.id)), ("attempts", .number(Double(notice.attempts))),
                    ("audioOffset", .number(notice.audioOffset)), ("replayedAudio", .number(notice.replayedAudio)),
                    ("lostAudio", .number(notice.lostAudio)),
                ]
        case .terminated(let summary):
            object = [
                ("type", .string("terminated")), ("audioDuration", .number(summary.audioDuration)),
                ("sessionDuration", .number(summary.sessionDuration)),
            ]
        case .error(let error):
            var fields: [(key: String, value: JSONValue)] = [
                ("type", .string("error")), ("code", .string(error.code.description)),
                ("message", .string(error.reason)),
                ("retryable", .bool(error.isRetryable)),
            ]
            if let vendorCode = error.vendorCode { fields.append(("vendorCode", .string(vendorCode))) }
            if let closeCode = error.closeCode { fields.append(("closeCode", .number(Double(closeCode)))) }
            if let status = error.httpStatus { fields.append(("httpStatus", .number(Double(status)))) }
            object = fields
        }
        return JSONValue.object(object).description
    }

    /// `{"type":"stats",…}` (`--stats`): seconds and counts; a time not known yet is left out.
    static func statsLine(_ stats: SessionStatistics) -> String {
        var fields: [(key: String, value: JSONValue)] = [
            ("type", .string("stats")), ("audioSent", .number(stats.audioSecondsSent)),
        ]
        func add(_ key: String, _ seconds: Double?) {
            if let seconds { fields.append((key, .number(seconds))) }
        }
        add("audioAcknowledged", stats.audioSecondsAcknowledged)
        add("transcribedUntil", stats.transcribedUntil)
        add("transcriptLag", stats.transcriptLag)
        add("maxTranscriptLag", stats.maxTranscriptLag)
        add("timeToFirstPartial", stats.timeToFirstPartial.map(seconds))
        add("timeToFirstFinal", stats.timeToFirstFinal.map(seconds))
        add("receiveToEventLatency", stats.receiveToEventLatency.map(seconds))
        add("maxReceiveToEventLatency", stats.maxReceiveToEventLatency.map(seconds))
        add("meanReceiveToEventLatency", stats.meanReceiveToEventLatency.map(seconds))
        add("lastMessageAge", stats.lastMessageAge.map(seconds))
        add("pingRoundTrip", stats.pingRoundTrip.map(seconds))
        fields += [
            ("partials", .number(Double(stats.partialCount))), ("finals", .number(Double(stats.finalCount))),
            ("reconnections", .number(Double(stats.reconnections))), ("rollovers", .number(Double(stats.rollovers))),
            ("lostAudio", .number(stats.lostAudioSeconds)),
        ]
        return JSONValue.object(fields).description
    }

    /// The statistics as one line of text for stderr (`--stats` with `--format text`).
    static func statsText(_ stats: SessionStatistics) -> String {
        func time(_ duration: Duration?) -> String {
            duration.map { String(format: "%.2f s", seconds($0)) } ?? "none"
        }
        func milliseconds(_ duration: Duration?) -> String {
            duration.map { String(format: "%.1f ms", seconds($0) * 1000) } ?? "none"
        }
        var text = String(format: "transcribe: stats: audio sent %.2f s", stats.audioSecondsSent)
        if let acknowledged = stats.audioSecondsAcknowledged {
            text += String(format: " (acknowledged %.2f s)", acknowledged)
        }
        text += String(format: ", transcript lag %.2f s (max %.2f s)", stats.transcriptLag, stats.maxTranscriptLag)
        text +=
            ", first partial after \(time(stats.timeToFirstPartial)), first final after \(time(stats.timeToFirstFinal))"
        text +=
            ", receive→event \(milliseconds(stats.receiveToEventLatency)) (max \(milliseconds(stats.maxReceiveToEventLatency)), mean \(milliseconds(stats.meanReceiveToEventLatency)))"
        text += ", last message \(time(stats.lastMessageAge)) ago, ping \(milliseconds(stats.pingRoundTrip))"
        text += ", \(stats.partialCount) partials, \(stats.finalCount) finals"
        text += ", \(stats.reconnections) reconnections, \(stats.rollovers) rollovers"
        text += String(format: ", %.2f s of audio lost", stats.lostAudioSeconds)
        return text
    }

    /// `reason`: `failure` (with the error's `code` and `message`) or `rollover`.
    static func reasonFields(_ reason: ReconnectionReason) -> [(key: String, value: JSONValue)] {
        switch reason {
        case .rollover:
            return [("reason", .string("rollover"))]
        case .failure(let error):
            return [
                ("reason", .string("failure")), ("code", .string(error.code.description)),
                ("message", .string(error.reason)),
            ]
        }
    }

    static func transcriptObject(_ type: String, _ transcript: Transcript) -> [(key: String, value: JSONValue)] {
        let words: [JSONValue] = transcript.words.map { word in
            var fields: [(key: String, value: JSONValue)] = [
                ("text", .string(word.text)), ("start", .number(word.start)), ("end", .number(word.end)),
                ("confidence", .number(word.confidence)),
            ]
            if let speaker = word.speaker { fields.append(("speaker", .string(speaker))) }
            return .object(fields)
        }
        return [
            ("type", .string(type)), ("text", .string(transcript.text)), ("start", .number(transcript.start)),
            ("end", .number(transcript.end)), ("words", .array(words)), ("endOfTurn", .bool(transcript.isEndOfTurn)),
        ] + (transcript.speaker.map { [("speaker", .string($0))] } ?? [])
            + (transcript.channel.map { [("channel", .string($0))] } ?? [])
    }

    /// A revised word: `text`, `start`, `end`, `confidence`, and `speaker` when known (the fields
    /// of a transcript's words).
    static func wordObject(_ word: Word) -> JSONValue {
        var fields: [(key: String, value: JSONValue)] = [
            ("text", .string(word.text)), ("start", .number(word.start)), ("end", .number(word.end)),
            ("confidence", .number(word.confidence)),
        ]
        if let speaker = word.speaker { fields.append(("speaker", .string(speaker))) }
        return .object(fields)
    }
}
