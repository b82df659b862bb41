import Foundation
import StreamingSTT

/// `--output`: the finals written as plain text or JSON lines as they arrive, or their words as
/// SubRip or WebVTT cues (``CaptionBuilder``) as each cue completes, the last ones at the end.
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
    private var captions = CaptionBuilder()

    init(path: String) throws {
        guard let kind = Kind(path: path) else {
            throw CocoaError(.fileWriteUnsupportedScheme)
        }
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw CocoaError(.fileWriteNoPermission)
        }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        self.kind = kind
        if kind == .vtt { write(Caption.webVTTHeader) }
    }

    func append(_ transcript: Transcript) {
        switch kind {
        case .srt, .vtt:
            // A channel label (only with --multichannel) starts a new cue and is shown on it.
            write(captions.add(transcript, channel: transcript.channel))
        case .txt:
            write(line(transcript) + "\n")
        case .jsonl:
            if let json = JSONLines.line(for: .final(transcript)) { write(json + "\n") }
        }
    }

    /// Writes the last cue, if any, and closes the file.
    func close() {
        write(captions.finish())
        try? handle.close()
    }

    private func write(_ completed: [Caption]) {
        for caption in completed {
            cue += 1
            write(kind == .srt ? caption.subRip(number: cue) : caption.webVTT())
        }
    }

    private func line(_ transcript: Transcript) -> String {
        Display.channelPrefix(transcript) + Display.speakerPrefix(transcript) + transcript.text
    }

    private func write(_ text: String) {
        handle.write(Data(text.utf8))
    }
}
