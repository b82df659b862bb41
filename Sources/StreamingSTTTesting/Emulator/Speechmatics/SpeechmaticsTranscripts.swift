/// Turns scripted words into Speechmatics `AddTranscript` / `AddPartialTranscript` /
/// `EndOfUtterance` messages as received audio passes the words' times. A pure state machine.
///
/// Finals come every `finalCadence` seconds of audio and cover the audio up to `finalLatency`
/// (at most `max_delay`) behind the received audio; they are empty during silence. Partials (with
/// `enable_partials`) carry every heard word not yet final and follow each final and each newly
/// heard word. All times are kept in whole milliseconds.
struct SpeechmaticsTranscripts: Sendable {
    struct Message: Sendable {
        var json: EmulatorJSON
        /// `metadata.transcript` of a final.
        var final: String?
    }

    private struct TimedWord: Sendable {
        var word: EmulatorScript.Word
        var start: Int
        var end: Int
        var speaker: String
    }

    var config: SpeechmaticsConfig
    /// The channel label of a multichannel session's engine (one engine per channel), carried on
    /// the root of every transcript and `EndOfUtterance`; `nil` for a single channel.
    private let channel: String?
    private let cadence: Int
    private let finalLatency: Int
    private let words: [TimedWord]
    private let delimiter: String
    /// Index of the first word not yet final.
    private var finalized = 0
    /// Index of the first word not yet heard.
    private var heard = 0
    /// The audio time finals cover so far.
    private var horizon = 0
    private var ticks = 0
    private var lastPartial: Range<Int> = 0..<0
    private var utteranceHasSpeech = false
    private var lastFinalEnd = 0
    private(set) var speakersSeen: [String] = []
    private let translationTable: [String: [String: String]]
    /// Index of the first final word not yet in a final translation.
    private var translated = 0
    /// The words of the last partial translation sent (to send a changed one only).
    private var lastPartialTranslation: Range<Int> = 0..<0

    init(
        script: EmulatorScript, config: SpeechmaticsConfig, behaviour: SpeechmaticsBehaviour, channel: String? = nil
    ) {
        self.config = config
        self.channel = channel
        cadence = max(10, Int((behaviour.finalCadence * 1000).rounded()))
        finalLatency = max(0, Int((behaviour.finalLatency * 1000).rounded()))
        delimiter = SpeechmaticsConfig.languages[config.language]?.delimiter ?? " "
        translationTable = script.translations
        var labels: [String: String] = [:]
        words = script.words.sorted { $0.start < $1.start }.map { word in
            let key = word.speaker ?? ""
            if labels[key] == nil && !word.speakerIsUnknown { labels[key] = "S\(labels.count + 1)" }
            return TimedWord(
                word: word, start: Int((word.start * 1000).rounded()), end: Int((word.end * 1000).rounded()),
                speaker: word.speakerIsUnknown ? Self.unknownSpeaker : labels[key]!)
        }
    }

    /// The label of a word whose speaker the service could not tell (never in `SpeakersResult`).
    static let unknownSpeaker = "UU"

    private var latency: Int { min(finalLatency, Int((config.maxDelay * 1000).rounded())) }

    /// Messages due once `audio` milliseconds of audio have been received.
    mutating func advance(to audio: Int) -> [Message] {
        var messages: [Message] = []
        while (ticks + 1) * cadence <= audio {
            ticks += 1
            let cover = ticks * cadence - latency
            guard cover > horizon else { continue }
            hear(upTo: min(audio, cover))
            messages.append(final(upTo: cover, forced: false))
            messages += partialAfterFinal()
        }
        hear(upTo: audio)
        messages += endOfUtteranceIfDue(audio: audio)
        messages += partialIfChanged()
        return messages
    }

    /// `ForceEndOfUtterance`: a forced final of everything heard (up to `timestamp`), then a
    /// forced `EndOfUtterance`.
    mutating func forceEndOfUtterance(audio: Int, timestamp: Int?) -> [Message] {
        var messages = advance(to: audio)
        let cover = max(horizon, min(audio, timestamp ?? audio))
        messages.append(final(upTo: cover, forced: true))
        messages += partialAfterFinal()
        messages.append(endOfUtterance(at: lastFinalEnd, forced: true))
        utteranceHasSpeech = false
        return messages
    }

    /// `EndOfStream`: finals for everything heard.
    mutating func flush(audio: Int) -> [Message] {
        var messages = advance(to: audio)
        if finalized < heard || horizon < audio {
            messages.append(final(upTo: audio, forced: false))
            messages += partialAfterFinal()
        }
        return messages + translations(flushing: true)
    }

    private mutating func hear(upTo audio: Int) {
        while heard < words.count, words[heard].end <= audio { heard += 1 }
    }

    // MARK: - Messages

    private func seconds(_ milliseconds: Int) -> EmulatorJSON { .double(Double(milliseconds) / 1000) }

    private func results(_ range: Range<Int>) -> (results: [EmulatorJSON], transcript: String) {
        var results: [EmulatorJSON] = []
        var tokens: [String] = []
        for index in range {
            let word = words[index]
            var alternative: [(String, EmulatorJSON)] = [
                ("confidence", .double(word.word.confidence)), ("content", .string(word.word.text)),
                ("language", .string(config.language)),
            ]
            if config.speakers { alternative.append(("speaker", .string(word.speaker))) }
            results.append(
                .obj([
                    ("alternatives", .array([.obj(alternative)])), ("end_time", seconds(word.end)),
                    ("start_time", seconds(word.start)), ("type", .string("word")),
                ]))
            tokens.append(word.word.text)
            if let mark = word.word.punctuation, config.permittedMarks.map({ $0.contains(mark) }) ?? true {
                var punctuation: [(String, EmulatorJSON)] = [
                    ("confidence", .double(1.0)), ("content", .string(mark)), ("language", .string(config.language)),
                ]
                if config.speakers { punctuation.append(("speaker", .string(word.speaker))) }
                results.append(
                    .obj([
                        ("alternatives", .array([.obj(punctuation)])), ("attaches_to", .string("previous")),
                        ("end_time", seconds(word.end)), ("is_eos", .bool(word.word.endsSentence)),
                        ("start_time", seconds(word.end)), ("type", .string("punctuation")),
                    ]))
                tokens[tokens.count - 1] += mark
            }
        }
        let transcript = tokens.isEmpty ? "" : tokens.joined(separator: delimiter) + delimiter
        return (results, transcript)
    }

    private func transcriptMessage(
        _ name: String, range: Range<Int>, start: Int, end: Int, forced: Bool
    ) -> (EmulatorJSON, String) {
        let (results, transcript) = results(range)
        var pairs: [(String, EmulatorJSON)] = [
            ("message", .string(name)), ("format", .string("2.9")), ("results", .array(results)),
            (
                "metadata",
                .obj([("end_time", seconds(end)), ("start_time", seconds(start)), ("transcript", .string(transcript))])
            ),
        ]
        if forced { pairs.append(("forced", .bool(true))) }
        if let channel { pairs.append(("channel", .string(channel))) }
        return (.obj(pairs), transcript)
    }

    /// A final for the heard words ending at or before `cover`.
    private mutating func final(upTo cover: Int, forced: Bool) -> Message {
        var last = finalized
        while last < heard, words[last].end <= cover { last += 1 }
        let range = finalized..<last
        // An empty final runs from the previous final's end, and stops where the next word starts,
        // so that the finals' metadata never overlap.
        let nextStart = finalized < words.count ? words[finalized].start : Int.max
        let start = range.isEmpty ? lastFinalEnd : words[range.lowerBound].start
        let end = range.isEmpty ? max(lastFinalEnd, min(cover, nextStart)) : words[range.upperBound - 1].end
        let (json, transcript) = transcriptMessage(
            "AddTranscript", range: range, start: start, end: end, forced: forced)
        for index in range
        where words[index].speaker != Self.unknownSpeaker && !speakersSeen.contains(words[index].speaker) {
            speakersSeen.append(words[index].speaker)
        }
        if !range.isEmpty { utteranceHasSpeech = true }
        finalized = last
        horizon = max(horizon, cover)
        lastFinalEnd = end
        return Message(json: json, final: transcript)
    }

    /// "On each Final transcript you will immediately receive a Partial transcript with any
    /// remaining words which have not been finalized" (empty when there are none).
    private mutating func partialAfterFinal() -> [Message] {
        partial(evenIfUnchanged: true) + translations(flushing: false)
    }

    private mutating func partialIfChanged() -> [Message] { partial(evenIfUnchanged: false) }

    private mutating func partial(evenIfUnchanged: Bool) -> [Message] {
        guard config.enablePartials else { return [] }
        let range = finalized..<max(finalized, heard)
        guard evenIfUnchanged || (range != lastPartial && !(range.isEmpty && lastPartial.isEmpty)) else { return [] }
        lastPartial = range
        let start = range.isEmpty ? lastFinalEnd : words[range.lowerBound].start
        let end = range.isEmpty ? lastFinalEnd : words[range.upperBound - 1].end
        let (json, _) = transcriptMessage("AddPartialTranscript", range: range, start: start, end: end, forced: false)
        return [Message(json: json)]
    }

    // MARK: - Translations

    /// After a final: an `AddTranslation` per target language for the sentences the finals have
    /// completed (all final words when `flushing`), one result per sentence; then, with
    /// translation partials, an `AddPartialTranslation` per language for the final words of the
    /// unfinished sentence. Translations have no `channel`.
    private mutating func translations(flushing: Bool) -> [Message] {
        guard !config.translationTargets.isEmpty else { return [] }
        var messages: [Message] = []
        var complete = translated
        for index in translated..<finalized where flushing || words[index].word.endsSentence { complete = index + 1 }
        if complete > translated {
            var sentences: [Range<Int>] = []
            var first = translated
            for index in translated..<complete where words[index].word.endsSentence || index == complete - 1 {
                sentences.append(first..<(index + 1))
                first = index + 1
            }
            for language in config.translationTargets {
                messages.append(translationMessage("AddTranslation", language: language, sentences: sentences))
            }
            translated = complete
        }
        let pending = translated..<finalized
        if config.translationPartials, !pending.isEmpty, pending != lastPartialTranslation {
            for language in config.translationTargets {
                messages.append(translationMessage("AddPartialTranslation", language: language, sentences: [pending]))
            }
        }
        lastPartialTranslation = pending
        return messages
    }

    private func translationMessage(_ name: String, language: String, sentences: [Range<Int>]) -> Message {
        let results = sentences.map { range -> EmulatorJSON in
            let source = range.map { words[$0].word.written }.joined(separator: " ")
            var pairs: [(String, EmulatorJSON)] = [
                ("start_time", seconds(words[range.lowerBound].start)),
                ("end_time", seconds(words[range.upperBound - 1].end)),
                ("content", .string(translationTable[language]?[source] ?? source)),
            ]
            if config.speakers { pairs.append(("speaker", .string(words[range.lowerBound].speaker))) }
            return .obj(pairs)
        }
        return Message(
            json: .obj([
                ("message", .string(name)), ("format", .string("2.9")), ("language", .string(language)),
                ("results", .array(results)),
            ]))
    }

    private func endOfUtterance(at time: Int, forced: Bool) -> Message {
        var pairs: [(String, EmulatorJSON)] = [
            ("message", .string("EndOfUtterance")), ("format", .string("2.9")),
            ("metadata", .obj([("end_time", seconds(time)), ("start_time", seconds(time))])),
        ]
        if forced { pairs.append(("forced", .bool(true))) }
        if let channel { pairs.append(("channel", .string(channel))) }
        return Message(json: .obj(pairs))
    }

    /// After `end_of_utterance_silence_trigger` of silence following speech: the final that closes
    /// the utterance (if words are pending), then `EndOfUtterance`.
    private mutating func endOfUtteranceIfDue(audio: Int) -> [Message] {
        let trigger = Int((config.endOfUtteranceSilenceTrigger * 1000).rounded())
        guard trigger > 0, heard > 0, utteranceHasSpeech || finalized < heard else { return [] }
        let lastWord = words[heard - 1]
        guard audio >= lastWord.end + trigger else { return [] }
        if heard < words.count, words[heard].start < lastWord.end + trigger { return [] }
        var messages: [Message] = []
        if finalized < heard {
            messages.append(final(upTo: lastWord.end, forced: false))
            messages += partialAfterFinal()
        }
        messages.append(endOfUtterance(at: lastFinalEnd, forced: false))
        utteranceHasSpeech = false
        return messages
    }
}
