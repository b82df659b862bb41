// Waiting inside the transcriber: one list of waiters, woken at every change of state, each
// checking its own condition again.
extension TranscriptionDriver {
    /// Wakes every waiter to check its condition again.
    func changed() {
        publishConnectionState()
        resumeAll(&waiters)
    }

    func resumeAll(_ list: inout [CheckedContinuation<Void, Never>]) {
        let resumed = list
        list.removeAll()
        for waiter in resumed { waiter.resume() }
    }

    /// Waits until `condition` holds (checked after every change of state), for at most `limit`.
    /// Returns whether it held. Cancelling the waiting task ends the transcription.
    ///
    /// `wakingWhen`, when given, runs beside the wait as a child task and wakes it when it returns:
    /// for a change that happens off the actor (an acknowledgement counted on the event loop).
    func wait(
        within limit: Duration, wakingWhen wake: (@Sendable () async -> Void)? = nil, until condition: () -> Bool
    ) async -> Bool {
        await wait(until: clock.now + limit, wakingWhen: wake, condition: condition)
    }

    /// Waits until `condition` holds (checked after every change of state), at the latest until
    /// `deadline`. Returns whether it held. Cancelling the waiting task ends the transcription.
    func wait(
        until deadline: ContinuousClock.Instant, wakingWhen wake: (@Sendable () async -> Void)? = nil,
        condition: () -> Bool
    ) async -> Bool {
        if condition() { return true }
        return await withTaskGroup(of: Void.self) { group in
            // The deadline, and the task's cancellation (the timer's sleep ends with it), wake the
            // wait like any change of state.
            group.addTask { [weak self] in
                try? await Task.sleep(until: deadline, clock: .continuous)
                await self?.changed()
            }
            if let wake {
                group.addTask { [weak self] in
                    await wake()
                    await self?.changed()
                }
            }
            defer { group.cancelAll() }
            while !condition() {
                if Task.isCancelled {
                    fail(TranscriptionError(.cancelled, provider: provider.kind, reason: "the task was cancelled"))
                    return condition()
                }
                if clock.now >= deadline { return false }
                await withCheckedContinuation { waiters.append($0) }
            }
            return true
        }
    }

    /// Waits for `condition` after the end message went to `leg`: `stopTimeout`, plus the audio
    /// the service had not transcribed yet (audio sent faster than real time can take that long
    /// to process), and never less than `stopTimeout` after the last message from the service.
    /// `false` when that passed first.
    func waitForEnd(of leg: SessionLeg?, until condition: () -> Bool) async -> Bool {
        let limit = configuration.stopTimeout
        var deadline = clock.now + limit
        if let leg {
            let untranscribed = leg.machine.untranscribedSeconds
            if untranscribed > 0 { deadline = deadline + .milliseconds(Int64(untranscribed * 1000)) }
        }
        while true {
            if await wait(within: deadline - clock.now, until: condition) { return true }
            guard let heard = leg?.lastReceivedAt, heard + limit > clock.now else { return false }
            deadline = heard + limit
        }
    }

    /// Returns once the first session has started (at once, after `start()` returned): a call made
    /// while `start()` is still waiting for `Begin` / `RecognitionStarted` must not reach the
    /// service before it (Speechmatics refuses audio before `RecognitionStarted`). Throws when the
    /// transcriber ended instead.
    func waitForFirstSession() async throws(TranscriptionError) {
        if session != nil { return }
        _ = await wait(within: .seconds(86_400)) { session != nil || isEnded }
        try checkRunning()
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
