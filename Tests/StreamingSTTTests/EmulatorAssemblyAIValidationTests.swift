import Foundation
import StreamingSTT
import StreamingSTTTesting
import StreamingSTTWebSocket
import Testing

@Suite("Emulator: AssemblyAI v3 validation")
struct EmulatorAssemblyAIValidationTests {
    /// Connects, expects `Error` then a close with the same code; returns the error text.
    static func expectError(
        _ emulator: TranscriptionEmulator, query: String, headers: [(name: String, value: String)] = assemblyAIKey,
        code: Int, then send: (@Sendable (EmulatorClient) async throws -> Void)? = nil
    ) async throws -> String {
        let client = try await EmulatorClient.connect(emulator.assemblyAIURL + query, headers: headers)
        if let send {
            try await client.waitForMessage("Begin")
            try await send(client)
        }
        let error = try await client.waitForMessage("Error")
        #expect(topLevelKeys(client.texts.last { $0.contains(#""Error""#) } ?? "") == ["type", "error_code", "error"])
        #expect(error["error_code"] as? Int == code)
        let closure = try await client.closed()
        #expect(closure.peerCode == code)
        let text = error["error"] as? String ?? ""
        #expect(closure.peerReason == (text.utf8.count <= 123 ? text : "See Error message for details"))
        return text
    }

    @Test("query parameters are validated with 3006 and the service's texts")
    func queryValidation() async throws {
        let emulator = try TranscriptionEmulator(configuration: fastConfiguration())
        defer { emulator.shutdown() }
        let cases: [(String, String)] = [
            ("?sample_rate=16000", "User Input Validation Error: Invalid 'speech_model': Field required"),
            ("?speech_model=u3-rt-pro", "User Input Validation Error: Invalid 'sample_rate': Field required"),
            (
                "?speech_model=u3-rt-pro&sample_rate=16000&keyterms_prompt=a&keyterms_prompt=b",
                "User Input Validation Error: Invalid 'keyterms_prompt': Value error, Invalid JSON array; "
                    + "Invalid 'keyterms_prompt': Value error, Invalid JSON array"
            ),
            (
                "?speech_model=u3-rt-pro&sample_rate=16000&keyterms_prompt=hello",
                "User Input Validation Error: Invalid 'keyterms_prompt': Value error, Invalid JSON array"
            ),
            (
                "?speech_model=u3-rt-pro&sample_rate=16000&format_turns=yes",
                "User Input Validation Error: Invalid 'format_turns': Input should be a valid boolean"
            ),
            (
                "?speech_model=u3-rt-pro&sample_rate=16000&inactivity_timeout=2",
                "User Input Validation Error: Invalid 'inactivity_timeout': Input should be greater than or equal to 5 "
                    + "and less than or equal to 3600"
            ),
            (
                "?speech_model=u3-rt-pro&sample_rate=16000&encoding=pcm_f32le",
                "User Input Validation Error: Invalid 'encoding': Input should be 'pcm_s16le', 'pcm_mulaw', 'opus', "
                    + "'ogg_opus' or 'aac'"
            ),
            (
                "?speech_model=u3-rt-pro&sample_rate=16000&end_of_turn_confidence_threshold=1.5",
                "User Input Validation Error: Invalid 'end_of_turn_confidence_threshold': Input should be greater "
                    + "than or equal to 0.0 and less than or equal to 1.0"
            ),
            (
                "?speech_model=u3-rt-pro&sample_rate=16000&sample_rate=8000",
                "User Input Validation Error: Invalid 'sample_rate': Value error, the parameter is repeated; "
                    + "Invalid 'sample_rate': Value error, the parameter is repeated"
            ),
        ]
        for (query, expected) in cases {
            let text = try await Self.expectError(emulator, query: query, code: 3006)
            #expect(text == expected, "\(query)")
        }
        let unknownModel = try await Self.expectError(
            emulator, query: "?speech_model=nova-3&sample_rate=16000", code: 3006)
        #expect(unknownModel.hasPrefix("User Input Validation Error: Invalid 'speech_model': Input should be "))
        #expect(closeReason(unknownModel) == "See Error message for details")
        let records = await emulator.waitForSessions(count: cases.count + 1)
        #expect(records.allSatisfy { $0.violations.count == 1 && $0.violations[0].hasPrefix("3006: ") })
        #expect(records.allSatisfy { !$0.messagesSent.contains { $0.contains("Begin") } })
    }

    @Test("accepted: JSON list parameters, True/False booleans, opus without sample_rate; unknown keys noted")
    func acceptedQueries() async throws {
        let emulator = try TranscriptionEmulator(configuration: fastConfiguration())
        defer { emulator.shutdown() }
        let keyterms = queryEncoded(#"["AssemblyAI", "Swift client"]"#)
        for query in [
            "?speech_model=u3-rt-pro&sample_rate=16000&keyterms_prompt=\(keyterms)&format_turns=True&no_such_key=1",
            "?speech_model=universal-streaming-multilingual&sample_rate=8000&encoding=pcm_mulaw&language_detection=False"
                + "&language_codes=\(queryEncoded(#"["en","es"]"#))",
            "?speech_model=universal-3-5-pro&encoding=opus&mode=max_accuracy",
        ] {
            let client = try await EmulatorClient.connect(emulator.assemblyAIURL + query, headers: assemblyAIKey)
            let begin = try await client.waitForMessage("Begin")
            #expect(begin["configuration"] != nil)
            await client.close()
        }
        let records = await emulator.waitForSessions(count: 3)
        #expect(records.allSatisfy { $0.violations.isEmpty })
        #expect(records[0].notes.contains("ignored unknown query parameter 'no_such_key'"))
        #expect(records[0].query.first { $0.name == "keyterms_prompt" }?.value == #"["AssemblyAI", "Swift client"]"#)
        let third = try #require(records[2].messagesSent.first.flatMap(parseObject))
        #expect((third["configuration"] as? [String: Any])?["mode"] as? String == "max_accuracy")
    }

    @Test("missing or wrong credentials: Error 1008 after the upgrade, or HTTP 401 when configured")
    func authentication() async throws {
        let emulator = try TranscriptionEmulator(configuration: fastConfiguration())
        defer { emulator.shutdown() }
        let query = EmulatorAssemblyAITests.u3Query
        for headers in [[], [("Authorization", "wrong-key")], [("Authorization", "Bearer emulator-key")]] {
            let text = try await Self.expectError(emulator, query: query, headers: headers, code: 1008)
            #expect(text == "Unauthorized Connection: Missing Authorization header")
        }
        let records = await emulator.waitForSessions(count: 3)
        #expect(records.allSatisfy { $0.violations.count == 1 && $0.violations[0].hasPrefix("1008: ") })

        let strict = try TranscriptionEmulator(
            configuration: fastConfiguration { $0.assemblyAI.rejectUnauthorizedWithHTTP401 = true })
        defer { strict.shutdown() }
        let error = await failure {
            _ = try await EmulatorClient.connect(strict.assemblyAIURL + query, headers: [("Authorization", "nope")])
        }
        #expect(error?.code == .handshakeRejected)
        #expect(error?.httpStatus == 401)
        let rejected = try #require(await strict.waitForSessions(count: 1).first)
        #expect(rejected.handshakeStatus == 401)
        #expect(rejected.headers.first { $0.name == "authorization" }?.value == "***")
    }

    @Test("audio chunks outside 50–1000 ms are refused with 3007", arguments: [(640, "20.0"), (33600, "1050.0")])
    func chunkDuration(bytes: Int, shown: String) async throws {
        let emulator = try TranscriptionEmulator(configuration: fastConfiguration())
        defer { emulator.shutdown() }
        let text = try await Self.expectError(emulator, query: EmulatorAssemblyAITests.u3Query, code: 3007) { client in
            try await client.send(audio: [UInt8](repeating: 0, count: 1600))
            try await client.send(audio: [UInt8](repeating: 0, count: bytes))
        }
        #expect(text == "Input duration violation: \(shown) ms. Expected between 50 and 1000 ms")
        let record = try #require(await emulator.waitForSessions(count: 1).first)
        #expect(record.audioChunkSizes == [1600, bytes])
        #expect(record.violations == ["3007: \(text)"])
    }

    @Test("malformed or unknown control messages are refused with 3006")
    func controlValidation() async throws {
        let emulator = try TranscriptionEmulator(configuration: fastConfiguration())
        defer { emulator.shutdown() }
        let cases: [(String, String)] = [
            (#"{"type":"Terminate""#, #"Invalid JSON: {"type":"Terminate""#),
            ("[]", "Invalid Message: []"),
            (#"{"type":"Finish"}"#, "Invalid Message Type: Finish"),
            (#"{"kind":"Terminate"}"#, #"Invalid Message Type: {"kind":"Terminate"}"#),
            (
                #"{"type":"UpdateConfiguration","max_turn_silence":"long"}"#,
                #"Invalid Message: {"type":"UpdateConfiguration","max_turn_silence":"long"}"#
            ),
            // The connection's limits hold mid-session too.
            (
                #"{"type":"UpdateConfiguration","interruption_delay":1001}"#,
                #"Invalid Message: {"type":"UpdateConfiguration","interruption_delay":1001}"#
            ),
            (
                #"{"type":"UpdateConfiguration","keyterms_prompt":["\#(String(repeating: "x", count: 51))"]}"#,
                #"Invalid Message: {"type":"UpdateConfiguration","keyterms_prompt":["\#(String(repeating: "x", count: 51))"]}"#
            ),
        ]
        for (message, expected) in cases {
            let text = try await Self.expectError(emulator, query: EmulatorAssemblyAITests.u3Query, code: 3006) {
                try await $0.send(json: message)
            }
            #expect(text == expected)
        }
    }

    @Test("temporary tokens: minted by GET /v3/token, accepted once in the query or the header, expire")
    func temporaryTokens() async throws {
        let emulator = try TranscriptionEmulator(configuration: fastConfiguration(tls: true))
        defer { emulator.shutdown() }
        let tls = TLSConfiguration(additionalTrustRoots: [.file(sharedAuthority.caCertificatePath)])
        let response = try await HTTPClient.send(
            "GET", url: emulator.assemblyAITokenURL + "?expires_in_seconds=60&max_session_duration_seconds=600",
            headers: assemblyAIKey, tls: tls, timeout: .seconds(30))
        #expect(response.status == 200)
        let body = String(decoding: response.body, as: UTF8.self)
        #expect(topLevelKeys(body) == ["token", "expires_in_seconds"])
        let json = try #require(parseObject(body))
        let token = try #require(json["token"] as? String)
        #expect(json["expires_in_seconds"] as? Int == 60)
        #expect(token.split(separator: ".").count == 3)

        let query = EmulatorAssemblyAITests.u3Query
        let first = try await EmulatorClient.connect(emulator.assemblyAIURL + query + "&token=" + token)
        let begin = try await first.waitForMessage("Begin")
        let expiresAt = try #require(begin["expires_at"] as? Int)
        #expect(abs(expiresAt - Int(Date().timeIntervalSince1970) - 600) <= 60)
        await first.close()
        let reused = try await Self.expectError(emulator, query: query + "&token=" + token, headers: [], code: 1008)
        #expect(reused == "Unauthorized Connection: Missing Authorization header")

        let headerToken = emulator.makeAssemblyAIToken()
        let second = try await EmulatorClient.connect(
            emulator.assemblyAIURL + query, headers: [("Authorization", headerToken)])
        try await second.waitForMessage("Begin")
        await second.close()

        let shortLived = emulator.makeAssemblyAIToken(expiresInSeconds: 1)
        try await Task.sleep(for: .milliseconds(1100))  // the expiry is the behaviour under test
        _ = try await Self.expectError(emulator, query: query + "&token=" + shortLived, headers: [], code: 1008)

        let records = await emulator.waitForSessions(count: 4)
        #expect(records[0].query.first { $0.name == "token" }?.value == "***")
        #expect(records[1].violations.first?.contains("already used") == true)
        #expect(records[3].violations.first?.contains("expired") == true)
        #expect(!records.flatMap { $0.query.map(\.value) + $0.headers.map(\.value) }.contains(token))

        for (url, headers, status) in [
            (emulator.assemblyAITokenURL + "?expires_in_seconds=60", [("Authorization", "bad")], 401),
            (emulator.assemblyAITokenURL + "?expires_in_seconds=0", assemblyAIKey, 400),
            (emulator.assemblyAITokenURL + "?expires_in_seconds=601", assemblyAIKey, 400),
            (emulator.assemblyAITokenURL, assemblyAIKey, 400),
            (
                emulator.assemblyAITokenURL + "?expires_in_seconds=60&max_session_duration_seconds=59", assemblyAIKey,
                400
            ),
            (
                emulator.assemblyAITokenURL + "?expires_in_seconds=60&max_session_duration_seconds=10801",
                assemblyAIKey, 400
            ),
        ] {
            let answer = try await HTTPClient.send("GET", url: url, headers: headers, tls: tls, timeout: .seconds(30))
            #expect(answer.status == status, "\(url)")
            #expect(parseObject(String(decoding: answer.body, as: UTF8.self))?["error"] is String)
        }
        let post = try await HTTPClient.send(
            "POST", url: emulator.assemblyAITokenURL + "?expires_in_seconds=60", headers: assemblyAIKey, tls: tls,
            timeout: .seconds(30))
        #expect(post.status == 405)
    }
}

private func closeReason(_ text: String) -> String {
    text.utf8.count <= 123 ? text : "See Error message for details"
}
