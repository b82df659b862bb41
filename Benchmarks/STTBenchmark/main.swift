// stt-benchmark: the entry point. The command line is parsed by swift-argument-parser
// (`STTBenchmarkCommand`, one subcommand per mode); `stt-benchmark --help` lists the modes.
//
// This file has no top-level `await` and the program no `@main` async entry point: with one, the
// main thread parks in `dispatch_main`, and valgrind 3.19 (Debian 12's) crashes as soon as the
// process starts another thread, which would rule out the callgrind figure of `stt-benchmark cpu`.
// An asynchronous mode runs through `runBlocking` while the main thread waits; the server modes
// (`serve`, `emulator`, `soak-emulator`) are synchronous and read their commands on the main thread.

import ArgumentParser

do {
    var command = try STTBenchmarkCommand.parseAsRoot()
    if let asynchronous = command as? any AsynchronousMode {
        try runBlocking {
            var command = asynchronous
            try await command.run()
        }
    } else {
        try command.run()
    }
} catch {
    // Help, usage errors (exit code 64) and the modes' own errors (printed as "Error: …", exit 1).
    STTBenchmarkCommand.exit(withError: error)
}
