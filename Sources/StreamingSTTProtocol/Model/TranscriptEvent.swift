import struct Foundation.Data
import struct Foundation.Date
import class Foundation.JSONDecoder

/// One event of a transcription session, the same for every provider.
///
/// A session yields ``begin(_:)`` first, then any number of ``partial(_:)`` and ``final(_:)``
/// transcripts (and the other events), and ends with ``terminated(_:)`` after a graceful stop or
/// with ``error(_:)`` when it fails. See `Docs/Events.md` for how each vendor message maps here.
public enum TranscriptEvent: Sendable, Hashable {
    /// The session started (AssemblyAI `Begin`, Speechmatics `RecognitionStarted`).
    case begin(SessionInfo)
    /// Words that may still change. Each partial replaces the previous one.
    case partial(Transcript)
    /// Words that will not change. Finals are never repeated and never empty.
    case final(Transcript)
    /// The speaker stopped (Speechmatics `EndOfUtterance`). AssemblyAI marks the end of a turn on the
    /// final itself (``Transcript/isEndOfTurn``).
    case endOfUtterance(EndOfUtterance)
    /// Speech began (AssemblyAI `SpeechStarted`).
    case speechStarted(SpeechStarted)
    /// An informational notice from the service (Speechmatics `Info`).
    case info(VendorNotice)
    /// A warning from the service (Speechmatics and AssemblyAI `Warning`); the session goes on.
    case warning(VendorNotice)
    /// The speakers the service has identified so far, with the identifiers that recognise them
    /// in a later session (Speechmatics `SpeakersResult`, the answer to
    /// `StreamingTranscriber.requestSpeakers(final:)` or to `get_speakers`).
    case speakers(SpeakersResult)
    /// A partial or final translation of the transcripts in its time span (Speechmatics
    /// `AddPartialTranslation` / `AddTranslation`, with `translation_config`).
    case translation(Translation)
    /// A non-speech sound started or ended (Speechmatics `AudioEventStarted` /
    /// `AudioEventEnded`, with `audio_events_config`).
    case audioEvent(AudioEvent)
    /// Finals already delivered now carry other speakers (AssemblyAI `SpeakerRevision`, with
    /// `speaker_labels`); the caller applies it, by turn order.
    case speakerRevision(SpeakerRevision)
    /// A message the neutral model does not cover (unknown types, heartbeats, …),
    /// or every message when `StreamingTranscriber.Configuration.deliversRawMessages` is on.
    case raw(RawMessage)
    /// The session was lost or is about to be replaced, and a new one is being opened (only with
    /// a ``ReconnectionPolicy``).
    case reconnecting(Reconnecting)
    /// A new session took over (only with a ``ReconnectionPolicy``).
    case reconnected(Reconnected)
    /// The transcript trails the audio sent by more than the configured bound
    /// (`StreamingTranscriber.Configuration.transcriptLagWarning`): once each time the lag goes
    /// above it; again only after it came back to it or below. The session goes on.
    case lagging(TranscriptLag)
    /// The session ended gracefully; no event follows.
    // Boxed: the summary, with its statistics, is several times the size of a transcript, and
    // every event (partials included) would otherwise be as large and copied at that size.
    indirect case terminated(SessionSummary)
    /// The session failed; no event follows.
    case error(TranscriptionError)
}

/// What a session's first event says.
public struct SessionInfo: Sendable, Hashable {
    /// The provider.
    public var provider: ProviderKind
    /// The session id the service assigned.
    public var id: String
    /// When the service will end the session (AssemblyAI `expires_at`), if it says.
    public var expiresAt: Date?
    /// The vendor's message.
    public var raw: RawMessage?

    /// Creates a session description.
    public init(
        provider: ProviderKind, id: String, expiresAt: Date? = nil, raw: RawMessage? = nil
    ) {
        self.provider = provider
        self.id = id
        self.expiresAt = expiresAt
        self.raw = raw
    }
}

/// A transcript: a partial or a final.
public struct Transcript: Sendable, Hashable {
    /// The text, as the vendor formats it.
    public var text: String
    /// Start of the first word, in seconds from the start of the audio.
    public var start: Double
    /// End of the last word, in seconds from the start of the audio.
    public var end: Double
    /// The words, with punctuation attached the way the vendor says.
    public var words: [Word]
    /// The turn ends here (AssemblyAI `end_of_turn`; Speechmatics: the final ends with
    /// sentence-final punctuation or carries a forced end of utterance).
    public var isEndOfTurn: Bool
    /// The turn this belongs to: AssemblyAI `turn_order`; for Speechmatics a count of utterances,
    /// from 0, that goes up after each end of utterance.
    public var turnOrder: Int
    /// The language, when the service says.
    public var language: String?
    /// The service's confidence in ``language``, from 0 to 1 (AssemblyAI `language_confidence`,
    /// with language detection on).
    public var languageConfidence: Double?
    /// The speaker of the whole transcript, when diarization is on and its words that have a
    /// speaker all have this one (AssemblyAI: the turn's `speaker_label`); `nil` when the service
    /// could not tell (Speechmatics `UU`, AssemblyAI `UNKNOWN`), for several speakers, or without
    /// diarization.
    public var speaker: String?
    /// The service's confidence that the turn ended (AssemblyAI `end_of_turn_confidence`).
    public var endOfTurnConfidence: Double?
    /// AssemblyAI `utterance`, when the message marks an utterance boundary (it is empty
    /// otherwise): on Universal-Streaming it can come on a partial, before the turn ends, for a
    /// consumer that wants to act early; on u3-rt-pro it comes with the final and equals its text.
    public var utterance: String?
    /// Produced in answer to a forced end of turn or utterance.
    public var isForced: Bool
    /// The vendor's message, for anything the neutral model does not cover.
    public var raw: RawMessage?
    /// Which session of the transcriber produced it: 0, or more after a reconnection or rollover
    /// (see ``TranscriptEvent/reconnected(_:)``).
    public var sessionIndex: Int
    /// The label of the audio channel it was heard on, in a multichannel session (Speechmatics
    /// `channel`, one of `channel_diarization_labels`); `nil` for single-channel audio. See
    /// `Docs/Channels.md`.
    public var channel: String?

    /// Creates a transcript.
    public init(
        text: String,
        start: Double,
        end: Double,
        words: [Word],
        isEndOfTurn: Bool = false,
        turnOrder: Int = 0,
        language: String? = nil,
        speaker: String? = nil,
        endOfTurnConfidence: Double? = nil,
        utterance: String? = nil,
        isForced: Bool = false,
        raw: RawMessage? = nil,
        sessionIndex: Int = 0,
        languageConfidence: Double? = nil,
        channel: String? = nil
    ) {
        self.channel = channel
        self.sessionIndex = sessionIndex
        self.languageConfidence = languageConfidence
        self.text = text
        self.start = start
        self.end = end
        self.words = words
        self.isEndOfTurn = isEndOfTurn
        self.turnOrder = turnOrder
        self.language = language
        self.speaker = speaker
        self.endOfTurnConfidence = endOfTurnConfidence
        self.utterance = utterance
        self.isForced = isForced
        self.raw = raw
    }
}

/// One recognised word.
public struct Word: Sendable, Hashable {
    /// The word with any punctuation attached to it (`"Sonny."`).
    public var text: String
    /// Start, in seconds from the start of the audio.
    public var start: Double
    /// End, in seconds from the start of the audio.
    public var end: Double
    /// Confidence from 0 to 1 (Speechmatics: meaningless in partials).
    public var confidence: Double
    /// The speaker label, when diarization is on (AssemblyAI `"A"`, `"B"`, …; Speechmatics `"S1"`,
    /// `"S2"`, … or a label given in `speakers`). `nil` without diarization and for a word the
    /// service could not attribute: the vendors' unknown-speaker labels (Speechmatics `"UU"`,
    /// AssemblyAI `"UNKNOWN"`) are never a speaker here.
    public var speaker: String?
    /// Whether the word will not change any more: AssemblyAI `word_is_final` (a partial's last
    /// words may still change); Speechmatics: `true` in finals, `false` in partials. `nil` when
    /// the service does not say.
    public var isFinal: Bool?

    /// Creates a word.
    public init(
        text: String, start: Double, end: Double, confidence: Double, speaker: String? = nil, isFinal: Bool? = nil
    ) {
        self.text = text
        self.start = start
        self.end = end
        self.confidence = confidence
        self.speaker = speaker
        self.isFinal = isFinal
    }
}

/// The end of an utterance.
public struct EndOfUtterance: Sendable, Hashable {
    /// Where the utterance ended, in seconds from the start of the audio.
    public var time: Double
    /// The service was asked to end it (`ForceEndOfUtterance`).
    public var isForced: Bool
    /// The vendor's message.
    public var raw: RawMessage?
    /// The label of the channel whose utterance ended, in a multichannel session; `nil` otherwise.
    public var channel: String?

    /// Creates an end-of-utterance mark.
    public init(time: Double, isForced: Bool = false, raw: RawMessage? = nil, channel: String? = nil) {
        self.channel = channel
        self.time = time
        self.isForced = isForced
        self.raw = raw
    }
}

/// The start of speech.
public struct SpeechStarted: Sendable, Hashable {
    /// When speech started, in seconds from the start of the audio.
    public var time: Double
    /// The voice-activity confidence, when given.
    public var confidence: Double?
    /// The vendor's message.
    public var raw: RawMessage?

    /// Creates a speech-start mark.
    public init(time: Double, confidence: Double? = nil, raw: RawMessage? = nil) {
        self.time = time
        self.confidence = confidence
        self.raw = raw
    }
}

/// An informational message or warning from the service.
public struct VendorNotice: Sendable, Hashable {
    /// The vendor's type or code (`concurrent_session_usage`, `idle_timeout`, `1234`, …).
    public var type: String
    /// The vendor's text.
    public var reason: String
    /// The vendor's message.
    public var raw: RawMessage?

    /// Creates a notice.
    public init(type: String, reason: String, raw: RawMessage? = nil) {
        self.type = type
        self.reason = reason
        self.raw = raw
    }
}

/// A vendor message as the service sent it: its type and its JSON text, which ``decode(_:using:)``
/// reads into a `Decodable` type of your own for anything the neutral model does not cover.
///
/// ```swift
/// struct Configuration: Decodable { let model: String }
/// struct Begin: Decodable { let configuration: Configuration }
/// if let raw = info.raw, let begin = try? raw.decode(Begin.self) { print(begin.configuration.model) }
/// ```
public struct RawMessage: Sendable, Hashable {
    /// The provider.
    public var provider: ProviderKind
    /// The message's type (AssemblyAI `type`, Speechmatics `message`), or `""`.
    public var type: String
    /// The message's text, exactly as received (JSON, except in the warning about a message that
    /// is not).
    public var text: String

    /// Creates a raw message.
    public init(provider: ProviderKind, type: String, text: String) {
        self.provider = provider
        self.type = type
        self.text = text
    }

    /// Decodes the message's JSON into `type`.
    /// - Throws: what `decoder` throws when the text does not match `type`.
    public func decode<Message: Decodable>(
        _ type: Message.Type = Message.self, using decoder: JSONDecoder = JSONDecoder()
    ) throws -> Message {
        try decoder.decode(type, from: Data(text.utf8))
    }
}

/// What a graceful stop reports.
public struct SessionSummary: Sendable, Hashable {
    /// The provider.
    public var provider: ProviderKind
    /// The session id.
    public var sessionID: String
    /// Seconds of audio the service processed, when it says (AssemblyAI
    /// `audio_duration_seconds`); otherwise the audio this client sent.
    public var audioDuration: Double
    /// Seconds the session lasted, when the service says (AssemblyAI `session_duration_seconds`);
    /// otherwise measured by this client from connect to the end.
    public var sessionDuration: Double
    /// Final transcripts delivered.
    public var finalCount: Int
    /// The vendor's last message (`Termination`, `EndOfTranscript`).
    public var raw: RawMessage?
    /// Sessions of the service used: 1, or more after reconnections and rollovers.
    public var sessionCount: Int
    /// Seconds of audio no session transcribed because the replay buffer overflowed during a
    /// reconnection (always 0 without reconnections).
    public var lostAudio: Double
    /// The session's statistics at its end.
    public var statistics: SessionStatistics

    /// Creates a summary.
    public init(
        provider: ProviderKind,
        sessionID: String,
        audioDuration: Double,
        sessionDuration: Double,
        finalCount: Int,
        raw: RawMessage? = nil,
        sessionCount: Int = 1,
        lostAudio: Double = 0,
        statistics: SessionStatistics = .init()
    ) {
        self.statistics = statistics
        self.sessionCount = sessionCount
        self.lostAudio = lostAudio
        self.provider = provider
        self.sessionID = sessionID
        self.audioDuration = audioDuration
        self.sessionDuration = sessionDuration
        self.finalCount = finalCount
        self.raw = raw
    }
}

/// The speakers a session has identified (Speechmatics `SpeakersResult`).
///
/// Give a speaker's ``Speaker/identifiers`` with a label of your own to a later session
/// (`Speechmatics.KnownSpeaker`) and its words carry that label.
public struct SpeakersResult: Sendable, Hashable {
    /// One identified speaker.
    public struct Speaker: Sendable, Hashable {
        /// The label its words carry (`S1`, `S2`, … or a known speaker's label).
        public var label: String
        /// `speaker_identifiers`: opaque strings that recognise this voice in a later session.
        public var identifiers: [String]

        /// Creates a speaker.
        public init(label: String, identifiers: [String]) {
            self.label = label
            self.identifiers = identifiers
        }
    }

    /// The speakers, in the service's order.
    public var speakers: [Speaker]
    /// The vendor's message.
    public var raw: RawMessage?

    /// Creates a result.
    public init(speakers: [Speaker], raw: RawMessage? = nil) {
        self.speakers = speakers
        self.raw = raw
    }
}
