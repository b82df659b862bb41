import ArgumentParser

/// The `transcribe` command.
///
/// Live transcription from the microphone, files and stdin arrives with the providers; today the
/// command offers the offline demo.
@main
struct Transcribe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transcribe",
        abstract: "Stream audio to a real-time speech-to-text service.",
        subcommands: [Demo.self]
    )
}
