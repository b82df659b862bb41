/// A subtitle cue: a few words shown together, from the start of the first to the end of the last.
///
/// ``CaptionBuilder`` makes them from final transcripts; ``subRip(number:)`` and ``webVTT()`` write
/// one as a SubRip (`.srt`) or WebVTT (`.vtt`) cue.
public struct Caption: Sendable, Hashable {
    /// Start of the first word, in seconds from the start of the audio.
    public var start: Double
    /// End of the last word, in seconds from the start of the audio.
    public var end: Double
    /// The lines shown, the first starting with ``label`` and `": "` when there is a label.
    public var lines: [String]
    /// The speaker of the words, when diarization is on and a word of the cue has one.
    public var speaker: String?
    /// The channel label the words were added with (`CaptionBuilder.add(_:channel:)`).
    public var channel: String?

    /// Creates a cue.
    public init(start: Double, end: Double, lines: [String], speaker: String? = nil, channel: String? = nil) {
        self.start = start
        self.end = end
        self.lines = lines
        self.speaker = speaker
        self.channel = channel
    }

    /// The label before the first line: `"S1"` (speaker), `"left"` (channel), `"left S1"` (both),
    /// or `nil` without speaker and channel.
    public var label: String? {
        switch (channel, speaker) {
        case (let channel?, let speaker?): "\(channel) \(speaker)"
        case (let channel?, nil): channel
        case (nil, let speaker?): speaker
        case (nil, nil): nil
        }
    }

    /// The lines, separated by line feeds.
    public var text: String { lines.joined(separator: "\n") }

    /// The cue as SubRip: its number (from 1), its times (`00:00:01,250 --> 00:00:03,800`), its
    /// lines and an empty line.
    public func subRip(number: Int) -> String {
        "\(number)\n\(Self.timestamp(start, ",")) --> \(Self.timestamp(end, ","))\n\(text)\n\n"
    }

    /// The cue as WebVTT: its times (`00:00:01.250 --> 00:00:03.800`), its lines and an empty line.
    /// A WebVTT file starts with ``webVTTHeader``.
    public func webVTT() -> String {
        "\(Self.timestamp(start, ".")) --> \(Self.timestamp(end, "."))\n\(text)\n\n"
    }

    /// The first line of a WebVTT file and the empty line after it.
    public static let webVTTHeader = "WEBVTT\n\n"

    /// A SubRip file of `captions`, numbered from 1.
    public static func subRip(_ captions: [Caption]) -> String {
        captions.enumerated().map { $0.element.subRip(number: $0.offset + 1) }.joined()
    }

    /// A WebVTT file of `captions`, ``webVTTHeader`` included.
    public static func webVTT(_ captions: [Caption]) -> String {
        webVTTHeader + captions.map { $0.webVTT() }.joined()
    }

    /// `HH:MM:SS,mmm` (or with `.`), rounded to the millisecond; negative times are 0.
    static func timestamp(_ seconds: Double, _ separator: String) -> String {
        let milliseconds = seconds.isFinite ? Int((max(0, seconds) * 1000).rounded()) : 0
        func padded(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return padded(milliseconds / 3_600_000, 2) + ":" + padded(milliseconds / 60000 % 60, 2) + ":"
            + padded(milliseconds / 1000 % 60, 2) + separator + padded(milliseconds % 1000, 3)
    }
}

/// Groups the words of final transcripts into subtitle cues.
///
/// It works on words, not on finals, so the same words give the same cues whatever unit the vendor
/// finalises (a word or two for Speechmatics, a whole turn for AssemblyAI). A cue has at most
/// ``maxLines`` lines of ``maxLineLength`` characters and lasts at most ``maxDuration`` seconds (a
/// single longer word excepted), from its first word's start to its last word's end. A new cue
/// starts after a word that ends a sentence (`.`, `?`, `!`, `…`), after a pause of ``minPause``
/// seconds or more, and when the speaker or the channel changes.
///
/// Lines break between words, and two lines are balanced (the longer one as short as possible; on
/// a tie, the second line is the longer); a word is never split, and one longer than a line stands
/// alone on its line. A cue's first line starts with its ``Caption/label`` and `": "` when its
/// words have a speaker (diarization) or a channel label (`"S1: Hello."`, `"left S1: Hello."`). A
/// word without a speaker (no diarization, or one the service could not attribute) never starts a
/// cue by itself: it joins the cue it falls in.
///
/// ```swift
/// var builder = CaptionBuilder()
/// var file = Caption.webVTTHeader
/// for await event in transcriber.events {
///     if case .final(let transcript) = event {
///         for caption in builder.add(transcript) { file += caption.webVTT() }
///     }
/// }
/// for caption in builder.finish() { file += caption.webVTT() }
/// ```
public struct CaptionBuilder: Sendable, Hashable {
    /// The most characters on a line, the label included (42).
    public var maxLineLength: Int
    /// The most lines in a cue (2).
    public var maxLines: Int
    /// The longest cue, in seconds (7).
    public var maxDuration: Double
    /// The silence between two words, in seconds, that starts a new cue (0.5).
    public var minPause: Double

    private var words: [String] = []
    private var start = 0.0
    private var end = 0.0
    private var speaker: String?
    private var channel: String?

    /// Creates a builder with the usual limits of subtitles.
    public init(maxLineLength: Int = 42, maxLines: Int = 2, maxDuration: Double = 7, minPause: Double = 0.5) {
        self.maxLineLength = max(1, maxLineLength)
        self.maxLines = max(1, maxLines)
        self.maxDuration = maxDuration
        self.minPause = minPause
    }

    /// Adds the words of a final transcript, in time order, and returns the cues they complete.
    ///
    /// - Parameters:
    ///   - transcript: a final (partials may still change: do not add them).
    ///   - channel: the label of the audio channel the transcript belongs to, for a multichannel
    ///     session; `nil` otherwise. A change of channel starts a new cue.
    public mutating func add(_ transcript: Transcript, channel: String? = nil) -> [Caption] {
        add(transcript.words, channel: channel)
    }

    /// Adds words, in time order, and returns the cues they complete.
    ///
    /// - Parameters:
    ///   - words: final words, with punctuation attached (as in ``Transcript/words``).
    ///   - channel: the label of the audio channel they belong to, or `nil`.
    public mutating func add(_ words: [Word], channel: String? = nil) -> [Caption] {
        var captions: [Caption] = []
        for word in words {
            let text = word.text.trimmingWhitespace()
            guard !text.isEmpty else { continue }
            if let previous = self.words.last, startsCue(text, word, channel: channel, after: previous) {
                captions += finish()
            }
            if self.words.isEmpty {
                start = word.start
                end = word.end
                self.channel = channel
            }
            if speaker == nil { speaker = word.speaker }
            self.words.append(text)
            end = max(end, word.end)
        }
        return captions
    }

    /// Returns the cue of the words added since the last cue, if any, and starts afresh.
    public mutating func finish() -> [Caption] {
        guard !words.isEmpty else { return [] }
        let caption = Caption(
            start: start, end: max(start, end), lines: Self.lines(words, label: label, width: maxLineLength),
            speaker: speaker, channel: channel)
        words = []
        speaker = nil
        channel = nil
        start = 0
        end = 0
        return [caption]
    }

    private var label: String? { Caption(start: 0, end: 0, lines: [], speaker: speaker, channel: channel).label }

    private func startsCue(_ text: String, _ word: Word, channel: String?, after previous: String) -> Bool {
        if channel != self.channel { return true }
        if let next = word.speaker, let current = speaker, next != current { return true }
        if Self.endsSentence(previous) { return true }
        // A hair of tolerance: 0.3 + 0.25 + 0.5 is not exactly 1.05 in binary.
        if word.start - end >= minPause - 1e-9 { return true }
        if word.end - start > maxDuration + 1e-9 { return true }
        let label = Caption(start: 0, end: 0, lines: [], speaker: speaker ?? word.speaker, channel: channel).label
        return Self.greedyLines(words + [text], label: label, width: maxLineLength).count > maxLines
    }

    static func endsSentence(_ word: String) -> Bool {
        let closing: Set<Character> = ["\"", "'", "”", "’", ")", "]", "»"]
        guard let last = word.reversed().first(where: { !closing.contains($0) }) else { return false }
        return [".", "?", "!", "…", "。", "？", "！"].contains(last)
    }

    /// `words` on lines of at most `width` characters (a longer word alone on its line), the first
    /// line starting with `label: `; two lines are balanced.
    static func lines(_ words: [String], label: String?, width: Int) -> [String] {
        let greedy = greedyLines(words, label: label, width: width)
        guard greedy.count == 2 else { return greedy }
        let prefix = label.map { "\($0): " } ?? ""
        var best = greedy
        var bestLongest = greedy.map(\.count).max() ?? 0
        for split in 1..<words.count {
            let first = prefix + words[..<split].joined(separator: " ")
            let second = words[split...].joined(separator: " ")
            let fits = { (line: String, count: Int) in line.count <= width || count == 1 }
            guard fits(first, split), fits(second, words.count - split) else { continue }
            let longest = max(first.count, second.count)
            if longest < bestLongest {
                best = [first, second]
                bestLongest = longest
            }
        }
        return best
    }

    /// `words` on as few lines of at most `width` characters as filling each line gives.
    static func greedyLines(_ words: [String], label: String?, width: Int) -> [String] {
        var lines: [String] = []
        var line = label.map { "\($0):" } ?? ""
        var lineHasWord = false
        for word in words {
            let candidate = line.isEmpty ? word : line + " " + word
            if candidate.count <= width || !lineHasWord {
                // A line's first word goes on it (after the label) even if the line gets too long.
                line = candidate
            } else {
                lines.append(line)
                line = word
            }
            lineHasWord = true
        }
        if lineHasWord { lines.append(line) }
        return lines
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        var text = Substring(self)
        while let first = text.first, first.isWhitespace { text.removeFirst() }
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return String(text)
    }
}
