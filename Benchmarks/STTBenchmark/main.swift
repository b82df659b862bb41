// stt-benchmark: transport figures over wss on loopback, and client CPU per audio-hour.
//
//   swift run -c release stt-benchmark            # all transport figures (about a minute)
//   swift run -c release stt-benchmark serve      # the server side alone (used by the above)
//   swift run -c release stt-benchmark cpu        # client CPU per audio-hour, ours and Python's
//   swift run -c release stt-benchmark emulator   # the emulator alone (used by `cpu`)
//   swift run -c release stt-benchmark client …   # one measured session (used by `cpu`)
//   swift run -c release stt-benchmark soak       # 200 sessions, 30 min, random faults (issue 4)
//   swift run -c release stt-benchmark sessions   # 100–2000 concurrent real-time sessions (issue 5)
//   swift run -c release stt-benchmark latency    # transcript delivery latency, 1 and 500 sessions
//   swift run -c release stt-benchmark audio      # audio conversion and file decoding throughput
//
// The server runs in a child process, so the client's CPU figures contain only the client.

import Foundation
import StreamingSTT
import StreamingSTTTesting

let arguments = Array(CommandLine.arguments.dropFirst())
let modeArguments = Array(arguments.dropFirst())
do {
    switch arguments.first {
    case "serve":
        try serve()
    case "emulator":
        try runEmulatorMode(modeArguments)
    case "client":
        try runBlocking { try await runClientMode(modeArguments) }
    case "cpu":
        try runBlocking { try await runCPUBenchmark(modeArguments) }
    case "soak":
        try runBlocking { try await runSoak(modeArguments) }
    case "soak-emulator":
        try runSoakEmulatorMode()
    case "sessions":
        try runBlocking { try await runSessionsMode(modeArguments) }
    case "latency":
        try runBlocking { try await runLatencyMode(modeArguments) }
    case "live":
        try runBlocking { try await runLiveMode(modeArguments) }
    case "audio":
        try runAudioMode(modeArguments)
    default:
        let runs = Int(arguments.first ?? "") ?? 3
        try runBlocking { try await runTransportBenchmarks(runs: runs) }
        print("")
        try runAudioBenchmarks()
    }
} catch {
    FileHandle.standardError.write(Data("stt-benchmark: \(error)\n".utf8))
    exit(1)
}

// MARK: - Server process

/// Serves /sink (counts binary bytes; answers the text "report" with the count), /echo and /idle
/// over TLS, prints "PORT <port> CA <path>" and runs until its standard input closes.
func serve() throws {
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

/// This executable in another mode (`serve` or `emulator`), as a child process that prints
/// `PORT <port> CA <path>` and runs until its standard input closes or says `quit`.
struct ServerProcess {
    let process: Process
    let input: Pipe
    let output: Pipe
    let port: Int
    let caPath: String

    static func start(_ arguments: [String] = ["serve"]) throws -> ServerProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        process.arguments = arguments
        let output = Pipe()
        let input = Pipe()
        process.standardOutput = output
        process.standardInput = input
        try process.run()
        let parts = readLine(from: output).split(separator: " ")
        guard parts.count == 4, let port = Int(parts[1]) else { throw BenchmarkError("server did not start") }
        return ServerProcess(process: process, input: input, output: output, port: port, caPath: String(parts[3]))
    }

    /// Sends `command` on the child's standard input and returns the line it answers.
    func ask(_ command: String) throws -> String {
        try input.fileHandleForWriting.write(contentsOf: Data((command + "\n").utf8))
        return Self.readLine(from: output)
    }

    private static func readLine(from output: Pipe) -> String {
        var line = Data()
        while true {
            let byte = output.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data("\n".utf8) { break }
            line += byte
        }
        return String(decoding: line, as: UTF8.self)
    }

    func stop() {
        try? input.fileHandleForWriting.write(contentsOf: Data("quit\n".utf8))
        process.waitUntilExit()
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
        + Double(usage.ru_stime.tv_usec) / 1e6
}

func residentBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        let kilobytes = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return kilobytes * 1024
    }
    return 0
}

func seconds(_ duration: Duration) -> Double {
    let (whole, attoseconds) = duration.components
    return Double(whole) + Double(attoseconds) / 1e18
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted[sorted.count / 2]
}

func spread(_ values: [Double]) -> String {
    guard let low = values.min(), let high = values.max() else { return "" }
    return String(format: "%.3g–%.3g", low, high)
}

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
        let cpuStart = cpuSeconds()
        let start = clock.now
        for _ in 0..<count { try await sink.send(binary: frame) }
        try await sink.send(text: "report")
        var iterator = sink.messages.makeAsyncIterator()
        let reported = try await iterator.next()
        let elapsed = seconds(clock.now - start)
        let cpu = cpuSeconds() - cpuStart
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
