// The benchmark's audio: the bundled demo recording repeated to any length, as raw 16 kHz mono
// pcm_s16le in a cache file, and the emulator script that says what is spoken in it.

import Foundation
import StreamingSTT
import StreamingSTTTesting

/// The recording every client of the CPU benchmark streams, and what the emulator hears in it.
///
/// The source is `Examples/transcribe/Resources/demo-speech.flac` (espeak-ng, 16 kHz mono,
/// 201 328 frames), decoded with ``AudioFileSource`` and repeated back to back, cut at the
/// requested length. The same bytes go to every client, so every run is reproducible.
enum BenchmarkRecording {
    /// Frames per second of the recording and of the wire format.
    static let sampleRate = 16_000
    /// Bytes per second of 16 kHz mono pcm_s16le.
    static let bytesPerSecond = sampleRate * 2
    /// Frames in the demo recording (one repetition).
    static let framesPerRepetition = 201_328
    /// The demo's sentences, where each starts and how long it lasts (seconds); the same as
    /// `Examples/transcribe/Demo.swift`.
    static let sentences: [(text: String, start: Double, duration: Double)] = [
        ("Hello, and welcome to Swift streaming STT.", 0.60, 3.165),
        ("This sentence is streamed live to the emulator.", 4.365, 3.164),
        ("Every final transcript arrives before the session ends.", 8.129, 3.854),
    ]

    /// The package's root directory, found from this file's path.
    static var packageRoot: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }

    /// The path of the cached recording of `seconds`, made first if missing.
    /// - Throws: ``AudioError`` when the demo recording cannot be decoded, or a file error.
    static func cachedFile(seconds: Int) async throws -> String {
        let directory = packageRoot + "/.build/benchmark-audio"
        let path = directory + "/demo-speech-repeated-\(seconds)s-16k-s16le.raw"
        let expected = seconds * bytesPerSecond
        if let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            (attributes[.size] as? Int) == expected
        {
            return path
        }
        let source = try AudioFileSource(path: packageRoot + "/Examples/transcribe/Resources/demo-speech.flac")
        guard source.format == .pcm16(sampleRate: sampleRate) else {
            throw BenchmarkError("the demo recording is \(source.format), expected 16 kHz mono int16")
        }
        var once: [UInt8] = []
        for try await buffer in source { once += buffer.bytes }
        guard once.count == framesPerRepetition * 2 else {
            throw BenchmarkError("the demo recording has \(once.count / 2) frames, expected \(framesPerRepetition)")
        }
        var audio: [UInt8] = []
        audio.reserveCapacity(expected)
        while audio.count < expected { audio += once.prefix(expected - audio.count) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Data(audio).write(to: URL(fileURLWithPath: path), options: .atomic)
        return path
    }

    /// What is spoken in the first `seconds` of the repeated recording: the demo's sentences,
    /// each word spread over its sentence in proportion to its length (as the demo's script does).
    static func script(seconds: Double) -> EmulatorScript {
        let period = Double(framesPerRepetition) / Double(sampleRate)
        var words: [EmulatorScript.Word] = []
        var offset = 0.0
        while offset < seconds {
            for word in repetitionWords() where offset + word.end <= seconds {
                var shifted = word
                shifted.start += offset
                shifted.end += offset
                words.append(shifted)
            }
            offset += period
        }
        return EmulatorScript(words: words)
    }

    /// The words of one repetition.
    private static func repetitionWords() -> [EmulatorScript.Word] {
        EmulatorScript(timedSentences: sentences).words
    }
}
