import Foundation
import StreamingSTT
import StreamingSTTTesting
import StreamingSTTWebSocket
import Testing

@Suite("Emulator: Speechmatics RT v2 validation")
struct EmulatorSpeechmaticsValidationTests {
    enum Step: Sendable {
        case text(String)
        case audio(Int)
        case awaitStarted
    }

    static let start = EmulatorSpeechmaticsTests.start()

    /// Runs `steps`, expects `Error` of `type` and a close with `code`; returns the record.
    static func expectError(
        _ emulator: TranscriptionEmulator, path: String = "", steps: [Step], type: String, code: Int
    ) async throws -> String {
        let client = try await EmulatorClient.connect(emulator.speechmaticsURL + path, headers: speechmaticsKey)
        for step in steps {
            switch step {
            case .text(let text): try? await client.send(json: text)
            case .audio(let bytes): try? await client.send(audio: [UInt8](repeating: 0, count: bytes))
            case .awaitStarted: try await client.waitForMessage("RecognitionStarted")
            }
        }
        let error = try await client.waitForMessage("Error")
        #expect(topLevelKeys(client.texts.last { $0.contains(#""Error""#) } ?? "") == ["message", "type", "reason"])
        #expect(error["type"] as? String == type)
        #expect(error["reason"] is String)
        let closure = try await client.closed()
        #expect(closure.peerCode == code)
        #expect(closure.peerReason == type)
        return error["reason"] as? String ?? ""
    }

    /// `speaker_diarization_config` values the service refuses (protocol note: `max_speakers` an
    /// integer ≥ 2, `speaker_sensitivity` 0…1, booleans, `speakers` labels not matching
    /// `^(S\d+|UU|\s+.*|\S+.*\s+)$`, at most 50 identifiers in all).
    static let refusedSpeakerConfigs: [String] = [
        #"[]"#,
        #"{"max_speakers":1}"#,
        #"{"max_speakers":2.5}"#,
        #"{"max_speakers":"3"}"#,
        #"{"speaker_sensitivity":1.01}"#,
        #"{"speaker_sensitivity":-0.5}"#,
        #"{"speaker_sensitivity":"high"}"#,
        #"{"prefer_current_speaker":"yes"}"#,
        #"{"get_speakers":1}"#,
        #"{"speakers":{"label":"Alice","speaker_identifiers":["x"]}}"#,
        #"{"speakers":["Alice"]}"#,
        #"{"speakers":[{"label":"Alice"}]}"#,
        #"{"speakers":[{"speaker_identifiers":["x"]}]}"#,
        #"{"speakers":[{"label":7,"speaker_identifiers":["x"]}]}"#,
        #"{"speakers":[{"label":"Alice","speaker_identifiers":[7]}]}"#,
        #"{"speakers":[{"label":"Alice","speaker_identifiers":"x"}]}"#,
        #"{"speakers":[{"label":"UU","speaker_identifiers":["x"]}]}"#,
        #"{"speakers":[{"label":"S3","speaker_identifiers":["x"]}]}"#,
        #"{"speakers":[{"label":" Alice","speaker_identifiers":["x"]}]}"#,
        #"{"speakers":[{"label":"Alice ","speaker_identifiers":["x"]}]}"#,
        #"{"speakers":[{"label":"A","speaker_identifiers":["# + (0..<51).map { #""i\#($0)""# }.joined(separator: ",")
            + "]}]}",
    ]

    @Test("speaker_diarization_config: every value the service refuses answers invalid_config and closes 1003")
    func refusedSpeakerConfigs() async throws {
        let emulator = try TranscriptionEmulator(configuration: fastConfiguration())
        defer { emulator.shutdown() }
        for config in Self.refusedSpeakerConfigs {
            let start = EmulatorSpeechmaticsTests.start(
                extra: #","diarization":"speaker","speaker_diarization_config":"# + config)
            _ = try await Self.expectError(emulator, steps: [.text(start)], type: "invalid_config", code: 1003)
        }
        let records = await emulator.waitForSessions(count: Self.refusedSpeakerConfigs.count)
        for (record, config) in zip(records, Self.refusedSpeakerConfigs) {
            #expect(
                record.violations.count == 1 && record.violations[0].hasPrefix("invalid_config/1003: "), "\(config)")
        }
    }

    @Test("order, schema and configuration errors answer with the vendor's Error and close code")
    func validation() async throws {
        let emulator = try TranscriptionEmulator(configuration: fastConfiguration())
        defer { emulator.shutdown() }
        let start = Self.start
        let cases: [(String, [Step], String, Int)] = [
            ("", [.audio(3200)], "protocol_error", 1003),
            ("", [.text(#"{"message":"EndOfStream","last_seq_no":0}"#)], "protocol_error", 1003),
            ("", [.text(start), .awaitStarted, .text(start)], "protocol_error", 1003),
            (
                "",
                [
                    .text(start), .awaitStarted, .audio(3200), .audio(3200),
                    .text(#"{"message":"EndOfStream","last_seq_no":5}"#),
                ],
                "protocol_error", 1003
            ),
            ("", [.text(#"{"message":"StartRecognition","audio_format":{"type":"file"}}"#)], "invalid_config", 1003),
            ("", [.text(EmulatorSpeechmaticsTests.start(language: "xx"))], "invalid_model", 4004),
            ("", [.text(EmulatorSpeechmaticsTests.start(extra: #","max_delay":10"#))], "invalid_config", 1003),
            ("", [.text(EmulatorSpeechmaticsTests.start(extra: #","diarization":"maybe""#))], "invalid_config", 1003),
            ("", [.text(EmulatorSpeechmaticsTests.start(extra: #","enable_partials":"yes""#))], "invalid_config", 1003),
            (
                "",
                [
                    .text(
                        EmulatorSpeechmaticsTests.start(
                            extra: #","conversation_config":{"end_of_utterance_silence_trigger":3}"#))
                ],
                "invalid_config", 1003
            ),
            (
                "",
                [
                    .text(
                        EmulatorSpeechmaticsTests.start(
                            extra:
                                #","speaker_diarization_config":{"speakers":[{"label":"S1","speaker_identifiers":["x"]}]}"#
                        ))
                ], "invalid_config", 1003
            ),
            ("", [.text(EmulatorSpeechmaticsTests.start(encoding: "pcm_s24le"))], "invalid_audio_type", 1003),
            ("/fr", [.text(start)], "invalid_config", 1003),
            ("", [.text("not json")], "invalid_message", 1003),
            ("", [.text(start), .awaitStarted, .text(#"{"message":"Finish"}"#)], "invalid_message", 1003),
            (
                "",
                [
                    .text(start), .awaitStarted,
                    .text(#"{"message":"SetRecognitionConfig","transcription_config":{"language":"de"}}"#),
                ], "invalid_config", 1003
            ),
            (
                "",
                [
                    .text(start), .awaitStarted,
                    .text(
                        #"{"message":"SetRecognitionConfig","transcription_config":{"language":"en","diarization":"speaker"}}"#
                    ),
                ], "invalid_config", 1003
            ),
            ("", [.text(start), .awaitStarted, .text(#"{"message":"EndOfStream"}"#)], "invalid_message", 1003),
        ]
        for (path, steps, type, code) in cases {
            let reason = try await Self.expectError(emulator, path: path, steps: steps, type: type, code: code)
            #expect(!reason.isEmpty)
        }
        let records = await emulator.waitForSessions(count: cases.count)
        for (record, (_, _, type, code)) in zip(records, cases) {
            #expect(
                record.violations.count == 1 && record.violations[0].hasPrefix("\(type)/\(code): "),
                "\(record.violations)")
        }
    }

    @Test("a last_seq_no below the chunks received is recorded and answered normally; audio after EndOfStream warns")
    func lastSeqNoMismatch() async throws {
        // A long grace, so the emulator does not close before the late audio arrives.
        let emulator = try TranscriptionEmulator(
            configuration: fastConfiguration { $0.speechmatics.closeGrace = .seconds(30) })
        defer { emulator.shutdown() }
        let client = try await EmulatorClient.connect(emulator.speechmaticsURL, headers: speechmaticsKey)
        try await client.send(json: Self.start)
        try await client.waitForMessage("RecognitionStarted")
        _ = try await client.sendSilence(seconds: 0.3, chunkMilliseconds: 100)
        try await client.send(json: #"{"message":"EndOfStream","last_seq_no":2}"#)
        try await client.waitForMessage("EndOfTranscript")
        try await client.send(audio: [UInt8](repeating: 0, count: 3200))
        let warning = try await client.waitForMessage("Warning")
        #expect(warning["type"] as? String == "add_audio_after_eos")
        await client.close()
        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(record.violations.count == 2)
        #expect(record.violations[0] == "recorded only: EndOfStream last_seq_no 2 but 3 audio chunks were received")
    }

    @Test("credentials: HTTP 401 at the handshake by default, or in-band not_authorised and 4001")
    func authentication() async throws {
        let emulator = try TranscriptionEmulator(configuration: fastConfiguration())
        defer { emulator.shutdown() }
        for headers in [[], [("Authorization", "Bearer wrong")], [("Authorization", "emulator-key")]] {
            let error = await failure {
                _ = try await EmulatorClient.connect(emulator.speechmaticsURL, headers: headers)
            }
            #expect(error?.code == .handshakeRejected)
            #expect(error?.httpStatus == 401)
        }
        let records = await emulator.waitForSessions(count: 3)
        #expect(records.allSatisfy { $0.handshakeStatus == 401 && $0.ended })

        let inBand = try TranscriptionEmulator(
            configuration: fastConfiguration { $0.speechmatics.handshakeAuthFailure = .inBand })
        defer { inBand.shutdown() }
        let client = try await EmulatorClient.connect(
            inBand.speechmaticsURL, headers: [("Authorization", "Bearer wrong")])
        let error = try await client.waitForMessage("Error")
        #expect(error["type"] as? String == "not_authorised")
        #expect(error["reason"] as? String == "Not Authorized")
        #expect(try await client.closed().peerCode == 4001)
    }

    @Test("temporary keys: minted by POST /v1/api_keys?type=rt (201), used once with jwt= or Bearer")
    func temporaryKeys() async throws {
        let emulator = try TranscriptionEmulator(configuration: fastConfiguration(tls: true))
        defer { emulator.shutdown() }
        #expect(emulator.speechmaticsTokenURL == "https://127.0.0.1:\(emulator.port)/v1/api_keys?type=rt")
        let tls = TLSConfiguration(additionalTrustRoots: [.file(sharedAuthority.caCertificatePath)])
        let response = try await HTTPClient.send(
            "POST", url: emulator.speechmaticsTokenURL,
            headers: speechmaticsKey + [("Content-Type", "application/json")], body: Array(#"{"ttl":60}"#.utf8),
            tls: tls, timeout: .seconds(30))
        #expect(response.status == 201)
        let body = String(decoding: response.body, as: UTF8.self)
        #expect(topLevelKeys(body) == ["apikey_id", "key_value"])
        let key = try #require(parseObject(body)?["key_value"] as? String)

        let first = try await EmulatorClient.connect(emulator.speechmaticsURL + "?jwt=" + key)
        try await first.send(json: Self.start)
        try await first.waitForMessage("RecognitionStarted")
        await first.close()
        let reused = await failure { _ = try await EmulatorClient.connect(emulator.speechmaticsURL + "?jwt=" + key) }
        #expect(reused?.httpStatus == 401)

        let bearer = emulator.makeSpeechmaticsTemporaryKey()
        let second = try await EmulatorClient.connect(
            emulator.speechmaticsURL, headers: [("Authorization", "Bearer " + bearer)])
        try await second.send(json: Self.start)
        try await second.waitForMessage("RecognitionStarted")
        await second.close()

        let batch = try await HTTPClient.send(
            "POST", url: emulator.speechmaticsTokenURL.replacingOccurrences(of: "type=rt", with: "type=batch"),
            headers: speechmaticsKey, body: Array(#"{"ttl":60}"#.utf8), tls: tls, timeout: .seconds(30))
        #expect(batch.status == 201)
        let batchKey = try #require(parseObject(String(decoding: batch.body, as: UTF8.self))?["key_value"] as? String)
        let notRealtime = await failure {
            _ = try await EmulatorClient.connect(emulator.speechmaticsURL + "?jwt=" + batchKey)
        }
        #expect(notRealtime?.httpStatus == 401)

        let records = await emulator.waitForSessions(count: 4)
        #expect(records[0].query.first { $0.name == "jwt" }?.value == "***")

        for (headers, body, status, text) in [
            (speechmaticsKey, #"{"ttl":30}"#, 422, "ttl in body should be greater than or equal to 60"),
            (speechmaticsKey, #"{"ttl":86401}"#, 422, "ttl in body should be less than or equal to 86400"),
            (speechmaticsKey, #"{}"#, 422, "ttl in body is required"),
            (speechmaticsKey, #"{"ttl":"60"}"#, 422, "ttl in body must be of type integer"),
            ([("Authorization", "Bearer nope")], #"{"ttl":60}"#, 401, "Permission Denied"),
            ([("Authorization", "emulator-key")], #"{"ttl":60}"#, 401, "Permission Denied"),
        ] {
            let answer = try await HTTPClient.send(
                "POST", url: emulator.speechmaticsTokenURL, headers: headers, body: Array(body.utf8), tls: tls,
                timeout: .seconds(30))
            #expect(answer.status == status, "\(body)")
            #expect(parseObject(String(decoding: answer.body, as: UTF8.self))?["error"] as? String == text)
        }
        let get = try await HTTPClient.send(
            "GET", url: emulator.speechmaticsTokenURL, headers: speechmaticsKey, tls: tls, timeout: .seconds(30))
        #expect(get.status == 405)
    }
}
