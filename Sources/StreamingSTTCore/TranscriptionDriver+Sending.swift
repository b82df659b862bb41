import StreamingSTTWebSocket

// Sending audio and control messages to the active leg.
extension TranscriptionDriver {
    /// Sends the next wire chunk of the stream. With reconnection it goes through the backlog (kept
    /// for replay) and is sent when a session can take it; without, straight to the session.
    func sendChunk(_ chunk: [UInt8]) async throws(TranscriptionError) {
        ledger.append(chunk)
        if ledger.streamPosition > statisticsCheckpoint { recordAudioPastCheckpoint() }
        guard ledger.keepsAudio else {
            guard let leg = activeLeg else { throw endedError() }
            leg.sentPosition += chunk.count
            try await send(chunk, on: leg)
            return
        }
        trimBacklog()
        guard let leg = activeLeg, leg.role == .active else { return }  // reconnecting: kept for the next session
        try await pump(leg, keepingAtMost: ledger.backlog?.capacity ?? 0)
    }

    /// Sends the backlog to `leg` from where it is, as far as the pace allows (sessions after the
    /// first of a vendor that refuses audio faster than real time are kept within
    /// ``ReconnectionPolicy/replayBurst`` of it); while more than `limit` bytes wait, this waits
    /// for the pace, otherwise a drain task sends the rest. Must be called with the send lock held.
    func pump(_ leg: SessionLeg, keepingAtMost limit: Int) async throws(TranscriptionError) {
        while leg.role == .active, !isEnded, ledger.keepsAudio, leg.sentPosition < ledger.streamPosition {
            if leg.sentPosition < ledger.oldestKeptPosition { leg.sentPosition = ledger.oldestKeptPosition }
            guard let chunk = ledger.chunk(at: leg.sentPosition) else { return }
            let ahead = paceDelay(for: leg, adding: chunk.count)
            if ahead > .zero {
                if ledger.streamPosition - leg.sentPosition <= limit {
                    scheduleDrain(of: leg)
                    return
                }
                do {
                    try await Task.sleep(for: ahead)
                } catch {
                    fail(TranscriptionError(.cancelled, provider: provider.kind, reason: "the task was cancelled"))
                    throw endedError()
                }
                continue
            }
            do {
                try await send(chunk, on: leg)
            } catch {
                if isEnded { throw error }
                return  // the session was lost: the chunk stays for the next one
            }
            leg.sentPosition += chunk.count
            trimBacklog()
        }
    }

    /// How long to wait before `count` more bytes may go to `leg` (zero when they may go now).
    func paceDelay(for leg: SessionLeg, adding count: Int) -> Duration {
        guard vendor.limitsAudioToRealTime, leg.index > 0, let reconnection else { return .zero }
        return reconnection.replayDelay(
            audioSeconds: wire.seconds(ofBytes: leg.machine.bytesSent + count), elapsed: clock.now - leg.connectedAt)
    }

    /// Sends what the pace held back, as time allows, when no caller is sending.
    func scheduleDrain(of leg: SessionLeg) {
        guard !drains else { return }
        drains = true
        let index = leg.index
        spawn { await self.drain(legAt: index) }
    }

    private func drain(legAt index: Int) async {
        defer { drains = false }
        guard let leg = liveLeg(index) else { return }
        while leg.role == .active, !isEnded, ledger.keepsAudio, leg.sentPosition < ledger.streamPosition {
            let next = ledger.chunk(at: max(leg.sentPosition, ledger.oldestKeptPosition))?.count ?? 0
            let pace = paceDelay(for: leg, adding: next)
            if pace > .zero {
                // Until the pace allows, or the leg or the transcription ends.
                _ = await wait(within: pace) { leg.role != .active || isEnded }
                if leg.role != .active || isEnded { return }
            }
            await acquireSendLock()
            try? await pump(leg, keepingAtMost: .max)
            releaseSendLock()
        }
    }

    /// Drops from the backlog what finals cover and what is over its capacity.
    func trimBacklog() {
        if let leg = activeLeg, leg.role == .active {
            ledger.trim(unsentFrom: leg.sentPosition)
        } else {
            ledger.trim(unsentFrom: nil)
        }
    }

    /// Sends every waiting chunk to `leg` (at the pace it allows), then the vendor's end message.
    /// Must be called with the send lock held.
    func endSending(on leg: SessionLeg) async {
        if ledger.keepsAudio { try? await pump(leg, keepingAtMost: 0) }
        guard leg.role == .active || leg.role == .draining, !isEnded else { return }
        try? await perform(leg.machine.endOfAudio(), on: leg)
    }

    /// Sends one chunk to `leg` (a binary message, or one text message per channel of a multichannel
    /// session), within the vendor's acknowledgement window.
    func send(_ chunk: [UInt8], on leg: SessionLeg) async throws(TranscriptionError) {
        if let counter = leg.acknowledgements { leg.machine.acknowledged(through: counter.value) }
        switch leg.machine.prepareAudio() {
        case .send:
            break
        case .waitForAcknowledgements(let target):
            try await waitForAcknowledgements(on: leg, through: target)
        case .refuse(let error):
            if isEnded || leg.role == .ended { throw lostError(of: leg) }
            throw error
        }
        if isEnded || leg.role == .ended { throw lostError(of: leg) }
        do {
            if let messages = leg.machine.channelAudioMessages(chunk) {
                // Multichannel: one text message per channel (Speechmatics `AddChannelAudio`).
                for message in messages { try await leg.connection.send(text: message) }
            } else {
                try await leg.connection.send(binary: chunk)
            }
        } catch {
            throw await sendFailed(error, on: leg)
        }
        leg.machine.audioSent(byteCount: chunk.count)
    }

    /// With the window of unacknowledged chunks full, waits until the service has acknowledged
    /// chunk `target`. Fails the leg when no acknowledgement at all arrives for
    /// ``Configuration/acknowledgementTimeout``.
    private func waitForAcknowledgements(on leg: SessionLeg, through target: Int) async throws(TranscriptionError) {
        if isEnded || leg.role == .ended { throw lostError(of: leg) }
        guard let counter = leg.acknowledgements else { return }
        blockedOnAcknowledgements = true
        resumeAll(&blockedObservers)
        defer { blockedOnAcknowledgements = false }
        let limit = configuration.acknowledgementTimeout
        var deadline = clock.now + limit
        while true {
            // Acknowledgements mostly arrive on the event loop's thread (the connection's inbound
            // filter), not through the decoder: the counter wakes the wait.
            let reached = await wait(within: deadline - clock.now, wakingWhen: { await counter.reached(target) }) {
                counter.value >= target || leg.role == .ended || isEnded
            }
            if isEnded || leg.role == .ended { throw lostError(of: leg) }
            if reached {
                leg.machine.acknowledged(through: counter.value)
                return
            }
            // Not there yet: keep waiting while acknowledgements still come.
            if let last = counter.lastAdvance, clock.now - last < limit {
                deadline = last + limit
                continue
            }
            apply(leg.machine.acknowledgementsTimedOut(after: limit), from: leg)
            throw lostError(of: leg)
        }
    }

    /// Sends the control messages `make` asks of the active leg's machine; does nothing while
    /// reconnecting.
    func sendControl(
        _ make: (inout SessionStateMachine) throws(TranscriptionError) -> [SessionAction]
    ) async throws(TranscriptionError) {
        try await waitForFirstSession()
        guard let leg = activeLeg, leg.role == .active else {
            if isEnded { throw endedError() }
            return
        }
        let actions = try make(&leg.machine)
        do {
            try await perform(actions, on: leg)
        } catch {
            if isEnded || configuration.reconnection == nil { throw error }
        }
    }

    /// Sends a text message to `leg`.
    func send(text: String, on leg: SessionLeg) async throws(TranscriptionError) {
        if isEnded || leg.role == .ended { throw lostError(of: leg) }
        do {
            try await leg.connection.send(text: text)
        } catch {
            throw await sendFailed(error, on: leg)
        }
    }

    /// A send failed because the connection ended. The reader decides how the session ended (it
    /// first delivers every message received before the end), so wait for it, then report that.
    private func sendFailed(_ error: WebSocketError, on leg: SessionLeg) async -> TranscriptionError {
        if error.code == .cancelled {
            fail(TranscriptionError(transport: error, provider: provider.kind))
        } else if leg.role != .ended, !isEnded {
            let ended = await wait(within: configuration.stopTimeout) { leg.role == .ended || isEnded }
            if !ended { legFailed(leg, TranscriptionError(transport: error, provider: provider.kind)) }
        }
        return lostError(of: leg)
    }

    /// What a send to a lost leg reports: the transcriber's error once it ended, otherwise the
    /// leg's own (a reconnection is under way).
    private func lostError(of leg: SessionLeg) -> TranscriptionError {
        if isEnded { return endedError() }
        return leg.failure
            ?? TranscriptionError(
                .connectionLost, provider: provider.kind, reason: "the session ended", isRetryable: true)
    }
}
