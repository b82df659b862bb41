// `stt-benchmark client`: one transcription session through `StreamingTranscriber`, unpaced,
// measured from inside the process; the CPU benchmark runs it as a child process.

import ArgumentParser
import Foundation
import MetricsTestKit
import StreamingSTT

/// What one client session measured; printed as one JSON line. The Python clients print the
/// same fields (`Benchmarks/python/bench_common.py`).
struct ClientResult {
    var client: String
    var vendor: String
    var chunkMilliseconds: Int
    var audioSeconds: Double
    var cpu = CPUTime(user: 0, system: 0)
    var wallSeconds = 0.0
    var peakResidentKiB = 0
    var finals = 0
    var partials = 0
    var finalWords = 0
    /// The CPU seconds until the session had begun (connection, TLS, handshake, first message).
    var setupCPUSeconds = 0.0
    var error: String?

    /// The result as a JSON object.
    var json: [String: Any] {
        [
            "client": client, "vendor": vendor, "chunk_ms": chunkMilliseconds, "audio_seconds": audioSeconds,
            "cpu_seconds": cpu.total, "user_seconds": cpu.user, "system_seconds": cpu.system,
            "wall_seconds": wallSeconds, "peak_rss_kib": peakResidentKiB, "finals": finals, "partials": partials,
            "final_words": finalWords, "setup_cpu_seconds": setupCPUSeconds, "ok": error == nil,
            "error": error ?? "",
        ]
    }
}

/// `stt-benchmark client`: one session through `StreamingTranscriber` of the raw 16 kHz mono
/// pcm_s16le file `--audio` to the emulator at `--url`, in `--chunk-ms` chunks, as fast as the
/// session accepts them, reading the events concurrently; then `stop()`. Prints one JSON line
/// (``ClientResult``) and exits 1 if the session failed.
///
/// Measured from just before the transcriber is created until `stop()` has returned and the
/// event reader has finished: this process's user and system CPU time (and how much of it was
/// spent before `start()` returned), the wall time, and the process's peak resident memory. The
/// audio is read into memory before that.
struct ClientCommand: AsynchronousMode {
    static let configuration = CommandConfiguration(
        commandName: "client",
        abstract: "One measured transcription session against the emulator (run by cpu); prints one JSON line.",
        discussion: """
            The Python clients of Benchmarks/python take the same options, except --executor.
            """
    )

    @Option(help: "The emulator's vendor.")
    var vendor: Vendor

    @Option(name: .customLong("chunk-ms"), help: "Audio per message, in milliseconds.")
    var chunkMilliseconds: Int = 50

    @Option(help: "The recording: raw 16 kHz mono pcm_s16le.")
    var audio: String

    @Option(help: "The vendor's WebSocket URL on the emulator.")
    var url: String

    @Option(help: "The emulator's CA certificate (PEM), trusted besides the system's roots.")
    var ca: String

    @Option(help: "The API key the emulator accepts.")
    var key: String

    @Option(help: "Where the session's tasks run: pool (Swift's global pool) or loop (the event loop's thread).")
    var executor: ExecutorChoice = .pool

    @Flag(help: "Record the session's metrics (swift-metrics' TestMetrics as the factory; default: off, the no-op).")
    var metrics = false

    func validate() throws { try requirePositive(["--chunk-ms": chunkMilliseconds]) }

    func run() async throws {
        let chunk = chunkMilliseconds
        let recording = try readFile(audio)
        let apiKey = Secret(key)
        let provider: StreamingTranscriber.Provider
        switch vendor {
        case .assemblyai:
            provider = .assemblyAI(
                AssemblyAI(credentials: .apiKey(apiKey), speechModel: .u3RealtimePro, endpoint: .custom(url)))
        case .speechmatics:
            var speechmatics = Speechmatics(credentials: .apiKey(apiKey), language: "en", endpoint: .custom(url))
            speechmatics.enablePartials = true
            speechmatics.maxDelay = 1.0
            provider = .speechmatics(speechmatics)
        }
        var configuration = StreamingTranscriber.Configuration(
            audioChunkDuration: .milliseconds(chunk), tls: TLSConfiguration(additionalTrustRoots: [.file(ca)]))
        // A recording backend: every counter, meter and timer value kept in memory behind a lock.
        if metrics { configuration.metricsFactory = TestMetrics() }

        var result = ClientResult(
            client: "swift-streaming-stt", vendor: vendor.rawValue, chunkMilliseconds: chunk,
            audioSeconds: Double(recording.count) / Double(BenchmarkRecording.bytesPerSecond))
        let taskExecutor = executor.executor
        let clock = ContinuousClock()
        let cpuStart = CPUTime.ofThisProcess()
        let start = clock.now
        do {
            // With `--executor loop` the session's tasks run on the event loop's thread.
            if taskExecutor != nil { result.client = "swift-streaming-stt-on-event-loop" }
            if metrics { result.client += "-metrics" }
            try await withTaskExecutorPreference(taskExecutor) {
                try await streamSession(
                    recording, provider: provider, configuration: configuration, cpuStart: cpuStart, into: &result,
                    readerExecutor: taskExecutor)
            }
        } catch {
            result.error = "\(error)"
        }
        result.wallSeconds = seconds(clock.now - start)
        result.cpu = CPUTime.ofThisProcess() - cpuStart
        result.peakResidentKiB = peakResidentKiB()
        let json = try JSONSerialization.data(withJSONObject: result.json, options: [.sortedKeys])
        FileHandle.standardOutput.write(json + Data("\n".utf8))
        if result.error != nil { Foundation.exit(1) }
    }
}

/// One session: start, every chunk through `send(audio:)`, stop; the events counted meanwhile.
private func streamSession(
    _ audio: [UInt8], provider: StreamingTranscriber.Provider, configuration: StreamingTranscriber.Configuration,
    cpuStart: CPUTime, into result: inout ClientResult, readerExecutor: (any TaskExecutor)? = nil
) async throws {
    let transcriber = StreamingTranscriber(provider: provider, configuration: configuration)
    let reader = Task(executorPreference: readerExecutor) { () -> (finals: Int, partials: Int, words: Int) in
        var counts = (finals: 0, partials: 0, words: 0)
        for await event in transcriber.events {
            switch event {
            case .final(let transcript):
                counts.finals += 1
                counts.words += transcript.words.count
            case .partial:
                counts.partials += 1
            default:
                break
            }
        }
        return counts
    }
    do {
        try await transcriber.start()
        result.setupCPUSeconds = (CPUTime.ofThisProcess() - cpuStart).total
        let step = BenchmarkRecording.bytesPerSecond * result.chunkMilliseconds / 1000
        var offset = 0
        while offset < audio.count {
            let end = min(offset + step, audio.count)
            try await transcriber.send(audio: Array(audio[offset..<end]))
            offset = end
        }
        try await transcriber.stop()
    } catch {
        await transcriber.cancel()
        _ = await reader.value
        throw error
    }
    let counts = await reader.value
    result.finals = counts.finals
    result.partials = counts.partials
    result.finalWords = counts.words
}

/// The bytes of the file at `path`, read straight into one array (no second copy in memory).
private func readFile(_ path: String) throws -> [UInt8] {
    let descriptor = open(path, O_RDONLY)
    guard descriptor >= 0 else { throw BenchmarkError("cannot open \(path)") }
    defer { close(descriptor) }
    var status = stat()
    guard fstat(descriptor, &status) == 0 else { throw BenchmarkError("cannot stat \(path)") }
    let size = Int(status.st_size)
    var failed = false
    let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
        while count < size {
            let read = Glibc.read(descriptor, buffer.baseAddress! + count, size - count)
            if read <= 0 {
                failed = true
                break
            }
            count += read
        }
    }
    if failed { throw BenchmarkError("cannot read \(path)") }
    return bytes
}
