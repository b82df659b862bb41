import Testing

@testable import StreamingSTTProtocol

@Suite("Provider configurations: wire form and validation")
struct ProviderConfigurationTests {
    @Test("AssemblyAI: lists are JSON-encoded into one query value, booleans are true/false, + is escaped")
    func assemblyAIQuery() {
        var options = AssemblyAI(credentials: .apiKey("key"), speechModel: .universalStreamingEnglish)
        options.formatTurns = true
        options.keytermsPrompt = ["Swift client", "C++"]
        options.endOfTurnConfidenceThreshold = 0.4
        options.languageCodes = ["en", "es"]
        let url = options.connectRequest().url
        #expect(
            url
                == "wss://streaming.assemblyai.com/v3/ws?speech_model=universal-streaming-english&sample_rate=16000"
                + "&encoding=pcm_s16le&format_turns=true&end_of_turn_confidence_threshold=0.4"
                + "&keyterms_prompt=%5B%22Swift%20client%22%2C%22C%2B%2B%22%5D"
                + "&language_codes=%5B%22en%22%2C%22es%22%5D")
        #expect(url.components(separatedBy: "keyterms_prompt=").count == 2)
        #expect(options.connectRequest().headers.map(\.name) == ["Authorization"])
        #expect(options.connectRequest().headers.map(\.value) == ["key"])
    }

    @Test("AssemblyAI: a temporary token goes in the query and no key in a header")
    func assemblyAIToken() {
        let options = AssemblyAI(credentials: .temporaryToken("tok+en"), speechModel: .u3RealtimePro, endpoint: .eu)
        #expect(
            options.connectRequest().url.hasPrefix("wss://streaming.eu.assemblyai.com/v3/ws?speech_model=u3-rt-pro"))
        #expect(options.connectRequest().revealedURL.hasSuffix("&token=tok%2Ben"))
        #expect(!options.connectRequest().url.contains("tok"))
        #expect(options.connectRequest().headers.isEmpty)
    }

    @Test(
        "AssemblyAI: invalid values are rejected before connecting",
        arguments: [
            { (o: inout AssemblyAI) in o.endOfTurnConfidenceThreshold = 1.5 },
            { (o: inout AssemblyAI) in o.keytermsPrompt = [String(repeating: "x", count: 51)] },
            // 26 letters with a combining accent: 26 characters, but 52 code points for the service.
            { (o: inout AssemblyAI) in o.keytermsPrompt = [String(repeating: "e\u{301}", count: 26)] },
            { (o: inout AssemblyAI) in o.keytermsPrompt = Array(repeating: "t", count: 101) },
            { (o: inout AssemblyAI) in o.inactivityTimeout = 2 },
            { (o: inout AssemblyAI) in o.maxSpeakers = 3 },
            { (o: inout AssemblyAI) in o.sampleRate = 100 },
            { (o: inout AssemblyAI) in o.mode = "fastest" },
            { (o: inout AssemblyAI) in o.credentials = .apiKey("") },
            { (o: inout AssemblyAI) in o.additionalQueryItems = [.init(name: "sample_rate", value: "8000")] },
            { (o: inout AssemblyAI) in
                o.additionalQueryItems = [.init(name: "new_option", value: "1"), .init(name: "new_option", value: "2")]
            },
            { (o: inout AssemblyAI) in o.endpoint = .custom("https://example.com") },
        ] as [@Sendable (inout AssemblyAI) -> Void])
    func assemblyAIValidation(change: @Sendable (inout AssemblyAI) -> Void) {
        var options = AssemblyAI(credentials: .apiKey("key"), speechModel: .universalStreamingEnglish)
        #expect(throws: Never.self) { try options.validate() }
        change(&options)
        #expect(throws: TranscriptionError.self) { try options.validate() }
    }

    @Test("Speechmatics: StartRecognition carries every option in the vendor's shape")
    func startRecognition() {
        var options = Speechmatics(credentials: .apiKey("key"), language: "en", sampleRate: 16000, encoding: .pcmF32LE)
        options.operatingPoint = .enhanced
        options.enablePartials = true
        options.maxDelay = 1.0
        options.diarization = .speaker
        options.speakerDiarizationConfig = .init(maxSpeakers: 3)
        options.additionalVocab = [.init("gnocchi", soundsLike: ["nyohki"]), .init("bigoli")]
        options.conversationConfig = .init(endOfUtteranceSilenceTrigger: 0.5)
        options.translationConfig = .init(targetLanguages: ["es"], enablePartials: true)
        #expect(
            options.startRecognition.description
                == #"{"message":"StartRecognition","audio_format":{"type":"raw","encoding":"pcm_f32le","sample_rate":16000},"#
                + #""transcription_config":{"language":"en","operating_point":"enhanced","enable_partials":true,"max_delay":1,"#
                + #""diarization":"speaker","speaker_diarization_config":{"max_speakers":3},"#
                + #""additional_vocab":[{"content":"gnocchi","sounds_like":["nyohki"]},"bigoli"],"#
                + #""conversation_config":{"end_of_utterance_silence_trigger":0.5}},"#
                + #""translation_config":{"target_languages":["es"],"enable_partials":true}}"#)
        #expect(options.connectRequest().url == "wss://eu.rt.speechmatics.com/v2")
        #expect(options.connectRequest().headers.first?.value == "Bearer key")
    }

    @Test("Speechmatics: temporary keys travel as jwt=, on-premises needs no key")
    func speechmaticsEndpoints() throws {
        let temporary = Speechmatics(credentials: .temporaryToken("ey.J"), endpoint: .us)
        #expect(temporary.connectRequest().revealedURL == "wss://us.rt.speechmatics.com/v2?jwt=ey.J")
        #expect(temporary.connectRequest().url == "wss://us.rt.speechmatics.com/v2")
        #expect(temporary.connectRequest().headers.isEmpty)
        let container = Speechmatics(credentials: .none, endpoint: .onPremises(host: "10.0.0.5"))
        #expect(container.connectRequest().url == "ws://10.0.0.5:9000/v2")
        try container.validate()
    }

    @Test(
        "Speechmatics: invalid values are rejected before connecting",
        arguments: [
            { (o: inout Speechmatics) in o.maxDelay = 0.5 },
            { (o: inout Speechmatics) in o.maxDelay = 5 },
            { (o: inout Speechmatics) in o.language = "" },
            { (o: inout Speechmatics) in o.speakerDiarizationConfig = .init(maxSpeakers: 1) },
            { (o: inout Speechmatics) in o.conversationConfig = .init(endOfUtteranceSilenceTrigger: 3) },
            { (o: inout Speechmatics) in o.translationConfig = .init(targetLanguages: ["a", "b", "c", "d", "e", "f"]) },
            { (o: inout Speechmatics) in o.punctuationOverrides = .init(permittedMarks: [".."]) },
            { (o: inout Speechmatics) in o.audioEventTypes = [""] },
            { (o: inout Speechmatics) in o.outputLocale = "" },
            { (o: inout Speechmatics) in o.domain = "" },
            { (o: inout Speechmatics) in
                o.operatingPoint = .enhanced
                o.model = "standard"
            },
        ] as [@Sendable (inout Speechmatics) -> Void])
    func speechmaticsValidation(change: @Sendable (inout Speechmatics) -> Void) {
        var options = Speechmatics(credentials: .apiKey("key"))
        #expect(throws: Never.self) { try options.validate() }
        change(&options)
        #expect(throws: TranscriptionError.self) { try options.validate() }
    }

    @Test("Speechmatics temporary keys are asked for as real-time keys: type=rt unless the URL sets a type")
    func realtimeKeyURL() {
        #expect(Speechmatics.realtimeKeyURL("https://h/v1/api_keys") == "https://h/v1/api_keys?type=rt")
        #expect(Speechmatics.realtimeKeyURL("https://h/v1/api_keys?") == "https://h/v1/api_keys?type=rt")
        #expect(Speechmatics.realtimeKeyURL("https://h/v1/api_keys?a=1") == "https://h/v1/api_keys?a=1&type=rt")
        #expect(Speechmatics.realtimeKeyURL("https://h/v1/api_keys?type=rt") == "https://h/v1/api_keys?type=rt")
        #expect(Speechmatics.realtimeKeyURL("https://h/k?x=1&type=batch") == "https://h/k?x=1&type=batch")
    }

    @Test("secrets never show in descriptions, dumps or errors")
    func secretsRedacted() {
        let key = Secret("sk-live-0123456789")
        let options = AssemblyAI(credentials: .apiKey(key), speechModel: .u3RealtimePro)
        var dumped = ""
        dump(options, to: &dumped)
        for text in ["\(key)", String(reflecting: key), "\(options)", String(reflecting: options), dumped] {
            #expect(!text.contains("sk-live"), "\(text)")
        }
    }

    @Test("mid-session updates carry only what each vendor allows")
    func updates() throws {
        var update = ConfigurationUpdate()
        update.keytermsPrompt = []
        update.maxTurnSilence = 800
        #expect(
            try update.assemblyAIMessage().description
                == #"{"type":"UpdateConfiguration","max_turn_silence":800,"keyterms_prompt":[]}"#)
        #expect(throws: TranscriptionError.self) { try update.speechmaticsMessage(language: "en") }
        var speechmatics = ConfigurationUpdate()
        speechmatics.maxDelay = 2
        speechmatics.enablePartials = false
        #expect(
            try speechmatics.speechmaticsMessage(language: "en").description
                == #"{"message":"SetRecognitionConfig","transcription_config":{"language":"en","max_delay":2,"enable_partials":false}}"#
        )
    }

    @Test("the JSON parser is strict and round-trips")
    func json() throws {
        let text = #"{"a":[1,2.5,-3e2,true,false,null,"x\"\u00e9\ud83d\ude00"],"b":{}}"#
        let value = try JSONValue(parsing: text)
        #expect(value["a"]?.arrayValue?.count == 7)
        #expect(value["a"]?.arrayValue?[6].stringValue == "x\"é😀")
        #expect(try JSONValue(parsing: value.description) == value)
        for bad in ["", "{", "[1,]", "{\"a\" 1}", "tru", "01", "\"\\x\"", "{\"a\":1}x", "\"\u{01}\""] {
            #expect(throws: JSONParseError.self) { try JSONValue(parsing: bad) }
        }
    }
}
