import Testing

@testable import StreamingSTTProtocol

@Suite("AssemblyAI options, UpdateConfiguration and configuration passthroughs: exact wire form")
struct AssemblyAIOptionsTests {
    static func options() -> AssemblyAI {
        AssemblyAI(credentials: .apiKey("key"), speechModel: .universal36Pro)
    }

    static func query(_ options: AssemblyAI) -> [String] {
        options.queryItems.map { "\($0.name)=\($0.value)" }
    }

    @Test("newer speech model names are constants")
    func modelNames() {
        #expect(AssemblyAI.SpeechModel.universal36.rawValue == "universal-3-6")
        #expect(AssemblyAI.SpeechModel.universal36Pro.rawValue == "universal-3-6-pro")
        #expect(AssemblyAI.SpeechModel.u3RealtimeProBeta1.rawValue == "u3-rt-pro-beta-1")
        #expect(AssemblyAI.SpeechModel.universal36Pro.isU3ProFamily)
        #expect(AssemblyAI.Domain.medicalV1.rawValue == "medical-v1")
    }

    @Test(
        "each newer option is sent as exactly one query item with the service's name and value",
        arguments: [
            ({ @Sendable (o: inout AssemblyAI) in o.turnLeftPad = 1024 }, ["turn_left_pad_ms=1024"]),
            ({ @Sendable (o: inout AssemblyAI) in o.sessionHeartbeat = true }, ["session_heartbeat=true"]),
            ({ @Sendable (o: inout AssemblyAI) in o.acknowledgeSilence = false }, ["acknowledge_silence=false"]),
            ({ @Sendable (o: inout AssemblyAI) in o.includePartialTurns = false }, ["include_partial_turns=false"]),
            ({ @Sendable (o: inout AssemblyAI) in o.voiceFocus = .farField }, ["voice_focus=far-field"]),
            ({ @Sendable (o: inout AssemblyAI) in o.voiceFocusThreshold = 0.25 }, ["voice_focus_threshold=0.25"]),
            ({ @Sendable (o: inout AssemblyAI) in o.domain = .medicalV1 }, ["domain=medical-v1"]),
            (
                { @Sendable (o: inout AssemblyAI) in
                    o.redactPII = true
                    o.redactPIIPolicies = ["person_name", "phone_number"]
                    o.redactPIISubstitution = .entityName
                },
                [
                    "redact_pii=true", #"redact_pii_policies=["person_name","phone_number"]"#,
                    "redact_pii_sub=entity_name",
                ]
            ),
            (
                { @Sendable (o: inout AssemblyAI) in
                    o.speakerLabels = true
                    o.speakerLabelsRevisionInterval = 2000
                },
                ["speaker_labels=true", "speaker_labels_revision_interval_ms=2000"]
            ),
            (
                { @Sendable (o: inout AssemblyAI) in o.webhookURL = "https://example.com/hook" },
                ["webhook_url=https://example.com/hook"]
            ),
            (
                { @Sendable (o: inout AssemblyAI) in o.llmGateway = #"{"model":"m","messages":[],"max_tokens":10}"# },
                [#"llm_gateway={"model":"m","messages":[],"max_tokens":10}"#]
            ),
            (
                { @Sendable (o: inout AssemblyAI) in o.customerSupportAudioCapture = true },
                ["customer_support_audio_capture=true"]
            ),
            ({ @Sendable (o: inout AssemblyAI) in o.languageCode = "es" }, ["language_code=es"]),
        ] as [(@Sendable (inout AssemblyAI) -> Void, [String])])
    func newerOptions(change: @Sendable (inout AssemblyAI) -> Void, expected: [String]) throws {
        var options = Self.options()
        let base = Self.query(options)
        #expect(base == ["speech_model=universal-3-6-pro", "sample_rate=16000", "encoding=pcm_s16le"])
        change(&options)
        try options.validate()
        #expect(Array(Self.query(options).dropFirst(base.count)) == expected)
    }

    @Test("all options together: a fixed order, lists JSON-encoded and percent-escaped in the URL")
    func allTogether() throws {
        var options = Self.options()
        options.voiceFocus = .nearField
        options.voiceFocusThreshold = 0.5
        options.domain = .medicalV1
        options.redactPII = true
        options.redactPIIPolicies = ["medical_condition"]
        options.redactPIISubstitution = .hash
        options.sessionHeartbeat = true
        options.additionalQueryItems = [.init(name: "future_option", value: "a+b")]
        try options.validate()
        #expect(
            options.connectRequest().url
                == "wss://streaming.assemblyai.com/v3/ws?speech_model=universal-3-6-pro&sample_rate=16000"
                + "&encoding=pcm_s16le&session_heartbeat=true&voice_focus=near-field&voice_focus_threshold=0.5"
                + "&domain=medical-v1&redact_pii=true&redact_pii_policies=%5B%22medical_condition%22%5D"
                + "&redact_pii_sub=hash&future_option=a%2Bb")
    }

    @Test(
        "invalid newer options are refused by validate()",
        arguments: [
            { @Sendable (o: inout AssemblyAI) in o.turnLeftPad = -1 },
            { @Sendable (o: inout AssemblyAI) in o.voiceFocusThreshold = 1.5 },
            { @Sendable (o: inout AssemblyAI) in o.voiceFocusThreshold = -0.1 },
            { @Sendable (o: inout AssemblyAI) in o.domain = "" },
            { @Sendable (o: inout AssemblyAI) in o.redactPIIPolicies = ["person_name"] },
            { @Sendable (o: inout AssemblyAI) in o.redactPIISubstitution = .hash },
            { @Sendable (o: inout AssemblyAI) in
                o.redactPII = true
                o.redactPIIPolicies = [""]
            },
            { @Sendable (o: inout AssemblyAI) in o.speakerLabelsRevisionInterval = 1000 },
            { @Sendable (o: inout AssemblyAI) in
                o.speakerLabels = true
                o.speakerLabelsRevisionInterval = -5
            },
            { @Sendable (o: inout AssemblyAI) in o.webhookURL = "ftp://example.com" },
            { @Sendable (o: inout AssemblyAI) in o.llmGateway = "[1]" },
            { @Sendable (o: inout AssemblyAI) in o.llmGateway = "{" },
            { @Sendable (o: inout AssemblyAI) in o.languageCode = "" },
            // A passthrough that names a typed option is refused even when that option is unset.
            { @Sendable (o: inout AssemblyAI) in o.additionalQueryItems = [.init(name: "mode", value: "balanced")] },
            { @Sendable (o: inout AssemblyAI) in
                o.additionalQueryItems = [.init(name: "voice_focus", value: "far-field")]
            },
            { @Sendable (o: inout AssemblyAI) in o.additionalQueryItems = [.init(name: "token", value: "t")] },
        ] as [@Sendable (inout AssemblyAI) -> Void])
    func invalid(change: @Sendable (inout AssemblyAI) -> Void) {
        var options = Self.options()
        #expect(throws: Never.self) { try options.validate() }
        change(&options)
        #expect(throws: TranscriptionError.self) { try options.validate() }
    }

    @Test("UpdateConfiguration carries every field the service accepts, in a fixed order")
    func fullUpdate() throws {
        var update = ConfigurationUpdate()
        update.endOfTurnConfidenceThreshold = 0.5
        update.minTurnSilence = 160
        update.maxTurnSilence = 900
        update.vadThreshold = 0.3
        update.formatTurns = false
        update.keytermsPrompt = ["a"]
        update.prompt = "p"
        update.agentContext = "c"
        update.languageCodes = []
        update.interruptionDelay = 300
        update.turnLeftPad = 1024
        update.filterProfanity = true
        update.sessionHeartbeat = true
        update.acknowledgeSilence = false
        update.continuousPartials = true
        #expect(
            try update.assemblyAIMessage().description
                == #"{"type":"UpdateConfiguration","end_of_turn_confidence_threshold":0.5,"min_turn_silence":160,"#
                + #""max_turn_silence":900,"vad_threshold":0.3,"format_turns":false,"keyterms_prompt":["a"],"#
                + #""prompt":"p","agent_context":"c","language_codes":[],"interruption_delay":300,"#
                + #""turn_left_pad_ms":1024,"filter_profanity":true,"session_heartbeat":true,"#
                + #""acknowledge_silence":false,"continuous_partials":true}"#)
    }

    @Test(
        "each newer UpdateConfiguration field alone",
        arguments: [
            ({ @Sendable (u: inout ConfigurationUpdate) in u.interruptionDelay = 0 }, #""interruption_delay":0"#),
            ({ @Sendable (u: inout ConfigurationUpdate) in u.turnLeftPad = 200 }, #""turn_left_pad_ms":200"#),
            ({ @Sendable (u: inout ConfigurationUpdate) in u.filterProfanity = false }, #""filter_profanity":false"#),
            ({ @Sendable (u: inout ConfigurationUpdate) in u.sessionHeartbeat = false }, #""session_heartbeat":false"#),
            (
                { @Sendable (u: inout ConfigurationUpdate) in u.acknowledgeSilence = true },
                #""acknowledge_silence":true"#
            ),
            (
                { @Sendable (u: inout ConfigurationUpdate) in u.continuousPartials = false },
                #""continuous_partials":false"#
            ),
        ] as [(@Sendable (inout ConfigurationUpdate) -> Void, String)])
    func singleUpdate(change: @Sendable (inout ConfigurationUpdate) -> Void, member: String) throws {
        var update = ConfigurationUpdate()
        change(&update)
        #expect(try update.assemblyAIMessage().description == #"{"type":"UpdateConfiguration","# + member + "}")
        #expect(throws: TranscriptionError.self) { try update.speechmaticsMessage(language: "en") }
    }

    @Test(
        "invalid UpdateConfiguration values are refused before sending",
        arguments: [
            { @Sendable (u: inout ConfigurationUpdate) in u.interruptionDelay = 1001 },
            { @Sendable (u: inout ConfigurationUpdate) in u.interruptionDelay = -1 },
            { @Sendable (u: inout ConfigurationUpdate) in u.turnLeftPad = -1 },
            { @Sendable (u: inout ConfigurationUpdate) in u.minTurnSilence = -1 },
            { @Sendable (u: inout ConfigurationUpdate) in u.maxTurnSilence = -1 },
            { @Sendable (u: inout ConfigurationUpdate) in u.agentContext = String(repeating: "x", count: 1501) },
            { @Sendable (u: inout ConfigurationUpdate) in u.languageCodes = [""] },
        ] as [@Sendable (inout ConfigurationUpdate) -> Void])
    func invalidUpdate(change: @Sendable (inout ConfigurationUpdate) -> Void) {
        var update = ConfigurationUpdate()
        change(&update)
        #expect(throws: TranscriptionError.self) { try update.assemblyAIMessage() }
    }

    @Test("Speechmatics passthrough: JSON members added to transcription_config and to StartRecognition")
    func speechmaticsPassthrough() throws {
        var options = Speechmatics(credentials: .apiKey("key"), language: "en", sampleRate: 16000, encoding: .pcmS16LE)
        options.additionalTranscriptionConfig = ["zeta": "1", "future_flag": "true", "future_object": #"{"a":["b"]}"#]
        options.additionalStartRecognition = ["future_top": #""x""#]
        try options.validate()
        #expect(
            options.startRecognition.description
                == #"{"message":"StartRecognition","audio_format":{"type":"raw","encoding":"pcm_s16le","sample_rate":16000},"#
                + #""transcription_config":{"language":"en","future_flag":true,"future_object":{"a":["b"]},"zeta":1},"#
                + #""future_top":"x"}"#)
    }

    @Test(
        "Speechmatics passthrough: invalid JSON or a member that names a typed field is refused",
        arguments: [
            { @Sendable (o: inout Speechmatics) in o.additionalTranscriptionConfig = ["max_delay": "2"] },
            { @Sendable (o: inout Speechmatics) in o.additionalTranscriptionConfig = ["language": #""de""#] },
            { @Sendable (o: inout Speechmatics) in o.additionalTranscriptionConfig = ["diarization": #""speaker""#] },
            { @Sendable (o: inout Speechmatics) in o.additionalTranscriptionConfig = ["future": "{"] },
            { @Sendable (o: inout Speechmatics) in o.additionalTranscriptionConfig = ["": "1"] },
            { @Sendable (o: inout Speechmatics) in o.additionalStartRecognition = ["message": #""x""#] },
            { @Sendable (o: inout Speechmatics) in o.additionalStartRecognition = ["translation_config": "{}"] },
            { @Sendable (o: inout Speechmatics) in o.additionalStartRecognition = ["transcription_config": "{}"] },
            { @Sendable (o: inout Speechmatics) in o.additionalStartRecognition = ["future": "nope"] },
        ] as [@Sendable (inout Speechmatics) -> Void])
    func speechmaticsPassthroughInvalid(change: @Sendable (inout Speechmatics) -> Void) {
        var options = Speechmatics(credentials: .apiKey("key"))
        #expect(throws: Never.self) { try options.validate() }
        change(&options)
        #expect(throws: TranscriptionError.self) { try options.validate() }
    }

    @Test("webhook auth header: the name in the query, the value a secret added only to the URL put on the wire")
    func webhookAuthHeader() throws {
        var options = Self.options()
        options.webhookURL = "https://example.com/hook"
        options.webhookAuthHeader = .init(name: "X-Hook-Auth", value: Secret("hook-s3cret"))
        try options.validate()
        let request = options.connectRequest()
        #expect(
            request.url.hasSuffix("&webhook_url=https%3A%2F%2Fexample.com%2Fhook&webhook_auth_header_name=X-Hook-Auth"))
        #expect(!request.url.contains("s3cret"))
        #expect(request.revealedURL == request.url + "&webhook_auth_header_value=hook-s3cret")
        var dumped = ""
        dump(options, to: &dumped)
        #expect(!dumped.contains("s3cret") && !"\(options)".contains("s3cret"))
        var token = options
        token.credentials = .temporaryToken("tok")
        #expect(token.connectRequest().revealedURL.hasSuffix("&token=tok&webhook_auth_header_value=hook-s3cret"))
        options.webhookURL = nil
        #expect(throws: TranscriptionError.self) { try options.validate() }
        options.webhookURL = "https://example.com/hook"
        options.webhookAuthHeader = .init(name: "", value: Secret("x"))
        #expect(throws: TranscriptionError.self) { try options.validate() }
        options.webhookAuthHeader = nil
        options.additionalQueryItems = [.init(name: "webhook_auth_header_value", value: "x")]
        #expect(throws: TranscriptionError.self) { try options.validate() }
    }
}
