import ArgumentParser
import Foundation

/// The entry point: parses the command line and maps failures to the documented exit codes
/// (a usage error is 2, not swift-argument-parser's 64).
@main
enum Main {
    static func main() async {
        do {
            var command = try Transcribe.parseAsRoot()
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch let exit as ExitCode {
            Foundation.exit(exit.rawValue)
        } catch {
            let code = Transcribe.exitCode(for: error)
            if code == .success {
                Transcribe.exit(withError: error)  // --help, --version
            }
            let message = Transcribe.fullMessage(for: error)
            printError("transcribe: " + (message.isEmpty ? "\(error)" : message))
            Foundation.exit(code == .validationFailure ? 2 : code.rawValue)
        }
    }
}

/// Writes a line to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
}

/// A duration in seconds.
func seconds(_ duration: Duration) -> Double {
    let (whole, attoseconds) = duration.components
    return Double(whole) + Double(attoseconds) / 1e18
}
