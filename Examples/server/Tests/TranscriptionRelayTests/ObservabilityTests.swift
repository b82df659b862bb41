import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Prometheus
import StreamingSTTCore
import StreamingSTTTesting
import StreamingSTTWebSocket
import Testing

@testable import TranscriptionRelay

/// The relay's Prometheus metrics and its health path. The registry is passed to the relay: no
/// test bootstraps the process-wide `MetricsSystem`.
@Suite("Relay server, metrics and health", .timeLimit(.minutes(1)))
struct ObservabilityTests {
    @Test("GET /metrics answers the Prometheus text format with the relay's metrics after a session; no secret in it")
    func metrics() async throws {
        let emulator = try makeEmulator()
        defer { emulator.shutdown() }
        var configuration = relayConfiguration(emulator: emulator)
        configuration.metricsPath = "/metrics"
        let registry = PrometheusCollectorRegistry()
        let relay = TranscriptionRelay(
            configuration: configuration, logger: LogRecorder().logger(), prometheusRegistry: registry)
        try await relay.application().test(.live) { client in
            let port = try #require(client.port)
            let (events, _) = try await withTimeout {
                let ws = try await RelayClient.connect(port: port, token: clientToken)
                try await ws.send(audio: audio(seconds: script.duration + 1.5))
                try await ws.connection.send(text: #"{"type":"stop"}"#)
                return try await ws.readAll()
            }
            #expect(events.contains { $0.type == "terminated" })
            // Refused twice: no client token, then a wrong one.
            for token in [nil, "wrong-\(clientToken)"] {
                _ = await #expect(throws: WebSocketError.self) {
                    try await RelayClient.connect(port: port, token: token).connection.cancel()
                }
            }
            let response = try await client.execute(uri: "/metrics", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            let text = String(buffer: response.body)
            #expect(text.contains("# TYPE stt_relay_sessions_total counter"))
            #expect(text.contains(#"stt_relay_sessions_total{provider="assemblyai"} 1"#))
            #expect(text.contains("# TYPE stt_relay_sessions_open gauge"))
            #expect(text.contains("stt_relay_sessions_open 0"))
            #expect(text.contains(#"stt_relay_sessions_refused_total{reason="unauthorized"} 2"#))
            // The library's own metrics of the relayed session go to the relay's registry too.
            #expect(text.contains(#"stt_sessions_started_total{provider="assemblyai"} 1"#))
            #expect(text.contains(#"stt_sessions_ended_total{provider="assemblyai"} 1"#))
            #expect(text.contains(#"stt_sessions_active{provider="assemblyai"} 0"#))
            for secret in [vendorKey, clientToken, "wrong-\(clientToken)"] { #expect(!text.contains(secret)) }
        }
    }

    @Test("Without a metrics path (the default) nothing is served there: 404")
    func metricsOff() async throws {
        let emulator = try makeEmulator()
        defer { emulator.shutdown() }
        let relay = TranscriptionRelay(
            configuration: relayConfiguration(emulator: emulator), logger: LogRecorder().logger(),
            prometheusRegistry: PrometheusCollectorRegistry())
        try await relay.application().test(.live) { client in
            let response = try await client.execute(uri: "/metrics", method: .get)
            #expect(response.status == .notFound)
        }
    }

    @Test("GET /healthz: 200 with the open sessions while running, 503 once a graceful shutdown drains")
    func health() async throws {
        let emulator = try makeEmulator()
        defer { emulator.shutdown() }
        let relay = TranscriptionRelay(
            configuration: relayConfiguration(emulator: emulator), logger: LogRecorder().logger())
        try await relay.application().test(.live) { client in
            let port = try #require(client.port)
            let idle = try await client.execute(uri: "/healthz", method: .get)
            #expect(idle.status == .ok)
            #expect(idle.headers[.contentType] == "application/json")
            #expect(String(buffer: idle.body) == #"{"openSessions":0,"status":"ok"}"#)
            try await withTimeout {
                let ws = try await RelayClient.connect(port: port, token: clientToken)
                var messages = ws.connection.messages.makeAsyncIterator()
                try await ws.send(audio: audio(seconds: 0.2))
                // The session is open once its vendor session began.
                while let event = try await ws.next(&messages), event.type != "begin" {}
                let busy = try await client.execute(uri: "/healthz", method: .get)
                #expect(String(buffer: busy.body) == #"{"openSessions":1,"status":"ok"}"#)
                ws.connection.cancel()
                _ = try await ws.readAll()
            }
            // What a graceful shutdown does first (`RelaySessionDrainer`): the relay is draining.
            await relay.registry.drain(timeout: .seconds(5))
            let draining = try await client.execute(uri: "/healthz", method: .get)
            #expect(draining.status == .serviceUnavailable)
            #expect(String(buffer: draining.body).contains(#""status":"draining""#))
        }
    }
}

@Suite("stt-server command, observability flags", .timeLimit(.minutes(1)))
struct ServerCommandMetricsTests {
    /// A running `stt-server --emulator --port 0` with `arguments`, and the port it listens on (from
    /// its "stt-server listening on http://127.0.0.1:PORT/ (…)" line). Terminate it when done.
    static func startServer(_ arguments: [String]) async throws -> (process: Process, port: Int) {
        let process = Process()
        process.executableURL = ServerCommandTests.executable
        process.arguments = ["--emulator", "--port", "0", "--log-level", "error"] + arguments
        process.environment = ["PATH": "/usr/bin:/bin"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let (chunks, chunkSink) = AsyncStream.makeStream(of: Data.self)
        output.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty { chunkSink.finish() } else { chunkSink.yield(data) }
        }
        defer { output.fileHandleForReading.readabilityHandler = nil }
        do {
            let port = try await withTimeout(.seconds(20)) {
                var text = ""
                for await chunk in chunks {
                    text += String(decoding: chunk, as: UTF8.self)
                    if let range = text.range(
                        of: #"listening on http://127\.0\.0\.1:(\d+)/"#, options: .regularExpression),
                        let port = Int(text[range].split(separator: ":").last?.dropLast() ?? "")
                    {
                        return port
                    }
                }
                throw TimeoutError()
            }
            return (process, port)
        } catch {
            process.terminate()
            process.waitUntilExit()
            throw error
        }
    }

    @Test("--metrics-path bootstraps a Prometheus registry that the path serves; /healthz answers")
    func metricsFlag() async throws {
        let (process, port) = try await Self.startServer(["--metrics-path", "/metrics"])
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        let metrics = try await rawRequest(port: port, "/metrics", authority: "127.0.0.1:\(port)")
        #expect(metrics.status == .ok)
        #expect(String(buffer: metrics.body ?? ByteBuffer()).contains("# TYPE stt_relay_sessions_open gauge"))
        let health = try await rawRequest(port: port, "/healthz", authority: "127.0.0.1:\(port)")
        #expect(health.status == .ok)
    }

    @Test("--lag-warning: a session whose transcript trails the audio by more gets a lagging message with that bound")
    func lagWarningFlag() async throws {
        let (process, port) = try await Self.startServer(["--lag-warning", "0.2", "--audio-burst", "60"])
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        let (events, _) = try await withTimeout {
            let ws = try await RelayClient.connect(port: port, token: nil)
            // Speechmatics: AssemblyAI (its service, and so the emulator) refuses audio sent faster
            // than real time. Sent at once, the transcript trails the audio by far more than 0.2 s.
            try await ws.connection.send(text: #"{"type":"start","provider":"speechmatics"}"#)
            try await ws.send(audio: audio(seconds: 3))
            try await ws.connection.send(text: #"{"type":"stop"}"#)
            return try await ws.readAll()
        }
        let warning = try #require(events.first { $0.type == "lagging" }, "\(events.map(\.json))")
        #expect(warning.bound == 0.2)
        #expect(try #require(warning.lag) > 0.2)
        #expect(events.last?.type == "terminated", "\(events.map(\.json))")
    }

    @Test("--lag-warning 0 or below: a usage error (exit 64) with the reason", arguments: ["0", "-1"])
    func lagWarningInvalid(value: String) async throws {
        let (status, stderr) = try await ServerCommandTests.run(["--port", "0", "--lag-warning=\(value)"])
        #expect(status == 64, "\(stderr)")
        #expect(stderr.contains("--lag-warning must be positive"), "\(stderr)")
    }
}
