// `stt-benchmark transport` (the default mode): the WebSocket transport alone, over wss on
// loopback, against `stt-benchmark serve` in a child process; then the audio path's figures.

import ArgumentParser
import Foundation
import StreamingSTT
import StreamingSTTTesting
import StreamingSTTWebSocket

/// `stt-benchmark transport [RUNS]`, also what `stt-benchmark` alone runs.
struct TransportCommand: AsynchronousMode {
    static let configuration = CommandConfiguration(
        commandName: "transport",
        abstract: "WebSocket transport figures over wss on loopback, then the audio path's (the default mode).",
        discussion: """
            Throughput and client CPU of 1600-byte binary messages, small text echo round trips and \
            resident memory per idle connection, against stt-benchmark serve in a child process; \
            then what stt-benchmark audio prints with its defaults.
            """
    )

    @Argument(help: "Runs of the transport figures (the table gives their median, minimum and maximum).")
    var runs: Int = 3

    func validate() throws { try requirePositive(["runs": runs]) }

    func run() async throws {
        try await runTransportBenchmarks(runs: runs)
        print("")
        try await runAudioBenchmarks()
    }
}

/// `stt-benchmark serve`: the server of `transport` and of `live --minimal-server`.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "The transport benchmark's server alone (run by transport and live --minimal-server).",
        discussion: """
            Prints PORT <port> CA <path>, then serves until its standard input closes or says quit.
            """
    )

    func run() throws { try serve() }
}

// MARK: - Server process

/// Serves /sink (counts binary bytes; answers the text "report" with the count), /echo, /idle and
/// /v3/ws (a minimal AssemblyAI v3 for load tests: `Begin`, audio dropped, `Termination` and a
/// close on `Terminate`) over TLS, prints "PORT <port> CA <path>" and runs until its standard
/// input closes.
func serve() throws {
    raiseOpenFileLimit()
    let authority = try TestCertificateAuthority.generate(names: ["localhost", "127.0.0.1"])
    let server = try TestWebSocketServer(tls: authority, maxQueuedOutboundBytes: 4 << 20) { connection in
        switch connection.handshake.path {
        case "/sink":
            var bytes = 0
            for try await message in connection.messages {
                switch message {
                case .binary(let payload): bytes += payload.count
                case .text: try await connection.send(.text("\(bytes)"))
                }
            }
        case "/echo":
            for try await message in connection.messages { try await connection.send(message) }
        case "/v3/ws":
            try await connection.send(.text(#"{"type":"Begin","id":"minimal","expires_at":4102444800}"#))
            for try await message in connection.messages {
                guard case .text(let text) = message, text.contains("Terminate") else { continue }
                try await connection.send(
                    .text(#"{"type":"Termination","audio_duration_seconds":0,"session_duration_seconds":0}"#))
                _ = await connection.close(WebSocketCloseFrame(code: 1000, reason: ""))
                break
            }
        default:
            _ = await connection.closed()
        }
    }
    FileHandle.standardOutput.write(Data("PORT \(server.port) CA \(authority.caCertificatePath)\n".utf8))
    while let line = readLine(strippingNewline: true), line != "quit" {}
    server.shutdown()
    authority.remove()
}

// MARK: - Client side

struct Figures {
    var messagesPerSecond: [Double] = []
    var megabytesPerSecond: [Double] = []
    var cpuPerMillion: [Double] = []
    var rttP50: [Double] = []
    var rttP99: [Double] = []
    var rssPerConnection: [Double] = []
}

func runTransportBenchmarks(runs: Int) async throws {
    let server = try ServerProcess.start()
    defer { server.stop() }
    var configuration = WebSocketConfiguration()
    configuration.tls.additionalTrustRoots = [.file(server.caPath)]
    let base = "wss://127.0.0.1:\(server.port)"
    var figures = Figures()
    let clock = ContinuousClock()

    for run in 1...runs {
        // 1. Throughput and CPU: 1600-byte binary messages, as fast as the transport allows.
        let count = 200_000
        let sink = try await WebSocketConnection.connect(to: base + "/sink", configuration: configuration)
        let frame = [UInt8](repeating: 0x42, count: 1600)
        let cpuStart = CPUTime.ofThisProcess().total
        let start = clock.now
        for _ in 0..<count { try await sink.send(binary: frame) }
        try await sink.send(text: "report")
        var iterator = sink.messages.makeAsyncIterator()
        let reported = try await iterator.next()
        let elapsed = seconds(clock.now - start)
        let cpu = CPUTime.ofThisProcess().total - cpuStart
        guard reported == .text("\(count * frame.count)") else {
            throw BenchmarkError("sink lost bytes: \(String(describing: reported))")
        }
        await sink.close()
        figures.messagesPerSecond.append(Double(count) / elapsed)
        figures.megabytesPerSecond.append(Double(count * frame.count) / elapsed / 1e6)
        figures.cpuPerMillion.append(cpu * 1_000_000 / Double(count))

        // 2. Round trip of small text echoes, one at a time.
        let echo = try await WebSocketConnection.connect(to: base + "/echo", configuration: configuration)
        var echoes = echo.messages.makeAsyncIterator()
        var samples: [Double] = []
        for index in 0..<10_000 {
            let sent = clock.now
            try await echo.send(text: "ping \(index)")
            _ = try await echoes.next()
            samples.append(seconds(clock.now - sent) * 1e6)
        }
        await echo.close()
        samples.sort()
        figures.rttP50.append(samples[samples.count / 2])
        figures.rttP99.append(samples[samples.count * 99 / 100])

        // 3. Resident memory per idle open connection, at 1000 connections.
        let before = residentBytes()
        var idle: [WebSocketConnection] = []
        for _ in 0..<1000 {
            idle.append(try await WebSocketConnection.connect(to: base + "/idle", configuration: configuration))
        }
        let after = residentBytes()
        figures.rssPerConnection.append(Double(after - before) / 1000)
        for connection in idle { await connection.close() }
        idle.removeAll()
        FileHandle.standardError.write(Data("run \(run)/\(runs) done\n".utf8))
    }

    print("## Transport (wss, loopback, server in a separate process), \(runs) runs: median (min–max)\n")
    print("| figure | value |")
    print("|---|---|")
    print(
        "| 1600-byte binary messages/s, one connection | \(Int(median(figures.messagesPerSecond))) (\(spread(figures.messagesPerSecond))) |"
    )
    print(
        "| MB/s, same run | \(String(format: "%.1f", median(figures.megabytesPerSecond))) (\(spread(figures.megabytesPerSecond))) |"
    )
    print(
        "| client CPU seconds per million 1600-byte messages | \(String(format: "%.2f", median(figures.cpuPerMillion))) (\(spread(figures.cpuPerMillion))) |"
    )
    print("| small text echo round trip p50, µs | \(Int(median(figures.rttP50))) (\(spread(figures.rttP50))) |")
    print("| small text echo round trip p99, µs | \(Int(median(figures.rttP99))) (\(spread(figures.rttP99))) |")
    print(
        "| resident memory per idle open connection (1000 open), KiB | \(String(format: "%.1f", median(figures.rssPerConnection) / 1024)) (\(spread(figures.rssPerConnection.map { $0 / 1024 }))) |"
    )
}
