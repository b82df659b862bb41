// Audio figures: conversion and resampling throughput, as seconds of audio processed per CPU
// second of the calling thread (single-threaded; nothing else runs meanwhile).
//
// Called from main.swift as `runAudioBenchmarks()`; prints a Markdown table.

import Foundation
import StreamingSTT

/// Prints the audio conversion throughput figures.
func runAudioBenchmarks(seconds: Int = 60, runs: Int = 3) throws {
    struct Case {
        let name: String
        let input: AudioFormat
        let output: AudioFormat
        var quality: AudioConverter.Quality = .high
    }
    let cases = [
        Case(
            name: "48 kHz stereo float32 → 16 kHz mono int16 (soxr HQ)",
            input: .float32(sampleRate: 48_000, channelCount: 2), output: .pcm16(sampleRate: 16_000)),
        Case(
            name: "48 kHz stereo float32 → 16 kHz mono int16 (soxr VHQ)",
            input: .float32(sampleRate: 48_000, channelCount: 2), output: .pcm16(sampleRate: 16_000),
            quality: .veryHigh),
        Case(
            name: "44.1 kHz mono int16 → 16 kHz mono int16 (soxr HQ)",
            input: .pcm16(sampleRate: 44_100), output: .pcm16(sampleRate: 16_000)),
        Case(
            name: "16 kHz int16 → 16 kHz mu-law (encoding only)", input: .pcm16(sampleRate: 16_000),
            output: .mulaw(sampleRate: 16_000)),
        Case(
            name: "16 kHz int16 → 8 kHz mu-law (resample + encode)", input: .pcm16(sampleRate: 16_000),
            output: .mulaw(sampleRate: 8000)),
        Case(
            name: "8 kHz mu-law → 16 kHz int16 (decode + resample)", input: .mulaw(sampleRate: 8000),
            output: .pcm16(sampleRate: 16_000)),
    ]
    print(
        "## Audio conversion (\(seconds) s of audio in 50 ms buffers, \(runs) runs): audio seconds per CPU second, median (min–max)\n"
    )
    print("| conversion | throughput, × real time |")
    print("|---|---|")
    for benchmark in cases {
        let buffers = try testBuffers(format: benchmark.input, seconds: seconds)
        var figures: [Double] = []
        for _ in 0..<runs {
            let converter = try AudioConverter(from: benchmark.input, to: benchmark.output, quality: benchmark.quality)
            var frames = 0
            let start = threadCPUSeconds()
            for buffer in buffers { frames += try converter.convert(buffer).frameCount }
            frames += try converter.flush().frameCount
            let cpu = threadCPUSeconds() - start
            precondition(abs(frames - seconds * benchmark.output.sampleRate) <= 2, "frames lost in \(benchmark.name)")
            figures.append(Double(seconds) / cpu)
        }
        figures.sort()
        let median = figures[figures.count / 2]
        print("| \(benchmark.name) | \(Int(median)) (\(Int(figures.first!))–\(Int(figures.last!))) |")
    }
    print("")
}

/// `seconds` of a 440 Hz tone plus a little noise in `format`, in 50 ms buffers.
private func testBuffers(format: AudioFormat, seconds: Int) throws -> [AudioBuffer] {
    let float = AudioFormat.float32(sampleRate: format.sampleRate, channelCount: format.channelCount)
    let toInput = try AudioConverter(from: float, to: format)
    let perBuffer = format.sampleRate / 20
    var generator = SystemRandomNumberGenerator()
    var buffers: [AudioBuffer] = []
    for index in 0..<(seconds * 20) {
        var samples = [Float](repeating: 0, count: perBuffer * format.channelCount)
        for frame in 0..<perBuffer {
            let time = Double(index * perBuffer + frame) / Double(format.sampleRate)
            let value = Float(0.4 * sin(2 * Double.pi * 440 * time)) + Float.random(in: -0.01...0.01, using: &generator)
            for channel in 0..<format.channelCount { samples[frame * format.channelCount + channel] = value }
        }
        let buffer = AudioBuffer(format: float, floatSamples: samples, startFrame: Int64(index * perBuffer))
        buffers.append(try toInput.convert(buffer))
    }
    return buffers
}

/// CPU time of the calling thread, in seconds.
private func threadCPUSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}
