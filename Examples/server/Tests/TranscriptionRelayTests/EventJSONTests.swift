import Foundation
import Hummingbird
import HummingbirdTesting
import StreamingSTTCore
import StreamingSTTTesting
import Testing
import TranscriptionRelay

/// The JSON the relay sends besides the transcript events: the connection state and the
/// transcript lag.
@Suite("Relay JSON messages")
struct EventJSONTests {
    @Test("Each library connection state is one compact state message; idle is none")
    func stateMessages() {
        let lost = TranscriptionError(.connectionLost, reason: "gone")
        let table: [(ConnectionState, String?)] = [
            (.idle, nil),
            (.connecting, #"{"state":"connecting","type":"state"}"#),
            (.open, #"{"state":"open","type":"state"}"#),
            (.reconnecting(attempt: 1), #"{"attempt":1,"state":"reconnecting","type":"state"}"#),
            (.reconnecting(attempt: 3), #"{"attempt":3,"state":"reconnecting","type":"state"}"#),
            (.rollingOver, #"{"state":"rolling_over","type":"state"}"#),
            (.stopping, #"{"state":"stopping","type":"state"}"#),
            (.ended(nil), #"{"state":"ended","type":"state"}"#),
            (.ended(lost), #"{"state":"ended","type":"state"}"#),
        ]
        for (state, json) in table {
            #expect(RelayConnectionState(state).map(EventJSON.state) == json, "\(state)")
        }
    }

    @Test("The state names: the four of before unchanged, then rolling_over and stopping")
    func stateNames() {
        let table: [(RelayConnectionState, String)] = [
            (.connecting, "connecting"), (.open, "open"), (.reconnecting(attempt: 2), "reconnecting"),
            (.rollingOver, "rolling_over"), (.stopping, "stopping"), (.ended, "ended"),
        ]
        for (state, name) in table { #expect(state.name == name) }
    }

    @Test("The lag message carries the library's statistics in seconds; a number JSON lacks is null")
    func lagMessages() {
        let table: [(SessionStatistics, String)] = [
            (SessionStatistics(), #"{"audioSent":0,"lag":0,"maxLag":0,"transcribedUntil":0,"type":"lag"}"#),
            (
                SessionStatistics(
                    audioSecondsSent: 4.5, transcribedUntil: 3.25, transcriptLag: 1.25, maxTranscriptLag: 2),
                #"{"audioSent":4.5,"lag":1.25,"maxLag":2,"transcribedUntil":3.25,"type":"lag"}"#
            ),
            (
                SessionStatistics(audioSecondsSent: .nan, transcriptLag: .infinity),
                #"{"audioSent":null,"lag":null,"maxLag":0,"transcribedUntil":0,"type":"lag"}"#
            ),
        ]
        for (statistics, json) in table { #expect(EventJSON.lag(statistics) == json) }
    }

    @Test("A lag warning is forwarded as a lagging message; the other events keep their forwarding")
    func laggingEvent() {
        let transcript = Transcript(text: "hi", start: 0, end: 0.5, words: [])
        let table: [(TranscriptEvent, String?)] = [
            (
                .lagging(TranscriptLag(lag: 3.5, bound: 3, audioSent: 10, transcribedUntil: 6.5)),
                #"{"audioSent":10,"bound":3,"lag":3.5,"transcribedUntil":6.5,"type":"lagging"}"#
            ),
            (.final(transcript), #"{"end":0.5,"endOfTurn":false,"start":0,"text":"hi","type":"final","words":[]}"#),
            (.speechStarted(SpeechStarted(time: 1)), nil),
        ]
        for (event, json) in table { #expect(EventJSON.encode(event) == json, "\(event)") }
    }

    @Test(
        "A relayed session tells the library's connection states in order, ended last before the close",
        arguments: ["assemblyai", "speechmatics"])
    func stateMessagesLive(provider: String) async throws {
        let emulator = try makeEmulator()
        defer { emulator.shutdown() }
        let relay = TranscriptionRelay(
            configuration: relayConfiguration(emulator: emulator), logger: LogRecorder().logger())
        try await relay.application().test(.live) { client in
            let port = try #require(client.port)
            let (events, _) = try await withTimeout {
                let ws = try await RelayClient.connect(port: port, token: clientToken)
                try await ws.connection.send(text: #"{"type":"start","provider":"\#(provider)"}"#)
                try await ws.send(audio: audio(seconds: script.duration + 1.5))
                try await ws.connection.send(text: #"{"type":"stop"}"#)
                return try await ws.readAll(includingState: true)
            }
            let states = events.filter { $0.type == "state" }.compactMap(\.state)
            #expect(states == ["connecting", "open", "stopping", "ended"])
            let order = events.map(\.type)
            #expect(order.firstIndex(of: "begin").map { $0 < order.firstIndex(of: "partial") ?? 0 } == true)
            #expect(events.last?.type == "state" && events.last?.state == "ended")
            #expect(events.dropLast().last?.type == "terminated")
        }
    }

    @Test(
        "A relayed session tells the library's transcript lag after each final and before terminated",
        arguments: ["assemblyai", "speechmatics"])
    func lagMessagesLive(provider: String) async throws {
        let emulator = try makeEmulator()
        defer { emulator.shutdown() }
        let relay = TranscriptionRelay(
            configuration: relayConfiguration(emulator: emulator), logger: LogRecorder().logger())
        let sent = audio(seconds: script.duration + 1.5)
        let sentSeconds = Double(sent.count) / 32000
        try await relay.application().test(.live) { client in
            let port = try #require(client.port)
            let (events, _) = try await withTimeout {
                let ws = try await RelayClient.connect(port: port, token: clientToken)
                try await ws.connection.send(text: #"{"type":"start","provider":"\#(provider)"}"#)
                try await ws.send(audio: sent)
                try await ws.connection.send(text: #"{"type":"stop"}"#)
                return try await ws.readAll(includingLag: true)
            }
            let types = events.map(\.type)
            // One lag message right after each final, and one right before terminated.
            for (index, type) in types.enumerated() where type == "final" {
                #expect(types.indices.contains(index + 1) && types[index + 1] == "lag", "\(types)")
            }
            #expect(types.suffix(2) == ["lag", "terminated"], "\(types)")
            #expect(types.count { $0 == "lag" } == types.count { $0 == "final" } + 1)
            #expect(!types.contains("lagging"), "no warning without a bound")
            let lags = events.filter { $0.type == "lag" }
            var previousSent = 0.0
            for lag in lags {
                let value = try #require(lag.lag)
                let audioSent = try #require(lag.audioSent)
                let transcribedUntil = try #require(lag.transcribedUntil)
                #expect(value >= 0)
                #expect(try #require(lag.maxLag) >= value)
                #expect(audioSent >= previousSent && audioSent <= sentSeconds + 1e-9)
                #expect(abs(value - max(0, audioSent - transcribedUntil)) < 1e-9)
                previousSent = audioSent
            }
            // By terminated, every byte the client sent went to the vendor.
            #expect(abs((lags.last?.audioSent ?? -1) - sentSeconds) < 1e-9)
            let lastFinalEnd = events.last { $0.type == "final" }?.end
            #expect(lastFinalEnd != nil && lags.last?.transcribedUntil == lastFinalEnd)
        }
    }

    @Test(
        "Between finals the lag is reported at the interval while it grows, and never after the last event",
        arguments: ["assemblyai", "speechmatics"])
    func periodicLagReports(provider: String) async throws {
        let emulator = try makeEmulator()
        defer { emulator.shutdown() }
        var configuration = relayConfiguration(emulator: emulator)
        configuration.lagReportInterval = .milliseconds(50)
        let relay = TranscriptionRelay(configuration: configuration, logger: LogRecorder().logger())
        try await relay.application().test(.live) { client in
            let port = try #require(client.port)
            try await withTimeout {
                let ws = try await RelayClient.connect(port: port, token: clientToken)
                try await ws.connection.send(text: #"{"type":"start","provider":"\#(provider)"}"#)
                var messages = ws.connection.messages.makeAsyncIterator()
                // Audio that ends before the script's first word: no transcript, a growing lag.
                // (The library holds the last 50 ms chunk back for AssemblyAI until more comes.)
                var reported: [Double] = []
                for sent in [0.2, 0.4] {
                    try await ws.send(audio: audio(seconds: 0.2))
                    while reported.last ?? 0 < sent - 0.05 - 1e-9 {
                        let next = try await messages.next()
                        try #require(next != nil, "the relay closed before reporting \(sent) s")
                        guard case .text(let text) = next else { continue }
                        let message = try RelayEvent(parsing: text)
                        #expect(message.type != "final" && message.type != "partial", "\(text)")
                        guard message.type == "lag" else { continue }
                        let audioSent = try #require(message.audioSent)
                        #expect(message.transcribedUntil == 0 && message.lag == audioSent, "\(text)")
                        #expect(try #require(message.maxLag) >= audioSent)
                        reported.append(audioSent)
                    }
                }
                #expect(reported == reported.sorted() && Set(reported).count == reported.count, "\(reported)")
                try await ws.send(audio: audio(seconds: script.duration + 1))
                try await ws.connection.send(text: #"{"type":"stop"}"#)
                var types: [String] = []
                while let message = try await messages.next() {
                    guard case .text(let text) = message else { continue }
                    types.append(try RelayEvent(parsing: text).type)
                }
                #expect(types.contains("final"))
                let terminated = try #require(types.lastIndex(of: "terminated"), "\(types)")
                #expect(types[(terminated - 1)...] == ["lag", "terminated", "state"], "\(types)")
            }
        }
    }

    @Test("With a lag bound the library's warning reaches the client as a lagging message")
    func laggingLive() async throws {
        let emulator = try makeEmulator()
        defer { emulator.shutdown() }
        var configuration = relayConfiguration(emulator: emulator)
        // The test sends its audio at once: the transcript trails it by more than 0.5 s.
        configuration.transcriptLagWarning = .milliseconds(500)
        let relay = TranscriptionRelay(configuration: configuration, logger: LogRecorder().logger())
        try await relay.application().test(.live) { client in
            let port = try #require(client.port)
            let (events, _) = try await withTimeout {
                let ws = try await RelayClient.connect(port: port, token: clientToken)
                try await ws.send(audio: audio(seconds: script.duration + 1.5))
                try await ws.connection.send(text: #"{"type":"stop"}"#)
                return try await ws.readAll()
            }
            let warning = try #require(events.first { $0.type == "lagging" })
            #expect(warning.bound == 0.5)
            #expect(try #require(warning.lag) > 0.5)
            #expect(events.last?.type == "terminated")
        }
    }
}
