/// What is "said" in the audio a ``TranscriptionEmulator`` session receives.
///
/// The emulator does not listen to the audio: it counts the bytes it receives, turns them into
/// seconds of audio (from the sample rate and encoding the session declared) and releases each
/// scripted word once that much audio has arrived. So silent audio (zeros) gives the scripted
/// transcript, and a test knows in advance exactly what text to expect:
///
/// ```swift
/// let script = EmulatorScript(text: "Hello world. How are you?")
/// // words every 0.4 s from 0.5 s; script.transcript == "Hello world. How are you?"
/// ```
///
/// A word is transcribed only once the received audio reaches its ``Word/end``. Send at least
/// ``duration`` seconds of audio (plus the vendor's end-of-turn silence to see turns end before
/// you stop) to get every word.
public struct EmulatorScript: Sendable, Hashable {
    /// One scripted word.
    public struct Word: Sendable, Hashable {
        /// The word as spoken and written, without trailing punctuation (`"Hello"`).
        public var text: String
        /// When the word starts, in seconds from the start of the audio.
        public var start: Double
        /// When the word ends, in seconds from the start of the audio.
        public var end: Double
        /// The recognition confidence to report (0...1).
        public var confidence: Double
        /// A speaker name, or `nil`. Speakers are numbered by first appearance for each vendor:
        /// AssemblyAI labels `A`, `B`…, Speechmatics labels `S1`, `S2`….
        public var speaker: String?
        /// The service could not tell who said the word: with diarization on, it is labelled with
        /// the vendor's unknown-speaker label (Speechmatics `UU`, AssemblyAI `UNKNOWN`) whatever
        /// ``speaker`` says, and takes no number.
        public var speakerIsUnknown: Bool
        /// Punctuation written right after the word (`"."`, `","`, `"?"`), or `nil`.
        /// `.`, `?` and `!` end a sentence.
        public var punctuation: String?
        /// The speaker the service decides on later, or `nil` to keep ``speaker``: with AssemblyAI
        /// `speaker_labels`, the turns holding such words are relabelled in a `SpeakerRevision`
        /// sent after the last turn, before `Termination` (Speechmatics ignores it).
        public var revisedSpeaker: String?
        /// The audio channel the word is heard on in a multichannel session, counted from 0 in
        /// the order the channels are sent (the first `channel_diarization_labels` entry is 0);
        /// `nil`: on every channel. Single-channel sessions hear every word.
        public var channel: Int?

        /// Creates a word.
        public init(
            text: String, start: Double, end: Double, confidence: Double = 0.98, speaker: String? = nil,
            punctuation: String? = nil, speakerIsUnknown: Bool = false, channel: Int? = nil
        ) {
            self.channel = channel
            self.speakerIsUnknown = speakerIsUnknown
            self.text = text
            self.start = start
            self.end = end
            self.confidence = confidence
            self.speaker = speaker
            self.punctuation = punctuation
        }

        /// The word with its punctuation attached (`"world."`).
        public var written: String { text + (punctuation ?? "") }

        /// `true` when the punctuation ends a sentence (`.`, `?`, `!`).
        public var endsSentence: Bool {
            guard let punctuation else { return false }
            return punctuation.contains { ".?!".contains($0) }
        }
    }

    /// A non-speech sound in the audio (Speechmatics audio events).
    public struct AudioEvent: Sendable, Hashable {
        /// The type the service names it with (`music`, `applause`, `laughter`, or any other).
        public var type: String
        /// When the sound starts, in seconds from the start of the audio.
        public var start: Double
        /// When the sound ends, in seconds from the start of the audio.
        public var end: Double
        /// The confidence `AudioEventStarted` reports (0...1).
        public var confidence: Double
        /// The audio channel the sound is heard on in a multichannel session, counted from 0 like
        /// ``Word/channel``; `nil`: on every channel (each reports it, with its label).
        /// Single-channel sessions hear every sound.
        public var channel: Int?

        /// Creates an audio event.
        public init(type: String, start: Double, end: Double, confidence: Double = 0.87, channel: Int? = nil) {
            self.type = type
            self.start = start
            self.end = end
            self.confidence = confidence
            self.channel = channel
        }
    }

    /// The words, in time order.
    public var words: [Word]
    /// The language code of the speech (`"en"`); reported where the vendor reports a language.
    public var language: String
    /// Translations of the script's ``sentences``: target language → sentence as written → its
    /// translation. A Speechmatics session with `translation_config` translates each finished
    /// sentence with it; a sentence missing here (and a partial translation's unfinished
    /// sentence) is "translated" as itself.
    public var translations: [String: [String: String]] = [:]
    /// The sounds Speechmatics reports with `audio_events_config` (when their type is asked
    /// for): `AudioEventStarted` once the received audio reaches ``AudioEvent/start``,
    /// `AudioEventEnded` once it reaches ``AudioEvent/end``.
    public var audioEvents: [AudioEvent] = []

    /// Creates a script from explicit words.
    public init(words: [Word], language: String = "en") {
        self.words = words
        self.language = language
    }

    /// Creates a script from text: words are split on white space, and punctuation at the end of
    /// a word (`. , ? ! ; :`) becomes its ``Word/punctuation``.
    ///
    /// - Parameters:
    ///   - text: what is said, such as `"Hello world. How are you?"`.
    ///   - startingAt: when the first word starts, in seconds.
    ///   - wordDuration: how long each word lasts, in seconds.
    ///   - gap: the silence between two words of a sentence, in seconds.
    ///   - sentenceGap: the silence after a word that ends a sentence, in seconds.
    ///   - speaker: the speaker of every word, or `nil`.
    ///   - language: the language code.
    ///   - channel: the channel every word is heard on (see ``Word/channel``), or `nil`.
    public init(
        text: String,
        startingAt: Double = 0.5,
        wordDuration: Double = 0.3,
        gap: Double = 0.1,
        sentenceGap: Double = 1.2,
        speaker: String? = nil,
        language: String = "en",
        channel: Int? = nil
    ) {
        var words: [Word] = []
        var time = startingAt
        for token in text.split(whereSeparator: { $0.isWhitespace }) {
            var body = String(token)
            var punctuation = ""
            while let last = body.last, ".,?!;:".contains(last), body.count > 1 {
                punctuation = String(last) + punctuation
                body.removeLast()
            }
            let word = Word(
                text: body, start: Self.round(time), end: Self.round(time + wordDuration), speaker: speaker,
                punctuation: punctuation.isEmpty ? nil : punctuation, channel: channel)
            words.append(word)
            time += wordDuration + (word.endsSentence ? sentenceGap : gap)
        }
        self.init(words: words, language: language)
    }

    /// Creates a script for a recording whose sentences are known only by where they start and how
    /// long they last: each sentence's words are spread over its span (0.1 s in from each end), in
    /// proportion to their length, each lasting 85 % of its share. A trailing `. , ? !` becomes
    /// the word's ``Word/punctuation``.
    ///
    /// - Parameters:
    ///   - timedSentences: each sentence's text, start and duration, in seconds.
    ///   - language: the language code.
    public init(timedSentences: [(text: String, start: Double, duration: Double)], language: String = "en") {
        var words: [Word] = []
        for sentence in timedSentences {
            let tokens = sentence.text.split(separator: " ").map(String.init)
            let letters = Double(tokens.map(\.count).reduce(0, +))
            var time = sentence.start + 0.1
            let usable = sentence.duration - 0.2
            for token in tokens {
                var text = token
                var punctuation: String?
                if let last = text.last, ".,?!".contains(last) {
                    punctuation = String(last)
                    text.removeLast()
                }
                let length = usable * Double(token.count) / letters
                words.append(Word(text: text, start: time, end: time + length * 0.85, punctuation: punctuation))
                time += length
            }
        }
        self.init(words: words, language: language)
    }

    /// The words and sounds heard on channel `index` of a multichannel session (theirs and those
    /// of every channel), as a script of their own, with the script's translations.
    public func channel(_ index: Int) -> EmulatorScript {
        var script = EmulatorScript(
            words: words.filter { $0.channel == nil || $0.channel == index }, language: language)
        script.translations = translations
        script.audioEvents = audioEvents.filter { $0.channel == nil || $0.channel == index }
        return script
    }

    /// Two scripts as one: the words of both, in time order (for instance one per channel), their
    /// sounds, and their translations (the left one's where both translate a sentence).
    public static func + (lhs: EmulatorScript, rhs: EmulatorScript) -> EmulatorScript {
        var script = EmulatorScript(
            words: (lhs.words + rhs.words).sorted { $0.start < $1.start }, language: lhs.language)
        script.translations = lhs.translations.merging(rhs.translations) { left, right in
            left.merging(right) { first, _ in first }
        }
        script.audioEvents = (lhs.audioEvents + rhs.audioEvents).sorted { $0.start < $1.start }
        return script
    }

    /// The full expected text: the words joined with spaces, punctuation attached
    /// (`"Hello world. How are you?"`).
    public var transcript: String { words.map(\.written).joined(separator: " ") }

    /// The text as AssemblyAI's Universal-Streaming models write an unformatted turn: lower case,
    /// without punctuation (`"hello world how are you"`).
    public var unformattedTranscript: String { words.map { Self.unformatted($0.text) }.joined(separator: " ") }

    /// When the last word ends, in seconds (0 for an empty script).
    public var duration: Double { words.map(\.end).max() ?? 0 }

    /// The sentences, each as written (`["Hello world.", "How are you?"]`).
    public var sentences: [String] {
        var result: [String] = []
        var current: [String] = []
        for word in words {
            current.append(word.written)
            if word.endsSentence {
                result.append(current.joined(separator: " "))
                current.removeAll()
            }
        }
        if !current.isEmpty { result.append(current.joined(separator: " ")) }
        return result
    }

    static func unformatted(_ text: String) -> String {
        String(text.lowercased().filter { $0.isLetter || $0.isNumber || $0 == "'" || $0 == "-" })
    }

    /// Rounds to whole milliseconds, so scripted times compare exactly with byte-count times.
    static func round(_ seconds: Double) -> Double { (seconds * 1000).rounded() / 1000 }
}
