// The command line: the root command, its subcommands (one per mode, each defined beside the code
// it runs), and the argument types they share.

import ArgumentParser
import StreamingSTT

/// `stt-benchmark`: the root command. Without a subcommand it runs `transport`.
///
/// Some modes start this executable again in another mode, as a child process (`cpu` runs
/// `emulator` and `client`; `sessions` and `latency` run `live`, which runs `emulator` or `serve`;
/// `soak` runs `soak-emulator`; `transport` runs `serve`), so those modes' options are an interface
/// between the two processes as well as the user's.
struct STTBenchmarkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stt-benchmark",
        abstract: "Benchmarks of swift-streaming-stt (method and figures: Docs/Performance.md).",
        discussion: """
            Every server runs in a child process (this executable in another mode), so the figures \
            of a client process contain only the client. Run it in release mode: \
            swift run -c release --package-path Benchmarks stt-benchmark <mode>.
            """,
        subcommands: [
            TransportCommand.self, CPUCommand.self, SessionsCommand.self, LatencyCommand.self, AudioCommand.self,
            SoakCommand.self, ClientCommand.self, LiveCommand.self, EmulatorCommand.self, SoakEmulatorCommand.self,
            ServeCommand.self,
        ],
        defaultSubcommand: TransportCommand.self
    )
}

/// A mode that runs asynchronously: main.swift runs it through `runBlocking` (never from an async
/// `main`). `Sendable`, so that it can be handed to the task that runs it.
protocol AsynchronousMode: AsyncParsableCommand, Sendable {}

// MARK: - Shared argument types

/// A comma-separated list of positive integers, such as `100,500,1000`.
struct IntegerList: ExpressibleByArgument, CustomStringConvertible, Sendable {
    /// The integers, in the order given.
    var values: [Int]

    init(_ values: [Int]) { self.values = values }

    init?(argument: String) {
        let values = argument.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
        self.values = values.compactMap { $0 }
    }

    var description: String { values.map(String.init).joined(separator: ",") }

    /// The value for the `index`th entry of another list: its own `index`th value, or its last
    /// when it is shorter.
    func value(at index: Int) -> Int { values[min(index, values.count - 1)] }
}

/// Where a session's tasks run: `--executor pool|loop`.
enum ExecutorChoice: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// No preference: Swift's global concurrency pool.
    case pool
    /// The shared event loop's thread: `WebSocketEventLoop.shared` as the tasks' executor.
    case loop

    /// The task executor to prefer, `nil` for none.
    var executor: WebSocketEventLoop? {
        switch self {
        case .pool: nil
        case .loop: WebSocketEventLoop.shared
        }
    }
}

/// A vendor of the emulator: `--vendor assemblyai|speechmatics`.
enum Vendor: String, ExpressibleByArgument, CaseIterable, Sendable {
    case assemblyai, speechmatics
}

/// Throws a usage error unless every given value is a positive integer.
/// - Parameter options: option names (with their dashes) and their values; `nil` values are
///   not given and not checked.
func requirePositive(_ options: KeyValuePairs<String, Int?>) throws {
    for (name, value) in options {
        if let value, value <= 0 { throw ValidationError("\(name) must be a positive integer") }
    }
}
