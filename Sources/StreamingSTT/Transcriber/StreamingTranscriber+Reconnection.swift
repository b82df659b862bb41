import struct Foundation.Date

// Reconnection after a failure, and rollover before a session limit.
extension StreamingTranscriber {
    /// Opens sessions until one starts (then it takes over), a failure is not retryable, or the
    /// attempts run out (then the transcriber fails with the last error).
    func reconnect(after lost: SessionLeg, reason: ReconnectionReason) async {
        guard let policy = configuration.reconnection else { return }
        var lastError: TranscriptionError
        if case .failure(let error) = reason { lastError = error } else { return }
        while !isEnded {
            guard failuresInARow <= policy.maxAttempts else {
                var error = lastError
                error.reason = "gave up after \(policy.maxAttempts) attempts to reconnect: " + error.reason
                fail(error)
                return
            }
            let attempt = failuresInARow
            let delay = max(
                policy.delay(beforeAttempt: attempt, random: Double.random(in: 0...1)),
                lastError.minimumRetryDelay ?? .zero)
            handOff.yield(
                .reconnecting(
                    Reconnecting(
                        reason: reason, sessionIndex: lost.index, sessionID: lost.info?.id ?? "", attempt: attempt,
                        delay: delay)))
            do {
                try await Task.sleep(for: delay)
            } catch {
                return  // the transcriber ended
            }
            if isEnded { return }
            do {
                let leg = try await openLeg()
                let limit = configuration.startTimeout
                let started = await wait(within: limit) { leg.info != nil || leg.role == .ended || isEnded }
                if isEnded { return }
                if started, leg.role == .standby {
                    await activate(leg, reason: reason, attempts: attempt)
                    return
                }
                if leg.role != .ended { close(leg, gracefully: false) }
                lastError =
                    leg.failure
                    ?? TranscriptionError(
                        .timeout, provider: provider.kind,
                        reason: "the service did not start the session within \(limit)", isRetryable: true)
            } catch {
                if isEnded { return }
                lastError = error
            }
            guard lastError.isRetryable else {
                fail(lastError)
                return
            }
            failuresInARow += 1
        }
    }

    /// Makes `leg`, started, the active session after an outage: it is sent the configuration
    /// changes, then the kept audio, and ended at once if the transcriber is stopping.
    private func activate(_ leg: SessionLeg, reason: ReconnectionReason, attempts: Int) async {
        await acquireSendLock()
        defer { releaseSendLock() }
        guard !isEnded, leg.role == .standby, let info = leg.info else { return }
        let start = backlog?.startPosition ?? streamPosition
        let lost = max(0, start - max(finalizedPosition, accountedPosition))
        lostBytes += lost
        accountedPosition = start
        leg.startPosition = start
        leg.sentPosition = start
        leg.role = .active
        activeLeg = leg
        legGeneration += 1
        sessionCount += 1
        reconnectTask = nil
        handOff.yield(
            .reconnected(
                Reconnected(
                    reason: reason, sessionIndex: leg.index, session: info, attempts: attempts,
                    audioOffset: seconds(ofBytes: start), replayedAudio: seconds(ofBytes: streamPosition - start),
                    lostAudio: seconds(ofBytes: lost))))
        logger.debug(
            "session reconnected",
            metadata: ["stt.session.index": "\(leg.index)", "stt.lost.seconds": "\(seconds(ofBytes: lost))"])
        changed()
        for message in configurationReplay() { try? await send(message, on: leg) }
        if isStopping {
            await endSending(on: leg)
        } else {
            try? await pump(leg, keepingAtMost: 0)
            scheduleRollover(of: leg)
        }
    }

    // MARK: Rollover

    /// Arms the rollover of `leg` before its limit: AssemblyAI `expires_at`, the policy's
    /// maximum, or the vendor's (3 h AssemblyAI, 48 h Speechmatics).
    func scheduleRollover(of leg: SessionLeg) {
        guard let policy = configuration.reconnection, leg.role == .active else { return }
        let vendorLimit: Duration =
            switch provider {
            case .assemblyAI: .seconds(10_800)
            case .speechmatics: .seconds(48 * 3600)
            }
        var limit = leg.connectedAt + min(vendorLimit, policy.maximumSessionDuration ?? vendorLimit)
        if let expiresAt = leg.info?.expiresAt {
            let remaining = expiresAt.timeIntervalSinceNow
            limit = min(limit, clock.now + .nanoseconds(Int64(max(0, remaining) * 1e9)))
        }
        let fireAt = limit - policy.rolloverLeadTime
        leg.rolloverTimer?.cancel()
        leg.rolloverTimer = Task {
            do {
                try await Task.sleep(until: fireAt, clock: .continuous)
            } catch {
                return
            }
            await self.rollover(from: leg, limit: limit)
        }
    }

    /// AssemblyAI with `inactivity_timeout`: the next session of a rollover gets no audio until
    /// the switch (up to half the lead time), so it is sent `KeepAlive` (which resets that timer)
    /// every half timeout, at most every 5 s, until then.
    private func keepAliveWhileStandby(_ leg: SessionLeg) {
        guard case .assemblyAI(let options) = provider, let timeout = options.inactivityTimeout else { return }
        let interval = min(Duration.seconds(5), .milliseconds(timeout * 500))
        Task {
            while true {
                do { try await Task.sleep(for: interval) } catch { return }
                guard await self.sendKeepAlive(whileStandby: leg) else { return }
            }
        }
    }

    /// Sends `KeepAlive` to `leg` if it is still waiting for the switch; `false` once it is not.
    private func sendKeepAlive(whileStandby leg: SessionLeg) async -> Bool {
        guard leg.role == .standby, !isEnded else { return false }
        try? await send(.object([("type", .string("KeepAlive"))]), on: leg)
        return true
    }

    /// Starts the session that takes over from `old`, then waits for a turn boundary (at most
    /// half the lead time) to move the audio to it.
    private func rollover(from old: SessionLeg, limit: ContinuousClock.Instant) async {
        guard let policy = configuration.reconnection else { return }
        var attempt = 0
        while old.role == .active, old.successor == nil, !isEnded, !isStopping, clock.now < limit {
            attempt += 1
            let delay: Duration =
                attempt == 1 ? .zero : policy.delay(beforeAttempt: attempt - 1, random: .random(in: 0...1))
            handOff.yield(
                .reconnecting(
                    Reconnecting(
                        reason: .rollover, sessionIndex: old.index, sessionID: old.info?.id ?? "", attempt: attempt,
                        delay: delay)))
            if delay > .zero {
                do { try await Task.sleep(for: delay) } catch { return }
            }
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
                    let switchAt = max(clock.now, limit - policy.rolloverLeadTime / 2)
                    Task {
                        try? await Task.sleep(until: switchAt, clock: .continuous)
                        await self.switchOver(from: old)
                    }
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
            if !failure.isRetryable || attempt >= policy.maxAttempts {
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

    /// Moves the audio from `old` to its successor and ends `old` gracefully (its last finals
    /// still arrive).
    func switchOver(from old: SessionLeg) async {
        guard old.successor != nil else { return }
        await acquireSendLock()
        defer { releaseSendLock() }
        guard let next = old.successor, old.role == .active, next.role == .standby, let info = next.info, !isEnded
        else { return }
        old.successor = nil
        old.rolloverTimer?.cancel()
        next.startPosition = old.sentPosition
        next.sentPosition = old.sentPosition
        accountedPosition = next.startPosition
        old.role = .draining
        next.role = .active
        activeLeg = next
        legGeneration += 1
        sessionCount += 1
        handOff.yield(
            .reconnected(
                Reconnected(
                    reason: .rollover, sessionIndex: next.index, session: info, attempts: next.rolloverAttempts,
                    audioOffset: seconds(ofBytes: next.startPosition),
                    replayedAudio: seconds(ofBytes: streamPosition - next.startPosition), lostAudio: 0)))
        logger.debug("session rolled over", metadata: ["stt.session.index": "\(next.index)"])
        changed()
        await endSending(on: old)
        for message in configurationReplay() { try? await send(message, on: next) }
        if isStopping {
            await endSending(on: next)
        } else {
            try? await pump(next, keepingAtMost: 0)
            scheduleRollover(of: next)
        }
    }
}
