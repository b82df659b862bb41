// Waiting inside the transcriber: one list of waiters, woken at every change of state, each
// checking its own condition again.
extension StreamingTranscriber {
    /// Wakes every waiter to check its condition again.
    func changed() {
        resumeAll(&waiters)
    }

    func resumeAll(_ list: inout [CheckedContinuation<Void, Never>]) {
        let resumed = list
        list.removeAll()
        for waiter in resumed { waiter.resume() }
    }

    /// Waits until `condition` holds (checked after every change of state), for at most `limit`.
    /// Returns whether it held. Cancelling the waiting task ends the transcriber.
    func wait(within limit: Duration, until condition: () -> Bool) async -> Bool {
        let deadline = clock.now + limit
        let timer = Task { [weak self] in
            try? await Task.sleep(until: deadline, clock: .continuous)
            await self?.changed()
        }
        defer { timer.cancel() }
        while !condition() {
            if Task.isCancelled {
                fail(TranscriptionError(.cancelled, provider: provider.kind, reason: "the task was cancelled"))
                return condition()
            }
            if clock.now >= deadline { return false }
            await withTaskCancellationHandler {
                await withCheckedContinuation { waiters.append($0) }
            } onCancel: {
                Task { await self.changed() }
            }
        }
        return true
    }

    func acquireSendLock() async {
        while sendLockHeld {
            await withCheckedContinuation { sendLockWaiters.append($0) }
        }
        sendLockHeld = true
    }

    func releaseSendLock() {
        sendLockHeld = false
        if !sendLockWaiters.isEmpty { sendLockWaiters.removeFirst().resume() }
    }
}
