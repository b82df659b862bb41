// Command-line options of the benchmark's modes: `--name value` pairs and `--flag`s.

import StreamingSTT

/// The options given to one mode, checked against the names the mode knows.
struct Options {
    private var values: [String: String] = [:]
    private var flags: Set<String> = []

    /// Parses `arguments`; `valued` names take a value, `flagNames` do not.
    /// - Throws: ``BenchmarkError`` for an unknown name or a missing value.
    init(_ arguments: some Sequence<String>, valued: Set<String>, flags flagNames: Set<String> = []) throws {
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            guard argument.hasPrefix("--") else { throw BenchmarkError("unexpected argument '\(argument)'") }
            let name = String(argument.dropFirst(2))
            if flagNames.contains(name) {
                flags.insert(name)
            } else if valued.contains(name) {
                guard let value = iterator.next() else { throw BenchmarkError("--\(name) needs a value") }
                values[name] = value
            } else {
                throw BenchmarkError("unknown option --\(name)")
            }
        }
    }

    /// The value of `--name`, if given.
    func string(_ name: String) -> String? { values[name] }

    /// The value of `--name`, which must be given.
    func required(_ name: String) throws -> String {
        guard let value = values[name] else { throw BenchmarkError("--\(name) is required") }
        return value
    }

    /// The value of `--name` as an integer, or `fallback` when not given.
    func integer(_ name: String, default fallback: Int) throws -> Int {
        guard let text = values[name] else { return fallback }
        guard let value = Int(text), value > 0 else { throw BenchmarkError("--\(name) must be a positive integer") }
        return value
    }

    /// Whether `--name` was given.
    func flag(_ name: String) -> Bool { flags.contains(name) }

    /// `--executor pool` (the default: no preference, Swift's global pool) or `--executor loop`
    /// (the shared event loop's thread, `WebSocketEventLoop` as the tasks' executor).
    func executor() throws -> WebSocketEventLoop? {
        switch values["executor"] ?? "pool" {
        case "pool": return nil
        case "loop": return WebSocketEventLoop.shared
        default: throw BenchmarkError("--executor must be pool or loop")
        }
    }
}
