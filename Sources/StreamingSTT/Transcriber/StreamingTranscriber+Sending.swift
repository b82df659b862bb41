// Sending audio and control messages to the active leg.
extension StreamingTranscriber {
    /// Sends the next wire chunk of the stream. With reconnection it goes through the backlog (kept
    /// for replay) and is sent when a session can take it; without, straight to the session.
    func sendChunk(_ chunk: [UInt8]) async throws(TranscriptionError) {
        streamPosition += chunk.count
        guard backlog != nil else {
            guard let leg = activeLeg else { throw endedError() }
            leg.sentPosition += chunk.count
            try await send(chunk, on: leg)
            return
        }
        backlog?.append(chunk)
        trimBacklog()
        guard let leg = activeLeg, leg.role == .active else { return }  // reconnecting: kept for the next session
        try await pump(leg, keepingAtMost: backlog?.capacity ?? 0)
    }

    /// Sends the backlog to `leg` from where it is, as far as the pace allows. AssemblyAI sessions
    /// after the first are kept within ``ReconnectionPolicy/replayBurst`` of real time; while more
    /// than `limit` bytes wait, this waits for the pace, otherwise a drain task sends the rest.
    /// Must be called with the send lock held.
    func pump(_ leg: SessionLeg, keepingAtMost limit: Int) async throws(TranscriptionError) {
        while leg.role == .active, !isEnded, let backlog, leg.sentPosition < backlog.endPosition {
            if leg.sentPosition < backlog.startPosition { leg.sentPosition = backlog.startPosition }
            guard let chunk = backlog.chunk(at: leg.sentPosition) else { return }
            let ahead = paceDelay(for: leg, adding: chunk.count)
            if ahead > .zero {
                if backlog.endPosition - leg.sentPosition <= limit {
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
        guard case .assemblyAI = provider, leg.index > 0, let policy = configuration.reconnection else { return .zero }
        let elapsed = Self.seconds(clock.now - leg.connectedAt)
        let ahead = seconds(ofBytes: leg.bytesSent + count) - elapsed - Self.seconds(policy.replayBurst)
        return ahead > 0 ? .nanoseconds(Int64(ahead * 1e9)) : .zero
    }

    /// Sends what the pace held back, as time allows, when no caller is sending.
    func scheduleDrain(of leg: SessionLeg) {
        guard drainTask == nil else { return }
        drainTask = Task {
            await self.drain(leg)
        }
    }

    private func drain(_ leg: SessionLeg) async {
        defer { drainTask = nil }
        while leg.role == .active, !isEnded, let backlog, leg.sentPosition < backlog.endPosition {
            let next = backlog.chunk(at: max(leg.sentPosition, backlog.startPosition))?.count ?? 0
            let wait = paceDelay(for: leg, adding: next)
            if wait > .zero {
                do { try await Task.sleep(for: wait) } catch { return }
            }
            await acquireSendLock()
            try? await pump(leg, keepingAtMost: .max)
            releaseSendLock()
        }
    }

    /// Drops from the backlog what finals cover and what is over its capacity.
    func trimBacklog() {
        let droppable: Int
        if let leg = activeLeg, leg.role == .active { droppable = leg.sentPosition } else { droppable = .max }
        backlog?.trim(finalizedUpTo: finalizedPosition, droppableUpTo: droppable)
    }

    /// Sends every waiting chunk to `leg` (at the pace it allows), then the vendor's end message.
    /// Must be called with the send lock held.
    func endSending(on leg: SessionLeg) async {
        if backlog != nil { try? await pump(leg, keepingAtMost: 0) }
        guard leg.role == .active || leg.role == .draining, !isEnded else { return }
        let message: JSONValue
        switch provider {
        case .assemblyAI:
            message = .object([("type", .string("Terminate"))])
        case .speechmatics:
            message = .object([("message", .string("EndOfStream")), ("last_seq_no", .number(Double(leg.chunksSent)))])
        }
        leg.endMessageSent = true
        try? await send(message, on: leg)
    }

    /// Sends one binary message to `leg`, within the Speechmatics acknowledgement window.
    func send(_ chunk: [UInt8], on leg: SessionLeg) async throws(TranscriptionError) {
        if case .speechmatics(let options) = provider {
            let window = options.maxUnacknowledgedChunks
            if leg.chunksSent - leg.chunksAcknowledged >= window {
                try await waitForAcknowledgements(on: leg, window: window)
            }
        }
        if isEnded || leg.role == .ended { throw lostError(of: leg) }
        do {
            try await leg.connection.send(binary: chunk)
        } catch {
            throw await sendFailed(error, on: leg)
        }
        leg.chunksSent += 1
        leg.bytesSent += chunk.count
    }

    /// With the window of unacknowledged chunks full, waits until half of it is free again
    /// (resuming at every single acknowledgement would cost a wake-up per chunk while the service
    /// reads at its own pace). Fails the leg when no acknowledgement at all arrives for
    /// ``Configuration/acknowledgementTimeout``.
    private func waitForAcknowledgements(on leg: SessionLeg, window: Int) async throws(TranscriptionError) {
        if isEnded || leg.role == .ended { throw lostError(of: leg) }
        blockedOnAcknowledgements = true
        resumeAll(&blockedObservers)
        defer { blockedOnAcknowledgements = false }
        let target = leg.chunksSent - (window - max(1, window / 2))
        let limit = configuration.acknowledgementTimeout
        // Acknowledgements mostly arrive on the event loop's thread (the connection's inbound
        // filter), not through the reader: the counter wakes the waiters.
        leg.acknowledgements.wake(past: target - 1) { [weak self] in
            Task { await self?.changed() }
        }
        defer { leg.acknowledgements.cancelWake() }
        var deadline = clock.now + limit
        while true {
            let reached = await wait(within: deadline - clock.now) {
                leg.chunksAcknowledged >= target || leg.role == .ended || isEnded
            }
            if isEnded || leg.role == .ended { throw lostError(of: leg) }
            if reached { return }
            // Not there yet: keep waiting while acknowledgements still come.
            if let last = leg.acknowledgements.lastAdvance, clock.now - last < limit {
                deadline = last + limit
                continue
            }
            legFailed(
                leg,
                TranscriptionError(
                    .timeout, provider: .speechmatics, reason: "no AudioAdded acknowledgement within \(limit)",
                    isRetryable: true))
            throw lostError(of: leg)
        }
    }

    /// Sends a control message to the active leg; does nothing while reconnecting.
    func sendControl(_ message: JSONValue) async throws(TranscriptionError) {
        try await waitForFirstSession()
        guard let leg = activeLeg, leg.role == .active else {
            if isEnded { throw endedError() }
            return
        }
        do {
            try await send(message, on: leg)
        } catch {
            if isEnded || configuration.reconnection == nil { throw error }
        }
    }

    func send(_ message: JSONValue, on leg: SessionLeg) async throws(TranscriptionError) {
        if isEnded || leg.role == .ended { throw lostError(of: leg) }
        do {
            try await leg.connection.send(text: message.description)
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
