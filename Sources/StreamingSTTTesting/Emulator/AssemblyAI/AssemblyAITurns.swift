/// Turns scripted words into AssemblyAI v3 `Turn` / `SpeechStarted` messages as received audio
/// passes the words' times. A pure state machine: it returns messages and sends nothing.
///
/// Turn boundaries: a turn ends after a word that ends a sentence (`.`, `?`, `!`) once
/// `min_turn_silence` of silence follows it, after any word followed by `max_turn_silence` of
/// silence, at the last word of the script, on `ForceEndpoint`, and on `Terminate` (flush).
struct AssemblyAITurns: Sendable {
    struct Message: Sendable {
        var json: EmulatorJSON
        /// The transcript, when the message is a final (`end_of_turn: true`).
        var final: String?
    }

    private struct TimedWord: Sendable {
        var word: EmulatorScript.Word
        var start: Int
        var end: Int
        var speaker: String
        /// The label after the script's ``EmulatorScript/Word/revisedSpeaker`` (or ``speaker``).
        var revisedSpeaker: String
    }

    var parameters: AssemblyAIParameters
    let language: String
    private let words: [TimedWord]
    private var next = 0
    private var turn: [Int] = []
    private var turnOrder = 0
    private var speechStarted = false
    private var earlyPartialSent = false
    private var silencePartialAfter: Int?

    init(script: EmulatorScript, parameters: AssemblyAIParameters) {
        self.parameters = parameters
        language = script.language
        var labels: [String: String] = [:]
        func label(_ key: String) -> String {
            if let label = labels[key] { return label }
            let index = labels.count
            let label = index < 26 ? String(UnicodeScalar(UInt8(65 + index))) : "S\(index)"
            labels[key] = label
            return label
        }
        let sorted = script.words.sorted { $0.start < $1.start }
        let speakers = sorted.map { $0.speakerIsUnknown ? Self.unknownSpeaker : label($0.speaker ?? "") }
        // Revised speakers take their labels after every original speaker's.
        let revised = sorted.enumerated().map { index, word in
            word.speakerIsUnknown && word.revisedSpeaker == nil
                ? Self.unknownSpeaker : word.revisedSpeaker.map(label) ?? speakers[index]
        }
        words = sorted.enumerated().map { index, word in
            TimedWord(
                word: word, start: Int((word.start * 1000).rounded()), end: Int((word.end * 1000).rounded()),
                speaker: speakers[index], revisedSpeaker: revised[index])
        }
    }

    /// The turns finalized so far: their order, words and the `speaker_label` sent.
    private var finished: [(order: Int, words: [Int], label: String?)] = []

    /// Number of turns finalized so far.
    var finishedTurns: Int { turnOrder }

    private func endsTurn(_ index: Int) -> (ends: Bool, silence: Int) {
        let word = words[index]
        let isLast = index == words.count - 1
        let gap = isLast ? Int.max : words[index + 1].start - word.end
        if word.word.endsSentence && (isLast || gap >= parameters.minTurnSilence) {
            return (true, parameters.minTurnSilence)
        }
        if gap >= parameters.maxTurnSilence || isLast { return (true, parameters.maxTurnSilence) }
        return (false, 0)
    }

    /// Messages due once `audioMilliseconds` of audio have been received.
    mutating func advance(to audioMilliseconds: Int) -> [Message] {
        var messages: [Message] = []
        while true {
            if parameters.family == .u3Pro, turn.isEmpty, !speechStarted, next < words.count,
                audioMilliseconds >= words[next].start
            {
                speechStarted = true
                messages.append(
                    Message(
                        json: .obj([
                            ("type", .string("SpeechStarted")), ("timestamp", .int(words[next].start)),
                            ("confidence", .double(0.987654)),
                        ])))
            }
            if let last = turn.last {
                let (ends, silence) = endsTurn(last)
                if ends {
                    if audioMilliseconds >= words[last].end + silence {
                        messages += finishTurn()
                        continue
                    }
                    break
                }
            }
            if next < words.count, audioMilliseconds >= words[next].end {
                turn.append(next)
                next += 1
                if parameters.family == .universal { messages.append(universalPartial()) }
                continue
            }
            break
        }
        if parameters.family == .u3Pro, let first = turn.first, let last = turn.last {
            let heardNext = next < words.count && audioMilliseconds >= words[next].end
            if !earlyPartialSent,
                audioMilliseconds >= words[first].start + parameters.interruptionDelay + 300
            {
                earlyPartialSent = true
                silencePartialAfter = last
                messages.append(u3Partial())
            } else if silencePartialAfter != last, !heardNext,
                audioMilliseconds >= words[last].end + parameters.minTurnSilence
            {
                silencePartialAfter = last
                messages.append(u3Partial())
            }
        }
        return messages
    }

    /// `ForceEndpoint`: the final of the current turn now, if it has words.
    mutating func forceEndpoint() -> [Message] {
        turn.isEmpty ? [] : finishTurn()
    }

    /// `Terminate`: everything heard so far, finalized.
    mutating func flush(audioMilliseconds: Int) -> [Message] {
        var messages = advance(to: audioMilliseconds)
        if !turn.isEmpty { messages += finishTurn() }
        return messages
    }

    // MARK: - Messages

    private func wordJSON(_ index: Int, formatted: Bool, final: Bool, speaker: String?) -> EmulatorJSON {
        let word = words[index]
        var pairs: [(String, EmulatorJSON)] = [
            ("start", .int(word.start)), ("end", .int(word.end)),
            ("text", .string(formatted ? word.word.written : EmulatorScript.unformatted(word.word.text))),
            ("confidence", .double(word.word.confidence)), ("word_is_final", .bool(final)),
        ]
        if let speaker { pairs.append(("speaker", .string(speaker))) }
        return .obj(pairs)
    }

    private func text(_ indices: [Int], formatted: Bool) -> String {
        indices.map { formatted ? words[$0].word.written : EmulatorScript.unformatted(words[$0].word.text) }
            .joined(separator: " ")
    }

    /// The label of a word or turn whose speaker the service could not tell.
    static let unknownSpeaker = "UNKNOWN"

    /// The turn's `speaker_label`: `UNKNOWN` for a turn under 1 s, else its first known speaker.
    private func speakerLabel(_ indices: [Int]? = nil, revised: Bool = false) -> String? {
        let indices = indices ?? turn
        guard parameters.speakerLabels, let first = indices.first, let last = indices.last else { return nil }
        guard Double(words[last].end - words[first].start) >= 1000 else { return Self.unknownSpeaker }
        return indices.lazy.map { revised ? self.words[$0].revisedSpeaker : self.words[$0].speaker }
            .first { $0 != Self.unknownSpeaker } ?? Self.unknownSpeaker
    }

    /// With `speaker_labels`: a `SpeakerRevision` for the finished turns whose speakers the
    /// script revises (``EmulatorScript/Word/revisedSpeaker``), each with its new `speaker_label`
    /// and its final words with their new `speaker`; `nil` when no turn changes. Sent once.
    mutating func speakerRevision() -> Message? {
        guard parameters.speakerLabels else { return nil }
        var revisions: [EmulatorJSON] = []
        for turn in finished {
            guard let label = speakerLabel(turn.words, revised: true) else { continue }
            let speakerFor: (Int) -> String = { [words] index in
                label == Self.unknownSpeaker ? Self.unknownSpeaker : words[index].revisedSpeaker
            }
            let old: (Int) -> String = { [words] index in
                turn.label == Self.unknownSpeaker ? Self.unknownSpeaker : words[index].speaker
            }
            guard label != turn.label || turn.words.contains(where: { speakerFor($0) != old($0) }) else { continue }
            let formatted = parameters.family == .u3Pro || parameters.formatTurns
            revisions.append(
                .obj([
                    ("turn_order", .int(turn.order)), ("speaker_label", .string(label)),
                    (
                        "words",
                        .array(
                            turn.words.map { wordJSON($0, formatted: formatted, final: true, speaker: speakerFor($0)) })
                    ),
                ]))
        }
        finished.removeAll()
        guard !revisions.isEmpty else { return nil }
        return Message(json: .obj([("type", .string("SpeakerRevision")), ("revisions", .array(revisions))]))
    }

    private func turnJSON(
        formatted: Bool, endOfTurn: Bool, transcript: String, confidence: EmulatorJSON, words: [EmulatorJSON],
        utterance: String
    ) -> EmulatorJSON {
        var pairs: [(String, EmulatorJSON)] = [
            ("turn_order", .int(turnOrder)), ("turn_is_formatted", .bool(formatted)),
            ("end_of_turn", .bool(endOfTurn)), ("transcript", .string(transcript)),
            ("end_of_turn_confidence", confidence), ("words", .array(words)), ("utterance", .string(utterance)),
        ]
        if parameters.languageDetection && (endOfTurn || !utterance.isEmpty) {
            pairs.append(("language_code", .string(language)))
            pairs.append(("language_confidence", .double(0.999997)))
        }
        if endOfTurn, let label = speakerLabel() { pairs.append(("speaker_label", .string(label))) }
        pairs.append(("type", .string("Turn")))
        return .obj(pairs)
    }

    /// Universal: every heard word, only the last one not final; `transcript` holds the final ones.
    private func universalPartial() -> Message {
        let finals = Array(turn.dropLast())
        let wordList = turn.enumerated().map { position, index in
            wordJSON(index, formatted: false, final: position < turn.count - 1, speaker: nil)
        }
        let confidence = min(0.1, parameters.endOfTurnConfidenceThreshold / 2)
        return Message(
            json: turnJSON(
                formatted: false, endOfTurn: false, transcript: text(finals, formatted: false),
                confidence: .double((confidence * 1000).rounded() / 1000), words: wordList, utterance: ""))
    }

    /// u3-rt-pro: all words not final, not formatted, confidence 0, no utterance.
    private func u3Partial() -> Message {
        let wordList = turn.map { wordJSON($0, formatted: true, final: false, speaker: nil) }
        return Message(
            json: turnJSON(
                formatted: false, endOfTurn: false, transcript: text(turn, formatted: true), confidence: .int(0),
                words: wordList, utterance: ""))
    }

    private mutating func finishTurn() -> [Message] {
        var messages: [Message] = []
        let label = speakerLabel()
        let speakerFor: (Int) -> String? = { [words] index in
            guard let label else { return nil }
            return label == Self.unknownSpeaker ? Self.unknownSpeaker : words[index].speaker
        }
        switch parameters.family {
        case .u3Pro:
            let transcript = text(turn, formatted: true)
            messages.append(
                Message(
                    json: turnJSON(
                        formatted: true, endOfTurn: true, transcript: transcript, confidence: .int(1),
                        words: turn.map { wordJSON($0, formatted: true, final: true, speaker: speakerFor($0)) },
                        utterance: transcript),
                    final: transcript))
        case .universal:
            let confidence = ((1 + parameters.endOfTurnConfidenceThreshold) / 2 * 1000).rounded() / 1000
            let plain = text(turn, formatted: false)
            messages.append(
                Message(
                    json: turnJSON(
                        formatted: false, endOfTurn: true, transcript: plain, confidence: .double(confidence),
                        words: turn.map { wordJSON($0, formatted: false, final: true, speaker: speakerFor($0)) },
                        utterance: plain),
                    final: plain))
            if parameters.formatTurns {
                let formatted = text(turn, formatted: true)
                messages.append(
                    Message(
                        json: turnJSON(
                            formatted: true, endOfTurn: true, transcript: formatted, confidence: .double(confidence),
                            words: turn.map { wordJSON($0, formatted: true, final: true, speaker: speakerFor($0)) },
                            utterance: formatted),
                        final: formatted))
            }
        }
        if parameters.speakerLabels { finished.append((turnOrder, turn, label)) }
        turn.removeAll()
        turnOrder += 1
        speechStarted = false
        earlyPartialSent = false
        silencePartialAfter = nil
        return messages
    }
}
