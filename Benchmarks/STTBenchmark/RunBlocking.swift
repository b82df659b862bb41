// Running async work from synchronous code: the asynchronous modes from main.swift, and the
// server modes' answers to their commands.

import Foundation

/// Runs `body` on the concurrency pool while the calling thread waits, and returns its result.
///
/// The program has no top-level `await` and no async `main` on purpose: with one, the main thread
/// ends up parked in `dispatch_main`, and valgrind 3.19 (Debian 12's) crashes as soon as the
/// process starts another thread, which would rule out the callgrind figure of `stt-benchmark cpu`.
func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let outcome = Outcome<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        do {
            outcome.set(.success(try await body()))
        } catch {
            outcome.set(.failure(error))
        }
        done.signal()
    }
    done.wait()
    return try outcome.get()
}

/// The result of ``runBlocking(_:)``'s task, handed to the waiting thread under a lock.
private final class Outcome<T: Sendable>: @unchecked Sendable {
    // @unchecked: `result` is only touched under `lock`, written once before the semaphore is
    // signalled and read after it was waited for.
    private let lock = NSLock()
    private var result: Result<T, any Error>?

    func set(_ value: Result<T, any Error>) {
        lock.withLock { result = value }
    }

    func get() throws -> T {
        try lock.withLock { result! }.get()
    }
}
