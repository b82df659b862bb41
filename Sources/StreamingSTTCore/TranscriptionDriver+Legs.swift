import StreamingSTTWebSocket

// Opening, reading and ending the legs (sessions of the service) of a transcriber.
extension TranscriptionDriver {
    /// Connects a new leg (credentials minted first, when configured), starts the job that waits
    /// for its connection's end, and sends what starts the session (Speechmatics
    /// `StartRecognition`). Does not wait for the session to start. Called through `openLeg()`
    /// (SessionTracing.swift), which wraps it in the attempt's span.
    func connectLeg() async throws(TranscriptionError) -> SessionLeg {
        var vendor = self.vendor
        let index = nextLegIndex
        nextLegIndex += 1
        if let supplier = configuration.credentials {
            let credentials: Credentials
            do {
                credentials = try await supplier.make(index)
            } catch let error as TranscriptionError {
                throw error
            } catch {
                throw TranscriptionError(
                    .tokenRequestFailed, provider: provider.kind,
                    reason: "the credentials supplier failed (\(type(of: error)))", isRetryable: true)
            }
            vendor = vendor.replacingCredentials(credentials)
        }
        if isEnded { throw endedError() }
        let request = vendor.connectRequest()
        // Before anything is sent: no credential in cleartext to another machine.
        if request.carriesCredentials {
            try CredentialTransport.check(
                url: request.url, provider: provider.kind,
                allowsCleartext: configuration.allowsCredentialsOverCleartext)
        }
        var webSocket = WebSocketConfiguration(
            connectTimeout: configuration.connectTimeout, keepalive: configuration.keepalive,
            maxMessageSize: configuration.maxMessageSize, maxQueuedOutboundBytes: configuration.maxQueuedOutboundBytes,
            tls: configuration.tls)
        webSocket.additionalHeaders = request.headers.revealed
        // Changes made earlier apply to the new session: it reads its messages accordingly, and is
        // sent them before its audio.
        var machine = vendor.makeSession(
            deliversRawMessages: configuration.deliversRawMessages, configurationUpdates: configurationUpdates)
        let acknowledgements = vendor.acknowledgementScanner.map(AcknowledgementCounter.init(scanner:))
        // With every message delivered raw, acknowledgements go through the decoder too.
        let countsAcknowledgements = configuration.deliversRawMessages ? nil : acknowledgements
        let received = ReceivedMessages()
        startDecodingJob()
        // Every message is taken on the event loop's thread: acknowledgements into their counter,
        // the rest into the leg's queue for the decoder (see EventHandOff); binary frames mean
        // nothing here. The connection's own queue only ever sees its end.
        webSocket.inboundFilter = { [handOff] bytes, binary in
            if binary { return true }
            if let countsAcknowledgements, countsAcknowledgements.consume(bytes) { return true }
            if received.append(String(utf8: bytes)) { handOff.messageArrived() }
            return true
        }
        logger.debug("session connecting", metadata: ["stt.session.index": "\(index)"])
        let connection: WebSocketConnection
        let connecting = clock.now
        do {
            connection = try await WebSocketConnection.connect(
                to: request.revealedURL, configuration: webSocket, eventLoop: configuration.eventLoop, logger: logger)
        } catch {
            throw TranscriptionError(transport: error, provider: provider.kind)
        }
        instruments.connected(after: clock.now - connecting)
        if isEnded {
            connection.cancel()
            throw endedError()
        }
        let opening = machine.connected()
        let leg = SessionLeg(
            index: index, connection: connection, machine: machine, acknowledgements: acknowledgements,
            received: received, connectedAt: clock.now)
        legs.append(leg)
        decodeReceivedMessages(of: leg)  // any that came before the leg was known
        spawn { [connection] in
            let closure = await connection.closed()
            await self.connectionEnded(legAt: index, closure)
        }
        // A failure here is reported when the connection ends (`connectionEnded`).
        for case .sendText(let text) in opening { try? await connection.send(text: text) }
        return leg
    }

    /// Waits for the first session to start, bounded by the start timeout.
    func waitForStart(of leg: SessionLeg) async {
        let limit = configuration.startTimeout
        let started = await wait(within: limit) { leg.info != nil || leg.role == .ended || isEnded }
        if !started, leg.role != .ended, !isEnded {
            apply(leg.machine.startTimedOut(after: limit), from: leg)
        }
    }

    // MARK: Reading

    /// Starts the job that decodes received messages while the consumer is not waiting.
    private func startDecodingJob() {
        guard !decodes else { return }
        decodes = true
        handOff.setDecode { [weak self] in await self?.decodeReceivedMessages() }
        spawn { [handOff] in
            while await handOff.waitForWork() {
                await handOff.decode()
            }
        }
    }

    /// Decodes the messages every leg received so far, for as long as more arrive; called by the
    /// holder of the decoding work (see EventHandOff).
    func decodeReceivedMessages() {
        repeat {
            handOff.startDecoding()
            for leg in legs { decodeReceivedMessages(of: leg) }
        } while !handOff.finishDecoding()
    }

    /// Decodes the messages `leg` received so far.
    func decodeReceivedMessages(of leg: SessionLeg) {
        let (messages, receivedAt) = leg.received.takeAll()
        guard !messages.isEmpty else { return }
        leg.lastReceivedAt = clock.now
        defer { recordMessagesDecoded(receivedAt: receivedAt) }
        for text in messages {
            if leg.role == .ended || isEnded { return }
            apply(leg.machine.received(text), from: leg)
        }
        // Acknowledgements the decoder read (not the plain ones the event loop counted).
        if let counter = leg.acknowledgements, leg.machine.chunksAcknowledged > counter.value {
            counter.advance(to: leg.machine.chunksAcknowledged)
            changed()
        }
    }

    /// The leg numbered `index`, while it has not ended.
    func liveLeg(_ index: Int) -> SessionLeg? {
        legs.first { $0.index == index }
    }

    /// The connection of leg `index` ended (its messages went to the decoder, not through the
    /// connection's own sequence): tells the leg's machine how.
    func connectionEnded(legAt index: Int, _ closure: WebSocketClosure) {
        guard let leg = liveLeg(index) else { return }
        // Every message arrived before the end: decode them first.
        decodeReceivedMessages(of: leg)
        if leg.role == .ended || isEnded { return }
        let frame: WebSocketCloseFrame
        switch closure {
        case .failed(let failure):
            apply(
                leg.machine.connectionFailed(TranscriptionError(transport: failure, provider: provider.kind)), from: leg
            )
            return
        case .closedByPeer(let peer): frame = peer
        case .closedLocally(let local): frame = local
        }
        // The service closed the connection.
        apply(leg.machine.closed(code: frame.code, reason: frame.reason), from: leg)
    }

    /// Carries out what `leg`'s machine asked for, in order. Messages to send have no place
    /// here (the machine asks for them only in answer to the caller's requests).
    func apply(_ actions: [SessionAction], from leg: SessionLeg) {
        for action in actions {
            if leg.role == .ended || isEnded { return }
            switch action {
            case .deliver(let event):
                if case .begin = event, leg.index > 0 { continue }  // `reconnected` takes its place
                deliver(event, from: leg)
            case .started(let info):
                leg.startedAt = clock.now
                instruments.began(after: clock.now - leg.connectedAt)
                if leg.index == 0 { session = info }
                logger.debug("session started", metadata: ["stt.session.id": "\(info.id)"])
                changed()
            case .finished(let end):
                legFinished(leg, end)
            case .failed(let error):
                legFailed(leg, error)
            case .sendText:
                assertionFailure("a session machine asked to send a message in answer to a received one")
            }
        }
    }

    /// Sends the messages among `actions` to `leg` and carries out the rest, in order.
    func perform(_ actions: [SessionAction], on leg: SessionLeg) async throws(TranscriptionError) {
        for action in actions {
            if case .sendText(let text) = action {
                try await send(text: text, on: leg)
            } else {
                apply([action], from: leg)
            }
        }
    }

    /// Delivers one event of `leg`, its times moved to the whole stream's clock.
    func deliver(_ event: TranscriptEvent, from leg: SessionLeg) {
        let placed = timeline.place(event, session: leg.index, offset: wire.seconds(ofBytes: leg.startPosition))
        var turnBoundary = false
        switch (event, placed) {
        case (.final(let transcript), .final(let moved)):
            finalCount += 1
            let end = leg.startPosition + Int(transcript.end * Double(wire.bytesPerSecond))
            ledger.finalized(upTo: min(end, leg.sentPosition))
            trimBacklog()
            turnBoundary = moved.isEndOfTurn
        case (.endOfUtterance, _):
            turnBoundary = true
        default:
            break
        }
        recordDelivered(placed)
        handOff.yield(placed)
        if turnBoundary && leg.successor != nil {
            let index = leg.index
            spawn { await self.switchOver(fromLegAt: index) }
        }
    }

    // MARK: Ending legs

    /// The service ended `leg` gracefully (its last message, or a normal close after the end
    /// message).
    func legFinished(_ leg: SessionLeg, _ end: SessionEnd) {
        switch leg.role {
        case .ended:
            return
        case .draining:
            ledger.drained(sentUpTo: leg.sentPosition, handedOverAt: activeLeg?.startPosition ?? leg.sentPosition)
            close(leg, gracefully: true)
            trimBacklog()
            completeIfDone()
        case .active where isStopping && leg.machine.endMessageSent:
            stoppedEnd = end
            close(leg, gracefully: true)
            completeIfDone()
        case .active where configuration.reconnection == nil:
            // The service ended the session on its own.
            close(leg, gracefully: true)
            complete(with: end)
        case .active, .standby:
            legFailed(
                leg,
                TranscriptionError(
                    .serverClosed, provider: provider.kind, reason: "the service ended the session on its own",
                    isRetryable: true))
        }
    }

    /// `leg` failed. Without reconnection (or when `error` is not retryable) the transcriber
    /// fails with it; otherwise a new session is opened.
    func legFailed(_ leg: SessionLeg, _ error: TranscriptionError) {
        guard leg.role != .ended, !isEnded else { return }
        let role = leg.role
        leg.failure = error
        leg.machine.abandon(error)
        close(leg, gracefully: false)
        switch role {
        case .ended:
            return
        case .standby:
            // A session that never got audio: a reconnection or rollover attempt that failed
            // (its task sees `failure`); the first session's failure ends the transcriber.
            if leg.index == 0 { fail(error) }
            changed()
        case .draining:
            ledger.drainFailed(sentUpTo: leg.sentPosition, handedOverAt: activeLeg?.startPosition ?? 0)
            handOff.yield(
                .warning(
                    VendorNotice(
                        type: "rollover_drain_failed",
                        reason: "the previous session failed before it sent its last finals (\(error.code))")))
            completeIfDone()
        case .active:
            guard var reconnection, session != nil else {
                fail(error)
                return
            }
            let decision = reconnection.sessionLost(
                error, producedTranscript: leg.machine.producedTranscript, startedAt: leg.startedAt, now: clock.now,
                random: .random(in: 0...1))
            self.reconnection = reconnection
            guard case .reconnect(let attempt, let delay) = decision else {
                if case .giveUp(let final) = decision { fail(final) }
                return
            }
            activeLeg = nil
            legGeneration += 1
            reconnectionAttempt = attempt
            closeStandbyLegs()
            logger.debug("session lost", metadata: ["stt.error": "\(error)"])
            let lost = (index: leg.index, id: leg.info?.id ?? "")
            spawn {
                await self.reconnect(
                    afterSession: lost.index, id: lost.id, reason: .failure(error), attempt: attempt, delay: delay)
            }
            changed()
        }
    }

    /// Releases `leg`.
    func close(_ leg: SessionLeg, gracefully: Bool) {
        leg.role = .ended
        leg.machine.abandon()
        leg.received.discard()
        if let successor = leg.successor, successor.role == .standby { close(successor, gracefully: false) }
        leg.successor = nil
        legs.removeAll { $0 === leg }
        timeline.forget(session: leg.index)
        connectionsToRelease.append(leg.connection)
        if gracefully {
            leg.connection.requestClose()
        } else {
            leg.connection.cancel()
        }
        changed()  // waits on the leg end
    }

    /// Closes sessions opened for a rollover that has not happened yet.
    func closeStandbyLegs() {
        for leg in legs where leg.role == .standby { close(leg, gracefully: false) }
    }

    /// Completes the stop once the active leg and every draining leg have finished.
    func completeIfDone() {
        guard let end = stoppedEnd, !legs.contains(where: { $0.role == .draining }) else { return }
        complete(with: end)
    }

    /// The graceful end: `terminated`, then the sequence finishes.
    func complete(with end: SessionEnd) {
        guard !isEnded else { return }
        let measured = firstConnectedAt.map { (clock.now - $0).inSeconds } ?? 0
        let single = sessionCount <= 1
        let summary = SessionSummary(
            provider: provider.kind, sessionID: activeLeg?.info?.id ?? session?.id ?? "",
            audioDuration: single ? (end.audioDuration ?? audioSecondsSent) : audioSecondsSent,
            sessionDuration: single ? (end.sessionDuration ?? measured) : measured,
            finalCount: finalCount, raw: end.raw, sessionCount: max(1, sessionCount),
            lostAudio: wire.seconds(ofBytes: ledger.lostBytes), statistics: currentStatistics)
        logger.debug("session terminated", metadata: ["stt.finals": "\(finalCount)"])
        handOff.yield(.terminated(summary))
        finish(.success(summary))
        for leg in legs { close(leg, gracefully: true) }
    }

    /// The failed end: `error`, then the sequence finishes and every connection is dropped.
    func fail(_ error: TranscriptionError) {
        guard !isEnded else { return }
        logger.debug("session failed", metadata: ["stt.error": "\(error)"])
        handOff.yield(.error(error))
        finish(.failure(error))
        for leg in legs { close(leg, gracefully: false) }
    }

    private func finish(_ result: Result<SessionSummary, TranscriptionError>) {
        recordAudioProgress()
        instruments.sessionEnded(result, sessionID: session?.id)
        phase = .ended(result)
        handOff.finish()
        jobsEnded()
        changed()
    }
}
