/// A translation of what was said (Speechmatics `AddTranslation` / `AddPartialTranslation`, with
/// `Speechmatics.translationConfig`).
///
/// Translations carry no identifier of the transcripts they translate: a translation covers the
/// audio from ``start`` to ``end``, and the transcripts it belongs to are the finals whose words
/// lie in that span (in the same session: times are on the same clock as ``Transcript/start``).
/// The service translates whole sentences, so one translation usually spans several finals, and
/// it comes after the last of them. A partial translation replaces the previous partial of its
/// ``language``; a final one never changes and is never repeated.
public struct Translation: Sendable, Hashable {
    /// One translated piece of the audio (a result of the vendor's message, usually a sentence).
    public struct Segment: Sendable, Hashable {
        /// The translated text.
        public var text: String
        /// Start of the audio it translates, in seconds from the start of the audio.
        public var start: Double
        /// End of the audio it translates, in seconds from the start of the audio.
        public var end: Double
        /// The speaker, when diarization is on and the service knows (never `UU`).
        public var speaker: String?

        /// Creates a segment.
        public init(text: String, start: Double, end: Double, speaker: String? = nil) {
            self.text = text
            self.start = start
            self.end = end
            self.speaker = speaker
        }
    }

    /// The target language (`"de"`), one of `translation_config.target_languages`.
    public var language: String
    /// The segments' texts joined with spaces.
    public var text: String
    /// Start of the first segment, in seconds from the start of the audio (0 without segments).
    public var start: Double
    /// End of the last segment, in seconds from the start of the audio (0 without segments).
    public var end: Double
    /// The translated pieces, in order.
    public var segments: [Segment]
    /// A partial translation (it may still change; the next one of ``language`` replaces it).
    public var isPartial: Bool
    /// The speaker every segment shares, or `nil` (no diarization, unknown, several speakers).
    public var speaker: String?
    /// The vendor's message.
    public var raw: RawMessage?

    /// Creates a translation; ``text``, ``start``, ``end`` and ``speaker`` come from `segments`.
    public init(language: String, segments: [Segment], isPartial: Bool, raw: RawMessage? = nil) {
        self.language = language
        self.segments = segments
        self.isPartial = isPartial
        self.raw = raw
        text = segments.map(\.text).filter { !$0.isEmpty }.joined(separator: " ")
        start = segments.map(\.start).min() ?? 0
        end = segments.map(\.end).max() ?? 0
        let speakers = Set(segments.map(\.speaker))
        speaker = speakers.count == 1 ? speakers.first ?? nil : nil
    }
}

/// A non-speech sound that started or ended (Speechmatics `AudioEventStarted` /
/// `AudioEventEnded`, with `Speechmatics.audioEventTypes`).
public struct AudioEvent: Sendable, Hashable {
    /// Whether the sound started or ended.
    public enum Kind: String, Sendable, Hashable {
        /// The sound started (`AudioEventStarted`).
        case started
        /// The sound ended (`AudioEventEnded`).
        case ended
    }

    /// Started or ended.
    public var kind: Kind
    /// The sound's type as the service names it (`music`, `applause`, `laughter`, or a newer one).
    public var type: String
    /// When it started (``Kind/started``) or ended (``Kind/ended``), in seconds from the start of
    /// the audio.
    public var time: Double
    /// The service's confidence, from 0 to 1: given when the sound starts, `nil` when it ends.
    public var confidence: Double?
    /// The channel it was heard on, with channel diarization; `nil` otherwise.
    public var channel: String?
    /// The vendor's message.
    public var raw: RawMessage?

    /// Creates an audio event.
    public init(
        kind: Kind, type: String, time: Double, confidence: Double? = nil, channel: String? = nil,
        raw: RawMessage? = nil
    ) {
        self.kind = kind
        self.type = type
        self.time = time
        self.confidence = confidence
        self.channel = channel
        self.raw = raw
    }
}

/// The service changed its mind about who spoke in finals already delivered (AssemblyAI
/// `SpeakerRevision`, with `AssemblyAI.speakerLabels`).
///
/// It lists only the turns whose speakers changed. The transcriber rewrites nothing: it delivers
/// the revision, and the caller applies it to its own copy of the transcript, matching each
/// ``Turn/turnOrder`` with ``Transcript/turnOrder`` of the final it revises.
public struct SpeakerRevision: Sendable, Hashable {
    /// One revised turn.
    public struct Turn: Sendable, Hashable {
        /// The ``Transcript/turnOrder`` of the final this revises.
        public var turnOrder: Int
        /// The turn's speaker now (`speaker_label`); `nil` when the service cannot tell (`UNKNOWN`).
        public var speaker: String?
        /// The turn's words with their speakers now (`nil` for `UNKNOWN`); may be empty when only
        /// the turn's label changed.
        public var words: [Word]

        /// Creates a revised turn.
        public init(turnOrder: Int, speaker: String?, words: [Word]) {
            self.turnOrder = turnOrder
            self.speaker = speaker
            self.words = words
        }
    }

    /// The revised turns, in the service's order.
    public var turns: [Turn]
    /// The vendor's message.
    public var raw: RawMessage?

    /// Creates a revision.
    public init(turns: [Turn], raw: RawMessage? = nil) {
        self.turns = turns
        self.raw = raw
    }
}
