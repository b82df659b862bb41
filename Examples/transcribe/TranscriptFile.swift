import Foundation
import StreamingSTT

/// `--output`: the finals written as SubRip, WebVTT, plain text or JSON lines, as they arrive.
final class TranscriptFile: @unchecked Sendable {
    // @unchecked: used only under the Display's lock.
    enum Kind {
        case srt, vtt, txt, jsonl

        init?(path: String) {
            switch (path as NSString).pathExtension.lowercased() {
            case "srt": self = .srt
            case "vtt": self = .vtt
            case "txt": self = .txt
            case "jsonl": self = .jsonl
            default: return nil
            }
        }
    }

    private let handle: FileHandle
    private let kind: Kind
    private var cue = 0

    init(path: String) throws {
        guard let kind = Kind(path: path) else {
            throw CocoaError(.fileWriteUnsupportedScheme)
        }
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw CocoaError(.fileWriteNoPermission)
        }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        self.kind = kind
        if kind == .vtt { write("WEBVTT\n\n") }
    }

    func append(_ transcript: Transcript) {
        cue += 1
        switch kind {
        case .srt:
            write(
                "\(cue)\n\(Self.time(transcript.start, ",")) --> \(Self.time(transcript.end, ","))\n\(line(transcript))\n\n"
            )
        case .vtt:
            write("\(Self.time(transcript.start, ".")) --> \(Self.time(transcript.end, "."))\n\(line(transcript))\n\n")
        case .txt:
            write(line(transcript) + "\n")
        case .jsonl:
            if let json = JSONLines.line(for: .final(transcript)) { write(json + "\n") }
        }
    }

    func close() {
        try? handle.close()
    }

    private func line(_ transcript: Transcript) -> String {
        Display.speakerPrefix(transcript) + transcript.text
    }

    private func write(_ text: String) {
        handle.write(Data(text.utf8))
    }

    /// `HH:MM:SS,mmm` (SubRip) or `HH:MM:SS.mmm` (WebVTT).
    static func time(_ seconds: Double, _ separator: String) -> String {
        let milliseconds = Int((max(0, seconds) * 1000).rounded())
        let hours = milliseconds / 3_600_000
        let minutes = milliseconds / 60000 % 60
        let secs = milliseconds / 1000 % 60
        return String(format: "%02d:%02d:%02d%@%03d", hours, minutes, secs, separator, milliseconds % 1000)
    }
}
