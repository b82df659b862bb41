// quickstart: live transcription with AssemblyAI, from a file or the microphone, in one page.
//
//     export ASSEMBLYAI_API_KEY=...              # your key; it is read from the environment only
//     swift run quickstart meeting.wav           # a file (WAV, FLAC, Ogg, MP3), sent in real time
//     swift run quickstart                       # the "default" ALSA microphone, for 30 seconds
//
// Partials are printed as they change, each final on its own line, then a one-line summary.
// The program imports StreamingSTT alone, as a client program would: scripts/check-client-symbols
// builds it to check that such programs carry none of the test server's code.

import StreamingSTT

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

guard let key = getenv("ASSEMBLYAI_API_KEY").map({ String(cString: $0) }), !key.isEmpty else {
    print("Set ASSEMBLYAI_API_KEY to your AssemblyAI API key.")
    exit(2)
}
let file = CommandLine.arguments.dropFirst().first

let options = AssemblyAI(credentials: .apiKey(Secret(key)), speechModel: .u3RealtimePro)
let transcriber = StreamingTranscriber(provider: .assemblyAI(options))

/// Prints the session's events until it ends.
func printEvents() async {
    for await event in transcriber.events {
        switch event {
        case .partial(let transcript): print("…", transcript.text)
        case .final(let transcript): print(transcript.text)
        case .error(let error): print("failed:", error)
        default: break
        }
    }
}

do {
    try await transcriber.start()  // connects; `begin` is the first event
    let reader = Task { await printEvents() }
    if let file {
        // A file is paced in real time: the hosted service rejects audio sent faster.
        try await transcriber.stream(from: try AudioFileSource(path: file))
    } else {
        let microphone = try ALSAMicrophone()
        Task {
            try await Task.sleep(for: .seconds(30))
            await microphone.stop()  // ends the microphone's sequence, and so `stream`
        }
        // The hardware paces the microphone already.
        try await transcriber.stream(from: microphone, pacing: .asFastAsPossible)
    }
    let summary = try await transcriber.stop()  // every final arrives before this returns
    await reader.value
    print("\(summary.finalCount) finals, \(summary.audioDuration) s of audio")
} catch {
    print("error:", error)
    exit(1)
}
