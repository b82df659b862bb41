// Reconnection after a failure, and rollover before a session limit: the decisions are the
// ReconnectionStateMachine's; this carries them out.
extension TranscriptionDriver {
    /// Opens sessions until one starts (then it takes over), a failure is not retryable, or the
    /// attempts run out (then the transcriber fails with the last error). The first attempt is
    /// `attempt`, after `delay`.
    func reconnect(
        afterSession lostIndex: Int, id lostID: String, reason: ReconnectionReason, attempt: Int, delay: Duration
    ) async {
        var attempt = attempt
        var delay = delay
        while !isEnded {
            reconnectionAttempt = attempt
            publishConnectionState()
            handOff.yield(
                .reconnecting(
                    Reconnecting(
                        reason: reason, sessionIndex: lostIndex, sessionID: lostID, attempt: attempt, delay: delay)))
            if await wait(within: delay, until: { isEnded }) { return }
            let failure: TranscriptionError
            do {
                let leg = try await openLeg()
                let limit = configuration.startTimeout
                let started = await wait(within: limit) { leg.info != nil || leg.role == .ended || isEnded }
                if isEnded { return }
                if started, leg.role == .standby {
                    // The session can fail while it waits for the send lock (the previous one is
                    // still being ended): then it is a failed attempt like any other. Returning
                    // here left the transcriber with no session and no further attempt, and a
                    // stop() under way waited for one forever.
                    if await activate(leg, reason: reason, attempts: attempt) || isEnded { return }
                }
                if leg.role != .ended { close(leg, gracefully: false) }
                failure =
                    leg.failure
                    ?? TranscriptionError(
                        .timeout, provider: provider.kind,
                        reason: "the service did not start the session within \(limit)", isRetryable: true)
            } catch {
                if isEnded { return }
                failure = error
            }
            guard var reconnection else { return }
            let decision = reconnection.attemptFailed(failure, random: .random(in: 0...1))
            self.reconnection = reconnection
            switch decision {
            case .giveUp(let error):
                fail(error)
                return
            case .reconnect(let next, let wait):
                attempt = next
                delay = wait
            }
        }
    }

    /// Makes `leg`, started, the active session after an outage: it is sent the configuration
    /// changes, then the kept audio, and ended at once if the transcriber is stopping. Returns
    /// whether it took over (`false`: the transcriber ended, or `leg` failed, while waiting).
    private func activate(_ leg: SessionLeg, reason: ReconnectionReason, attempts: Int) async -> Bool {
        await acquireSendLock()
        defer { releaseSendLock() }
        guard !isEnded, leg.role == .standby, let info = leg.info else { return false }
        let (start, lost) = ledger.resume()
        leg.startPosition = start
        leg.sentPosition = start
        leg.role = .active
        activeLeg = leg
        legGeneration += 1
        sessionCount += 1
        reconnectionAttempt = 0
        recordReconnected(reason)
        instruments.reconnected()
        recordAudioProgress()
        handOff.yield(
            .reconnected(
                Reconnected(
                    reason: reason, sessionIndex: leg.index, session: info, attempts: attempts,
                    audioOffset: wire.seconds(ofBytes: start),
                    replayedAudio: wire.seconds(ofBytes: ledger.streamPosition - start),
                    lostAudio: wire.seconds(ofBytes: lost))))
        logger.debug(
            "session reconnected",
            metadata: ["stt.session.index": "\(leg.index)", "stt.lost.seconds": "\(wire.seconds(ofBytes: lost))"])
        changed()
        await replayConfiguration(to: leg)
        if isStopping {
            await endSending(on: leg)
        } else {
            try? await pump(leg, keepingAtMost: 0)
            scheduleRollover(of: leg)
        }
        return true
    }

    /// Sends `leg` every configuration change made so far, before its audio.
    private func replayConfiguration(to leg: SessionLeg) async {
        for update in configurationUpdates {
            guard let actions = try? leg.machine.update(update) else { continue }
            try? await perform(actions, on: leg)
        }
    }

    // MARK: Rollover

    /// Arms the rollover of `leg` before its limit (see
    /// ``ReconnectionStateMachine/rolloverSchedule(connectedAt:vendorLimit:expiresIn:now:)``).
    func scheduleRollover(of leg: SessionLeg) {
        guard let reconnection, leg.role == .active else { return }
        let expiresIn = leg.info?.expiresAt.map { Duration.seconds(exactly: $0.timeIntervalSinceNow) }
        let schedule = reconnection.rolloverSchedule(
            connectedAt: leg.connectedAt, vendorLimit: vendor.maximumSessionDuration, expiresIn: expiresIn,
            now: clock.now)
        leg.rolloverGeneration += 1
        let (index, generation) = (leg.index, leg.rolloverGeneration)
        spawn { await self.rollover(ofLegAt: index, generation: generation, schedule: schedule) }
    }

    /// Waits for the start of a rollover planned by ``scheduleRollover(of:)``, then rolls over,
    /// unless the leg stops receiving the audio first or its rollover is planned again.
    private func rollover(
        ofLegAt index: Int, generation: Int, schedule: ReconnectionStateMachine.RolloverSchedule
    ) async {
        guard let leg = liveLeg(index) else { return }
        let superseded = await wait(until: schedule.start) {
            leg.role != .active || leg.rolloverGeneration != generation || isStopping || isEnded
        }
        if !superseded { await rollover(from: leg, limit: schedule.limit) }
    }

    /// Keeps a rollover's next session alive while it waits for the switch without audio, where
    /// the vendor needs that (AssemblyAI with `inactivity_timeout`).
    private func keepAliveWhileStandby(_ leg: SessionLeg) {
        guard let interval = vendor.standbyKeepAliveInterval else { return }
        let index = leg.index
        spawn { await self.keepAlive(whileStandby: index, every: interval) }
    }

    /// Sends leg `index` the vendor's keep-alive every `interval` for as long as it waits for the
    /// switch.
    private func keepAlive(whileStandby index: Int, every interval: Duration) async {
        guard let leg = liveLeg(index) else { return }
        while leg.role == .standby, !isEnded {
            if await wait(within: interval, until: { leg.role != .standby || isEnded }) { return }
            try? await perform(leg.machine.keepAlive(), on: leg)
        }
    }

    /// Starts the session that takes over from `old`, then waits for a turn boundary (until the
    /// switch deadline) to move the audio to it.
    private func rollover(from old: SessionLeg, limit: ContinuousClock.Instant) async {
        guard let reconnection else { return }
        rolloverUnderWay = true
        defer {
            rolloverUnderWay = false
            publishConnectionState()
        }
        var attempt = 0
        while old.role == .active, old.successor == nil, !isEnded, !isStopping, clock.now < limit {
            attempt += 1
            publishConnectionState()
            let delay = reconnection.rolloverDelay(beforeAttempt: attempt, random: .random(in: 0...1))
            handOff.yield(
                .reconnecting(
                    Reconnecting(
                        reason: .rollover, sessionIndex: old.index, sessionID: old.info?.id ?? "", attempt: attempt,
                        delay: delay)))
            if delay > .zero, await wait(within: delay, until: { isEnded || old.role != .active }) { return }
            var failure: TranscriptionError
            do {
                let leg = try await openLeg()
                let started = await wait(within: configuration.startTimeout) {
                    leg.info != nil || leg.role == .ended || isEnded
                }
                guard old.role == .active, !isEnded, !isStopping else {
                    if leg.role != .ended { close(leg, gracefully: false) }
                    return
                }
                if started, leg.role == .standby {
                    old.successor = leg
                    leg.rolloverAttempts = attempt
                    keepAliveWhileStandby(leg)
                    let switchAt = reconnection.switchDeadline(limit: limit, now: clock.now)
                    let (oldIndex, nextIndex) = (old.index, leg.index)
                    spawn { await self.switchOver(fromLegAt: oldIndex, to: nextIndex, at: switchAt) }
                    return
                }
                if leg.role != .ended { close(leg, gracefully: false) }
                failure =
                    leg.failure
                    ?? TranscriptionError(
                        .timeout, provider: provider.kind, reason: "the next session did not start", isRetryable: true)
            } catch {
                failure = error
            }
            if !reconnection.retriesRollover(after: failure, attempt: attempt) {
                handOff.yield(
                    .warning(
                        VendorNotice(
                            type: "rollover_failed",
                            reason: "could not open the next session before the limit (\(failure.code)); "
                                + "the session will be replaced when it ends")))
                return
            }
        }
    }

    /// Moves the audio from leg `oldIndex` to leg `nextIndex`, its successor, at `deadline`,
    /// unless a turn boundary did it first.
    private func switchOver(fromLegAt oldIndex: Int, to nextIndex: Int, at deadline: ContinuousClock.Instant) async {
        guard let old = liveLeg(oldIndex) else { return }
        if await wait(until: deadline, condition: { old.successor?.index != nextIndex }) { return }
        await switchOver(from: old)
    }

    /// Moves the audio from leg `index` to its successor (see ``switchOver(from:)``).
    func switchOver(fromLegAt index: Int) async {
        guard let old = liveLeg(index) else { return }
        await switchOver(from: old)
    }

    /// Moves the audio from `old` to its successor and ends `old` gracefully (its last finals
    /// still arrive).
    func switchOver(from old: SessionLeg) async {
        guard old.successor != nil else { return }
        await acquireSendLock()
        defer { releaseSendLock() }
        guard let next = old.successor, old.role == .active, next.role == .standby, let info = next.info, !isEnded
        else { return }
        old.successor = nil
        old.rolloverGeneration += 1
        next.startPosition = old.sentPosition
        next.sentPosition = old.sentPosition
        ledger.rolledOver(at: next.startPosition)
        old.role = .draining
        next.role = .active
        activeLeg = next
        legGeneration += 1
        sessionCount += 1
        recordReconnected(.rollover)
        instruments.rolledOver()
        handOff.yield(
            .reconnected(
                Reconnected(
                    reason: .rollover, sessionIndex: next.index, session: info, attempts: next.rolloverAttempts,
                    audioOffset: wire.seconds(ofBytes: next.startPosition),
                    replayedAudio: wire.seconds(ofBytes: ledger.streamPosition - next.startPosition), lostAudio: 0)))
        logger.debug("session rolled over", metadata: ["stt.session.index": "\(next.index)"])
        changed()
        await endSending(on: old)
        await replayConfiguration(to: next)
        if isStopping {
            await endSending(on: next)
        } else {
            try? await pump(next, keepingAtMost: 0)
            scheduleRollover(of: next)
        }
    }
}
