import struct Foundation.Date

/// AssemblyAI v3 server messages → neutral outputs.
///
/// Finals: a `Turn` with `end_of_turn == true` is final, except that with `format_turns` on a
/// Universal-Streaming model the unformatted end-of-turn message is followed by a formatted one with
/// the same `turn_order`: only that one is final (the unformatted one is delivered as a partial).
/// If the formatted message never comes (a new turn starts, or the session ends), the unformatted
/// text is delivered as the final instead, so nothing is lost. A final is never delivered twice for
/// one `turn_order`, and an end of turn with no words is not delivered.
///
/// A `SpeakerRevision` of the turn whose final is held (received between the unformatted and the
/// formatted end of turn) revises a turn the caller has no final of yet: it is delivered as it
/// came, and applied to that turn's final when it is delivered (the formatted one, or the held one
/// when the formatted never comes), so the final carries the revised speakers. The latest
/// revision of the turn wins; a word takes the speaker of the revision's word with the same start
/// and end, or the turn's speaker when the revision does not list it.
package struct AssemblyAIDecoder: Sendable {
    private let isU3ProFamily: Bool
    private var waitsForFormattedFinal: Bool
    package var deliversRawMessages: Bool
    /// Turns already final: a turn's final is delivered once, whatever order messages come in.
    private var finalTurns = Set<Int>()
    private var pendingUnformatted: Transcript?
    /// The latest speaker revision of the held turn, for the final delivered for it.
    private var heldRevision: SpeakerRevision.Turn?

    package init(configuration: AssemblyAI, deliversRawMessages: Bool = false) {
        self.deliversRawMessages = deliversRawMessages
        isU3ProFamily = configuration.speechModel.isU3ProFamily
        waitsForFormattedFinal = configuration.formatTurns == true && !isU3ProFamily
    }

    /// `format_turns` changed mid-session (`UpdateConfiguration`): from now on the formatted
    /// end-of-turn message is (or is no longer) the one to wait for.
    package mutating func apply(_ update: ConfigurationUpdate) {
        if let formatTurns = update.formatTurns { waitsForFormattedFinal = formatTurns && !isU3ProFamily }
    }

    package mutating func decode(_ text: String) -> [DecodedMessage] {
        let json: JSONValue
        switch JSONValue.parseMessage(text, provider: .assemblyAI) {
        case .success(let value): json = value
        case .failure(let warning): return [.event(warning)]
        }
        let type = json["type"]?.stringValue
        let raw = RawMessage(provider: .assemblyAI, type: type ?? "", text: text)
        var outputs: [DecodedMessage] = []
        if deliversRawMessages {
            outputs.append(.event(.raw(raw)))
        }
        switch type {
        case "Begin":
            let expires = json["expires_at"]?.looseDouble.map { Date(timeIntervalSince1970: $0) }
            let info = SessionInfo(
                provider: .assemblyAI, id: json["id"]?.stringValue ?? "", expiresAt: expires,
                raw: raw)
            outputs += [.started(info), .event(.begin(info))]
        case "Turn":
            outputs += turn(json, raw: raw)
        case "SpeechStarted":
            let time = (json["timestamp"]?.looseDouble ?? 0) / 1000
            outputs.append(
                .event(
                    .speechStarted(SpeechStarted(time: time, confidence: json["confidence"]?.doubleValue, raw: raw))))
        case "SpeakerRevision":
            let turns = (json["revisions"]?.arrayValue ?? []).map { revision in
                SpeakerRevision.Turn(
                    turnOrder: revision["turn_order"]?.intValue ?? 0,
                    speaker: Self.speaker(revision["speaker_label"]?.stringValue),
                    words: (revision["words"]?.arrayValue ?? []).map(Self.word))
            }
            if let pending = pendingUnformatted,
                let revised = turns.last(where: { $0.turnOrder == pending.turnOrder })
            {
                heldRevision = revised
                pendingUnformatted = Self.revise(pending, with: revised)
            }
            outputs.append(.event(.speakerRevision(SpeakerRevision(turns: turns, raw: raw))))
        case "Termination":
            outputs += flush()
            outputs.append(
                .finished(
                    SessionEnd(
                        raw: raw, audioDuration: json["audio_duration_seconds"]?.looseDouble,
                        sessionDuration: json["session_duration_seconds"]?.looseDouble)))
        case "Error":
            outputs += flush()
            outputs.append(
                .failed(
                    Self.error(
                        code: json["error_code"]?.intValue, text: json["error"]?.stringValue ?? "", closeCode: nil)))
        case "Warning":
            let code = json["warning_code"].map { $0.intValue.map(String.init) ?? $0.description } ?? "warning"
            outputs.append(
                .event(.warning(VendorNotice(type: code, reason: json["warning"]?.stringValue ?? "", raw: raw))))
        case nil where json["error"] != nil:
            // The legacy error shape: no type, an `error` member.
            outputs += flush()
            outputs.append(
                .failed(
                    Self.error(
                        code: json["error_code"]?.intValue, text: json["error"]?.stringValue ?? "", closeCode: nil)))
        default:
            if !deliversRawMessages {
                outputs.append(.event(.raw(raw)))
            }
        }
        return outputs
    }

    /// Whether `text` is empty or only spaces and tabs (what `CharacterSet.whitespaces` trims:
    /// Unicode space separators, U+0009 and U+200B), without Foundation's slow bridged trimming.
    static func isBlank(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy {
            $0 == "\t" || $0 == "\u{200B}" || $0.properties.generalCategory == .spaceSeparator
        }
    }

    /// A turn's or word's speaker: its label, or `nil` for none or for `UNKNOWN`, the label the
    /// service gives when it cannot tell (a turn under about 1 s; never a speaker's name).
    static func speaker(_ label: String?) -> String? { label == "UNKNOWN" ? nil : label }

    /// A `Turn`'s or `SpeakerRevision`'s word (times in milliseconds).
    static func word(_ word: JSONValue) -> Word {
        Word(
            text: word["text"]?.stringValue ?? "", start: (word["start"]?.looseDouble ?? 0) / 1000,
            end: (word["end"]?.looseDouble ?? 0) / 1000, confidence: word["confidence"]?.doubleValue ?? 0,
            speaker: Self.speaker(word["speaker"]?.stringValue), isFinal: word["word_is_final"]?.boolValue)
    }

    private mutating func turn(_ json: JSONValue, raw: RawMessage) -> [DecodedMessage] {
        let order = json["turn_order"]?.intValue ?? 0
        guard !finalTurns.contains(order) else { return [] }  // a late or repeated message of a finished turn
        var outputs: [DecodedMessage] = []
        if let pending = pendingUnformatted, pending.turnOrder != order {
            outputs += flush()  // another turn began without the formatted final of the pending one
        }
        let endOfTurn = json["end_of_turn"]?.boolValue ?? false
        let formatted = json["turn_is_formatted"]?.boolValue ?? false
        let words = (json["words"]?.arrayValue ?? []).map(Self.word)
        let transcriptText = json["transcript"]?.stringValue ?? ""
        let joined = words.map(\.text).filter { !$0.isEmpty }.joined(separator: " ")
        var transcript = Transcript(
            text: endOfTurn
                ? (transcriptText.isEmpty ? joined : transcriptText) : (joined.isEmpty ? transcriptText : joined),
            start: words.first?.start ?? 0, end: words.last?.end ?? 0, words: words, isEndOfTurn: endOfTurn,
            turnOrder: order, language: json["language_code"]?.stringValue,
            speaker: Self.speaker(json["speaker_label"]?.stringValue),
            endOfTurnConfidence: json["end_of_turn_confidence"]?.doubleValue,
            utterance: json["utterance"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }, raw: raw,
            languageConfidence: json["language_confidence"]?.looseDouble)
        if endOfTurn, let revised = heldRevision, revised.turnOrder == order {
            transcript = Self.revise(transcript, with: revised)
        }
        if !endOfTurn {
            transcript.isEndOfTurn = false
            outputs.append(.event(.partial(transcript)))
        } else if waitsForFormattedFinal && !formatted {
            pendingUnformatted = transcript
            outputs.append(.event(.partial(transcript)))
        } else {
            pendingUnformatted = nil
            heldRevision = nil
            finalTurns.insert(order)
            if !Self.isBlank(transcript.text) {
                outputs.append(.event(.final(transcript)))
            }
        }
        return outputs
    }

    package mutating func flush() -> [DecodedMessage] {
        guard let pending = pendingUnformatted else { return [] }
        pendingUnformatted = nil
        heldRevision = nil  // already applied to `pending`
        guard finalTurns.insert(pending.turnOrder).inserted else { return [] }
        return Self.isBlank(pending.text) ? [] : [.event(.final(pending))]
    }

    /// `transcript` with the speakers of `revision`: the turn's, and each word's from the
    /// revision's word with the same times (the turn's speaker when the revision does not list it).
    static func revise(_ transcript: Transcript, with revision: SpeakerRevision.Turn) -> Transcript {
        var revised = transcript
        revised.speaker = revision.speaker
        for index in revised.words.indices {
            let word = revised.words[index]
            if let match = revision.words.first(where: { $0.start == word.start && $0.end == word.end }) {
                revised.words[index].speaker = match.speaker
            } else {
                revised.words[index].speaker = revision.speaker
            }
        }
        return revised
    }

    /// The error a close code means without a preceding `Error` message, or `nil` for 1000.
    package func closeError(code: UInt16, reason: String) -> TranscriptionError? {
        if code == 1000 { return nil }
        var error = Self.error(code: Int(code), text: reason, closeCode: code)
        if error.code == .vendorError { error.code = .serverClosed }
        return error
    }

    /// Maps an AssemblyAI error or close code, following the SDKs' table and the docs' guidance.
    static func error(code: Int?, text: String, closeCode: UInt16?) -> TranscriptionError {
        let vendorCode = code.map(String.init)
        let close = closeCode ?? code.flatMap { UInt16(exactly: $0) }
        func make(_ kind: TranscriptionError.Code, retryable: Bool, _ fallback: String) -> TranscriptionError {
            TranscriptionError(
                kind, provider: .assemblyAI, vendorCode: vendorCode, reason: text.isEmpty ? fallback : text,
                closeCode: close, isRetryable: retryable)
        }
        switch code {
        case 1008:
            let lower = text.lowercased()
            if lower.contains("concurrent") || lower.contains("too many") {
                return make(.vendorError, retryable: true, "too many concurrent sessions")
            }
            return make(.authenticationFailed, retryable: false, "unauthorized connection")
        case 3005: return make(.vendorError, retryable: true, "server error")
        case 3006: return make(.vendorError, retryable: false, "input validation error")
        case 3007: return make(.vendorError, retryable: false, "audio chunk duration or rate violation")
        case 3008: return make(.vendorError, retryable: true, "session expired: maximum session duration exceeded")
        case 3009: return make(.vendorError, retryable: true, "too many concurrent sessions")
        case 1011, 1012, 1013, 1014: return make(.vendorError, retryable: true, "temporary server condition")
        case 1001, 1005: return make(.connectionLost, retryable: true, "the service went away")
        case 4001, 4002, 4003: return make(.authenticationFailed, retryable: false, "not authorized or no funds")
        case 4008, 4031: return make(.vendorError, retryable: true, "session expired or idle")
        default: return make(.vendorError, retryable: false, "error \(vendorCode ?? "without a code")")
        }
    }
}
