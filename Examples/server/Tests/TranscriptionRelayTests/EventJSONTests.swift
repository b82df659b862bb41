import Foundation
import Hummingbird
import HummingbirdTesting
import StreamingSTTCore
import StreamingSTTTesting
import Testing
import TranscriptionRelay

/// The JSON the relay sends besides the transcript events: the connection state.
@Suite("Relay JSON messages")
struct EventJSONTests {
    @Test(
        "Each connection state is one compact state message",
        arguments: [
            (RelayConnectionState.connecting, #"{"state":"connecting","type":"state"}"#),
            (.open, #"{"state":"open","type":"state"}"#),
            (.reconnecting, #"{"state":"reconnecting","type":"state"}"#),
            (.ended, #"{"state":"ended","type":"state"}"#),
        ])
    func stateMessage(state: RelayConnectionState, json: String) {
        #expect(EventJSON.state(state) == json)
    }

    @Test("The state follows the relayed events: begin and reconnected open, reconnecting reconnects, the rest keep it")
    func stateAfterEvents() {
        let session = SessionInfo(provider: .assemblyAI, id: "s-1")
        let transcript = Transcript(text: "hi", start: 0, end: 0.5, words: [])
        let table: [(TranscriptEvent, RelayConnectionState?)] = [
            (.begin(session), .open),
            (
                .reconnecting(
                    Reconnecting(reason: .rollover, sessionIndex: 0, sessionID: "s-1", attempt: 1, delay: .zero)),
                .reconnecting
            ),
            (
                .reconnected(
                    Reconnected(
                        reason: .rollover, sessionIndex: 1, session: session, attempts: 1, audioOffset: 0,
                        replayedAudio: 0, lostAudio: 0)),
                .open
            ),
            (.partial(transcript), nil),
            (.final(transcript), nil),
        ]
        for (event, state) in table {
            #expect(RelayConnectionState(after: event) == state, "\(event)")
        }
    }

    @Test("A relayed session tells its state: connecting, then open with begin, then ended before the close")
    func stateMessages() async throws {
        let emulator = try makeEmulator()
        defer { emulator.shutdown() }
        let relay = TranscriptionRelay(
            configuration: relayConfiguration(emulator: emulator), logger: LogRecorder().logger())
        try await relay.application().test(.live) { client in
            let port = try #require(client.port)
            let (events, _) = try await withTimeout {
                let ws = try await RelayClient.connect(port: port, token: clientToken)
                try await ws.send(audio: audio(seconds: script.duration + 1.5))
                try await ws.connection.send(text: #"{"type":"stop"}"#)
                return try await ws.readAll(includingState: true)
            }
            let states = events.filter { $0.type == "state" }.compactMap(\.state)
            #expect(states == ["connecting", "open", "ended"])
            let order = events.map(\.type)
            #expect(order.firstIndex(of: "begin").map { $0 < order.firstIndex(of: "partial") ?? 0 } == true)
            #expect(events.last?.type == "state" && events.last?.state == "ended")
            #expect(events.dropLast().last?.type == "terminated")
        }
    }
}
