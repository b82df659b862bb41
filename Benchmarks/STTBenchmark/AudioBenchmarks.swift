// `stt-benchmark audio`, the audio path (workload 5 of Docs/Performance.md): conversion,
// resampling and file decoding throughput, as seconds of audio processed per CPU second
// (single-threaded: the figure is per core).
//
//   stt-benchmark audio                     # 5 runs, Markdown table
//   stt-benchmark audio --runs 9 --json
//
// `stt-benchmark transport` (the default mode) runs it too, after the transport figures.

import ArgumentParser
import Foundation
import StreamingSTT

/// `stt-benchmark audio`: ``runAudioBenchmarks(seconds:runs:json:)``.
struct AudioCommand: AsynchronousMode {
    static let configuration = CommandConfiguration(
        commandName: "audio",
        abstract: "Audio conversion, resampling and file decoding throughput, per core.",
        discussion: """
            Seconds of audio processed per CPU second, single-threaded. The files it decodes are \
            written once under .build/benchmark-audio/.
            """
    )

    @Option(help: "Seconds of the test signal converted or decoded per run.")
    var seconds: Int = 60

    @Option(help: "Runs of each conversion and decoding (the table gives their median, minimum and maximum).")
    var runs: Int = 5

    @Flag(help: "Print JSON instead of Markdown.")
    var json = false

    func validate() throws { try requirePositive(["--seconds": seconds, "--runs": runs]) }

    func run() async throws {
        try await runAudioBenchmarks(seconds: seconds, runs: runs, json: json)
    }
}

/// One row of the audio figures: what was measured and its throughput in each run.
private struct AudioFigure {
    var name: String
    var throughputs: [Double]
}

/// Prints the audio conversion and decoding throughput figures: a Markdown table, or JSON.
///
/// Every input is made from a fixed seed, so each run converts or decodes the same samples:
/// `seconds` of a 440 Hz tone plus a little noise. Conversions are fed 50 ms buffers (as a
/// capture callback gives them) and timed with this thread's CPU clock; file decoding goes
/// through ``AudioFileSource`` (its default 100 ms buffers) and is timed with the process's CPU
/// clock (nothing else runs). Each row is the median of `runs`, with the minimum and maximum.
func runAudioBenchmarks(seconds: Int = 60, runs: Int = 5, json: Bool = false) async throws {
    var figures: [AudioFigure] = []
    for conversion in conversionCases {
        figures.append(
            AudioFigure(
                name: conversion.name, throughputs: try measureConversion(conversion, seconds: seconds, runs: runs)))
    }
    for decoding in try decodingCases(seconds: seconds) {
        figures.append(AudioFigure(name: decoding.name, throughputs: try await measureDecoding(decoding, runs: runs)))
    }
    if json {
        let rows: [[String: Any]] = figures.map { figure in
            let sorted = figure.throughputs.sorted()
            return [
                "name": figure.name, "runs": sorted.count, "median_x_real_time": sorted[sorted.count / 2],
                "min_x_real_time": sorted.first ?? 0, "max_x_real_time": sorted.last ?? 0,
            ]
        }
        let data = try JSONSerialization.data(
            withJSONObject: ["workload": "audio path", "audio_seconds": seconds, "rows": rows],
            options: [.sortedKeys, .prettyPrinted])
        FileHandle.standardOutput.write(data + Data("\n".utf8))
        return
    }
    print(
        "## Audio path (\(seconds) s of audio, \(runs) runs, one thread): audio seconds per CPU second, median (min–max)\n"
    )
    print("| conversion or decoding | throughput, × real time per core |")
    print("|---|---|")
    for figure in figures {
        let sorted = figure.throughputs.sorted()
        let median = sorted[sorted.count / 2]
        print("| \(figure.name) | \(Int(median)) (\(Int(sorted.first!))–\(Int(sorted.last!))) |")
    }
    print("")
}

// MARK: - Conversion

private struct ConversionCase {
    let name: String
    let input: AudioFormat
    let output: AudioFormat
    var quality: AudioConverter.Quality = .high
}

private let captureFormat = AudioFormat.float32(sampleRate: 48_000, channelCount: 2)

private let conversionCases = [
    ConversionCase(
        name: "48 kHz stereo float32 → 16 kHz mono int16 (soxr HQ, the default)", input: captureFormat,
        output: .pcm16(sampleRate: 16_000)),
    ConversionCase(
        name: "48 kHz stereo float32 → 16 kHz mono int16 (soxr VHQ)", input: captureFormat,
        output: .pcm16(sampleRate: 16_000), quality: .veryHigh),
    ConversionCase(
        name: "48 kHz stereo float32 → 16 kHz mono mu-law (soxr HQ)", input: captureFormat,
        output: .mulaw(sampleRate: 16_000)),
    ConversionCase(
        name: "48 kHz stereo float32 → 8 kHz mono mu-law (soxr HQ)", input: captureFormat,
        output: .mulaw(sampleRate: 8000)),
    ConversionCase(
        name: "44.1 kHz mono int16 → 16 kHz mono int16 (soxr HQ)", input: .pcm16(sampleRate: 44_100),
        output: .pcm16(sampleRate: 16_000)),
    ConversionCase(
        name: "16 kHz int16 → 16 kHz mu-law (encoding only)", input: .pcm16(sampleRate: 16_000),
        output: .mulaw(sampleRate: 16_000)),
    ConversionCase(
        name: "16 kHz int16 → 8 kHz mu-law (resample + encode)", input: .pcm16(sampleRate: 16_000),
        output: .mulaw(sampleRate: 8000)),
    ConversionCase(
        name: "8 kHz mu-law → 16 kHz int16 (decode + resample)", input: .mulaw(sampleRate: 8000),
        output: .pcm16(sampleRate: 16_000)),
]

/// Audio seconds per thread CPU second of `conversion`, once per run, a new converter each run.
private func measureConversion(_ conversion: ConversionCase, seconds: Int, runs: Int) throws -> [Double] {
    let buffers = try testBuffers(format: conversion.input, seconds: seconds)
    var figures: [Double] = []
    for _ in 0..<runs {
        let converter = try AudioConverter(from: conversion.input, to: conversion.output, quality: conversion.quality)
        var frames = 0
        let start = cpuClockSeconds(CLOCK_THREAD_CPUTIME_ID)
        for buffer in buffers { frames += try converter.convert(buffer).frameCount }
        frames += try converter.flush().frameCount
        let cpu = cpuClockSeconds(CLOCK_THREAD_CPUTIME_ID) - start
        precondition(abs(frames - seconds * conversion.output.sampleRate) <= 2, "frames lost in \(conversion.name)")
        figures.append(Double(seconds) / cpu)
    }
    return figures
}

/// `seconds` of the test signal in `format`, in 50 ms buffers.
private func testBuffers(format: AudioFormat, seconds: Int) throws -> [AudioBuffer] {
    let float = AudioFormat.float32(sampleRate: format.sampleRate, channelCount: format.channelCount)
    let toInput = try AudioConverter(from: float, to: format)
    let samples = testSignal(sampleRate: format.sampleRate, channelCount: format.channelCount, seconds: seconds)
    let perBuffer = format.sampleRate / 20 * format.channelCount
    return try stride(from: 0, to: samples.count, by: perBuffer).map { offset in
        let buffer = AudioBuffer(
            format: float, floatSamples: Array(samples[offset..<min(offset + perBuffer, samples.count)]),
            startFrame: Int64(offset / format.channelCount))
        return try toInput.convert(buffer)
    }
}

/// `seconds` of a 440 Hz tone at 0.4 plus noise of ±0.01 (the same in every channel), interleaved;
/// the noise comes from a fixed seed, so every call returns the same samples.
private func testSignal(sampleRate: Int, channelCount: Int, seconds: Int) -> [Float] {
    var generator = SplitMix64(seed: 0x5EED)
    var samples = [Float](repeating: 0, count: sampleRate * seconds * channelCount)
    for frame in 0..<(sampleRate * seconds) {
        let time = Double(frame) / Double(sampleRate)
        let value = Float(0.4 * sin(2 * Double.pi * 440 * time)) + Float.random(in: -0.01...0.01, using: &generator)
        for channel in 0..<channelCount { samples[frame * channelCount + channel] = value }
    }
    return samples
}

/// A small seeded random number generator (SplitMix64), for inputs that are the same every run.
private struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}

// MARK: - File decoding

private struct DecodingCase {
    let name: String
    let path: String
    /// Convert the decoded buffers to this format too (what `transcribe FILE` does); `nil`:
    /// decode only.
    var convertTo: AudioFormat?
}

/// The files to decode, written under `.build/benchmark-audio/` on first use from the test
/// signal, plus the bundled demo recording (12.58 s of espeak-ng speech, 16 kHz mono FLAC).
private func decodingCases(seconds: Int) throws -> [DecodingCase] {
    let directory = BenchmarkRecording.packageRoot + "/.build/benchmark-audio"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    func file(_ kind: AudioFileKind, sampleRate: Int, channelCount: Int) throws -> String {
        let path =
            directory + "/tone-\(seconds)s-\(sampleRate)-\(channelCount)ch-\(kind.rawValue).\(kind.fileExtension)"
        if !FileManager.default.fileExists(atPath: path) {
            let samples = testSignal(sampleRate: sampleRate, channelCount: channelCount, seconds: seconds)
            try kind.write(samples, sampleRate: sampleRate, channelCount: channelCount, to: path + ".partial")
            try FileManager.default.moveItem(atPath: path + ".partial", toPath: path)
        }
        return path
    }
    let wire = AudioFormat.pcm16(sampleRate: 16_000)
    let flacStereo = try file(.flac, sampleRate: 48_000, channelCount: 2)
    return [
        DecodingCase(
            name: "AudioFileSource: FLAC 16 kHz mono, decode (speech, the bundled demo-speech.flac)",
            path: BenchmarkRecording.packageRoot + "/Examples/transcribe/Resources/demo-speech.flac"),
        DecodingCase(
            name: "AudioFileSource: FLAC 16 kHz mono 16-bit, decode",
            path: try file(.flac, sampleRate: 16_000, channelCount: 1)),
        DecodingCase(name: "AudioFileSource: FLAC 48 kHz stereo 16-bit, decode", path: flacStereo),
        DecodingCase(
            name: "AudioFileSource: FLAC 48 kHz stereo 16-bit, decode + convert to 16 kHz mono int16",
            path: flacStereo, convertTo: wire),
        DecodingCase(
            name: "AudioFileSource: WAV 48 kHz stereo 16-bit, decode",
            path: try file(.wav16, sampleRate: 48_000, channelCount: 2)),
        DecodingCase(
            name: "AudioFileSource: WAV 48 kHz stereo float32, decode",
            path: try file(.wavFloat, sampleRate: 48_000, channelCount: 2)),
    ]
}

/// Audio seconds per process CPU second of decoding (and converting) the whole file, once per
/// run. The first, untimed pass brings the file into the page cache.
private func measureDecoding(_ decoding: DecodingCase, runs: Int) async throws -> [Double] {
    let source = try AudioFileSource(path: decoding.path)
    let convertTo = decoding.convertTo
    let pass = { () async throws -> (frames: Int, cpu: Double) in
        let converter = try convertTo.map { try AudioConverter(from: source.format, to: $0) }
        var frames = 0
        let start = cpuClockSeconds(CLOCK_PROCESS_CPUTIME_ID)
        for try await buffer in source {
            if let converter { _ = try converter.convert(buffer) }
            frames += buffer.frameCount
        }
        if let converter { _ = try converter.flush() }
        return (frames, cpuClockSeconds(CLOCK_PROCESS_CPUTIME_ID) - start)
    }
    _ = try await pass()
    var figures: [Double] = []
    for _ in 0..<runs {
        let (frames, cpu) = try await pass()
        figures.append(Double(frames) / Double(source.format.sampleRate) / cpu)
    }
    return figures
}

/// The CPU time of `clock` (`CLOCK_THREAD_CPUTIME_ID` or `CLOCK_PROCESS_CPUTIME_ID`), in seconds.
private func cpuClockSeconds(_ clock: clockid_t) -> Double {
    var time = timespec()
    clock_gettime(clock, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}
