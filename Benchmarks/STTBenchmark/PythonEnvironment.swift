// The Python that runs the vendors' SDKs: a virtualenv made by `Benchmarks/python/venv.sh`.

import Foundation

/// A Python with `Benchmarks/python/requirements.txt` installed, or why there is none.
enum PythonEnvironment {
    /// The interpreter's path and its `--version`.
    case ready(python: String, version: String)
    /// Why the Python clients cannot run (printed in the report).
    case unavailable(String)

    /// Runs `Benchmarks/python/venv.sh`, which makes (once) `.build/benchmark-venv` and
    /// pip-installs the requirements by name, and prints the interpreter's path.
    static func prepare() async -> PythonEnvironment {
        let script = BenchmarkRecording.packageRoot + "/Benchmarks/python/venv.sh"
        do {
            let outcome = try await runChild("/bin/bash", [script], timeLimit: .seconds(900))
            let path = outcome.output.split(separator: "\n").last.map(String.init) ?? ""
            guard outcome.status == 0, FileManager.default.isExecutableFile(atPath: path) else {
                let tail = outcome.errorOutput.split(separator: "\n").suffix(3).joined(separator: " | ")
                return .unavailable("the Python virtualenv could not be made: \(tail)")
            }
            return .ready(python: path, version: await version(of: path))
        } catch {
            return .unavailable("the Python virtualenv could not be made: \(error)")
        }
    }

    /// `python --version`, such as `Python 3.11.7`.
    static func version(of python: String) async -> String {
        let outcome = try? await runChild(python, ["--version"], timeLimit: .seconds(30))
        return outcome?.output.trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"
    }
}
