import Testing

@testable import StreamingSTTProtocol

/// Speechmatics speakers without sockets: `speaker_diarization_config` (with speaker
/// identification) encoded exactly and validated, `GetSpeakers` sent, `SpeakersResult` decoded.
@Suite("Speechmatics speakers")
struct SpeechmaticsSpeakersTests {
    /// A configuration and the exact `speaker_diarization_config` it sends.
    struct Case: Sendable, CustomStringConvertible {
        let config: Speechmatics.SpeakerDiarizationConfig
        let json: String
        var description: String { json }
    }

    static let encodings: [Case] = [
        Case(config: .init(), json: #"{}"#),
        Case(config: .init(maxSpeakers: 2), json: #"{"max_speakers":2}"#),
        Case(config: .init(speakerSensitivity: 0.7), json: #"{"speaker_sensitivity":0.7}"#),
        Case(config: .init(preferCurrentSpeaker: false), json: #"{"prefer_current_speaker":false}"#),
        Case(config: .init(getSpeakers: true), json: #"{"get_speakers":true}"#),
        Case(
            config: .init(speakers: [.init(label: "Alice", identifiers: ["id-a1", "id-a2"])]),
            json: #"{"speakers":[{"label":"Alice","speaker_identifiers":["id-a1","id-a2"]}]}"#),
        Case(
            config: .init(
                maxSpeakers: 4, preferCurrentSpeaker: true, speakerSensitivity: 0.5, getSpeakers: false,
                speakers: [
                    .init(label: "Alice", identifiers: ["id-a"]), .init(label: "Dr Bob", identifiers: ["id-b"]),
                ]),
            json:
                #"{"max_speakers":4,"prefer_current_speaker":true,"speaker_sensitivity":0.5,"get_speakers":false,"#
                + #""speakers":[{"label":"Alice","speaker_identifiers":["id-a"]},{"label":"Dr Bob","speaker_identifiers":["id-b"]}]}"#
        ),
    ]

    @Test("speaker_diarization_config is sent exactly, after diarization", arguments: encodings)
    func encoding(_ entry: Case) throws {
        var options = Speechmatics(credentials: .apiKey("key"), language: "en")
        options.diarization = .speaker
        options.speakerDiarizationConfig = entry.config
        try options.validate()
        #expect(
            options.startRecognition.description
                == #"{"message":"StartRecognition","audio_format":{"type":"raw","encoding":"pcm_s16le","sample_rate":16000},"#
                + #""transcription_config":{"language":"en","diarization":"speaker","speaker_diarization_config":"#
                + entry.json + "}}")
    }

    static func identifiers(_ count: Int) -> [String] { (0..<count).map { "id-\($0)" } }

    @Test(
        "values the service refuses are refused before connecting",
        arguments: [
            .init(maxSpeakers: 1),
            .init(speakerSensitivity: -0.1),
            .init(speakerSensitivity: 1.5),
            .init(speakers: [.init(label: "UU", identifiers: ["x"])]),
            .init(speakers: [.init(label: "S1", identifiers: ["x"])]),
            .init(speakers: [.init(label: "S12", identifiers: ["x"])]),
            .init(speakers: [.init(label: " Alice", identifiers: ["x"])]),
            .init(speakers: [.init(label: "Alice ", identifiers: ["x"])]),
            .init(speakers: [.init(label: "\t", identifiers: ["x"])]),
            .init(speakers: [
                .init(label: "A", identifiers: identifiers(30)), .init(label: "B", identifiers: identifiers(21)),
            ]),
        ] as [Speechmatics.SpeakerDiarizationConfig])
    func refused(_ config: Speechmatics.SpeakerDiarizationConfig) {
        var options = Speechmatics(credentials: .apiKey("key"))
        options.diarization = .speaker
        options.speakerDiarizationConfig = config
        #expect(throws: TranscriptionError.self) { try options.validate() }
    }

    @Test(
        "values the service accepts pass",
        arguments: [
            .init(maxSpeakers: 2, speakerSensitivity: 0),
            .init(speakerSensitivity: 1),
            .init(speakers: [.init(label: "S", identifiers: ["x"])]),
            .init(speakers: [.init(label: "SA1", identifiers: ["x"])]),
            .init(speakers: [.init(label: "Uu", identifiers: ["x"])]),
            .init(speakers: [.init(label: "Mary Ann", identifiers: identifiers(50))]),
        ] as [Speechmatics.SpeakerDiarizationConfig])
    func accepted(_ config: Speechmatics.SpeakerDiarizationConfig) throws {
        var options = Speechmatics(credentials: .apiKey("key"))
        options.diarization = .speaker
        options.speakerDiarizationConfig = config
        try options.validate()
    }

    @Test("GetSpeakers: final only when asked; nothing before streaming; AssemblyAI refuses it")
    func request() throws {
        var machine = Speechmatics(credentials: .apiKey("k")).makeSession()
        #expect(try machine.requestSpeakers(final: false).isEmpty)  // not started
        _ = machine.connected()
        _ = machine.received(#"{"message":"RecognitionStarted","id":"s-1"}"#)
        #expect(
            SessionStateMachineTests.texts(try machine.requestSpeakers(final: false)) == [#"{"message":"GetSpeakers"}"#]
        )
        #expect(
            SessionStateMachineTests.texts(try machine.requestSpeakers(final: true)) == [
                #"{"message":"GetSpeakers","final":true}"#
            ])
        let assemblyAI = AssemblyAI(credentials: .apiKey("k"), speechModel: .u3RealtimePro).makeSession()
        let error = try #require(throws: TranscriptionError.self) { try assemblyAI.requestSpeakers(final: false) }
        #expect(error.code == .invalidConfiguration)
    }

    @Test(
        "SpeakersResult becomes a speakers event: labels and identifiers, in order",
        arguments: [
            (#"{"message":"SpeakersResult","speakers":[]}"#, [SpeakersResult.Speaker]()),
            (
                #"{"message":"SpeakersResult","speakers":[{"label":"S1","speaker_identifiers":["<id1>"]},{"label":"S2","speaker_identifiers":["<id2>","<id3>"]}]}"#,
                [.init(label: "S1", identifiers: ["<id1>"]), .init(label: "S2", identifiers: ["<id2>", "<id3>"])]
            ),
            (
                #"{"message":"SpeakersResult","speakers":[{"label":"Alice","speaker_identifiers":["a"],"extra":1},{"speaker_identifiers":["x"]}],"new":true}"#,
                [.init(label: "Alice", identifiers: ["a"])]
            ),
        ])
    func decoding(message: String, speakers: [SpeakersResult.Speaker]) {
        var decoder = SpeechmaticsDecoder()
        let outputs = decoder.decode(message)
        #expect(
            outputs == [
                .event(
                    .speakers(
                        SpeakersResult(
                            speakers: speakers,
                            raw: RawMessage(provider: .speechmatics, type: "SpeakersResult", text: message))))
            ])
    }
}
