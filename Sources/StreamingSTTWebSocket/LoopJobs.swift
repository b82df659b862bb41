import CSTTShim
import StreamingSTTSupport

/// The jobs of tasks that prefer a ``WebSocketEventLoop`` as their executor, run on its service
/// thread between two passes of libwebsockets' poll.
///
/// Queued from any thread; a job queued from another thread wakes the service thread (once per
/// batch), one queued on it (a connection's event resuming a task, a job starting another) just
/// waits for the end of the current pass. Once the loop shuts down, jobs go to the global
/// executor, so no task is ever stranded.
final class LoopJobs: Sendable {
    private struct State {
        var queue: [UnownedJob] = []
        /// An empty array with capacity: the last batch run, given back to become the next queue
        /// (no allocation per pass).
        var spare: [UnownedJob] = []
        var wakePending = false
        var stopped = false
        var loop: LoopHandle?
        var executor: UnownedTaskExecutor?
    }

    private let state = LockedState(State())

    /// Batches run per pass before the loop goes back to its sockets (jobs queueing more jobs
    /// must not starve the connections).
    private static let batchesPerPass = 64

    /// Called once, when the loop exists.
    func attach(loop: LoopHandle, executor: UnownedTaskExecutor) {
        state.withLock {
            $0.loop = loop
            $0.executor = executor
        }
    }

    /// Queues `job` for the service thread.
    func enqueue(_ job: UnownedJob) {
        let forward = state.withLock { state -> Bool in
            guard !state.stopped, let loop = state.loop else { return true }
            state.queue.append(job)
            if !state.wakePending && stt_loop_is_service_thread(loop.raw) == 0 {
                state.wakePending = true
                // Under the lock: `stop()` takes it before the loop is destroyed.
                _ = stt_loop_wake(loop.raw)
            }
            return false
        }
        if forward { globalConcurrentExecutor.enqueue(ExecutorJob(job)) }
    }

    /// Runs the queued jobs (service thread, after a poll pass); returns whether jobs are left.
    func runQueued() -> Bool {
        for _ in 0..<Self.batchesPerPass {
            let taken = state.withLock { state -> ([UnownedJob], UnownedTaskExecutor)? in
                state.wakePending = false
                guard !state.queue.isEmpty, let executor = state.executor else { return nil }
                var batch: [UnownedJob] = []
                swap(&batch, &state.queue)
                swap(&state.queue, &state.spare)
                return (batch, executor)
            }
            guard case (var batch, let executor)? = taken else { return false }
            for job in batch { job.runSynchronously(on: executor) }
            batch.removeAll(keepingCapacity: true)
            state.withLock { $0.spare = batch }
        }
        return state.withLock { !$0.queue.isEmpty }
    }

    /// Sends every later job to the global executor (the loop is shutting down).
    func stop() {
        state.withLock { $0.stopped = true }
    }

    /// Sends the jobs still queued to the global executor (the service thread has stopped).
    func forwardRemaining() {
        let remaining = state.withLock { state in
            defer { state.queue.removeAll() }
            return state.queue
        }
        for job in remaining { globalConcurrentExecutor.enqueue(ExecutorJob(job)) }
    }
}

/// The loop's `on_idle`: runs the queued jobs; 1 when some are left.
let idleThunk: @convention(c) (UnsafeMutableRawPointer?) -> Int32 = { user in
    guard let user else { return 0 }
    return Unmanaged<LoopJobs>.fromOpaque(user).takeUnretainedValue().runQueued() ? 1 : 0
}

extension WebSocketEventLoop: TaskExecutor {
    /// Runs `job` on this loop's service thread.
    ///
    /// A task that prefers this loop (`withTaskExecutorPreference(loop) { … }`, or
    /// `Task(executorPreference: loop) { … }`) runs its code, and the code of the default actors
    /// it calls (a `StreamingTranscriber` among them), on the loop's thread, between two passes
    /// over the sockets: a message received resumes the waiting task without waking another
    /// thread, which is most of what a message costs otherwise. Keep such tasks short and never
    /// block in them: while one runs, no connection of the loop is serviced. Keep the loop alive
    /// while tasks prefer it; after ``shutdown()`` their jobs run on the global executor.
    public func enqueue(_ job: consuming ExecutorJob) {
        jobs.takeUnretainedValue().enqueue(UnownedJob(job))
    }
}
