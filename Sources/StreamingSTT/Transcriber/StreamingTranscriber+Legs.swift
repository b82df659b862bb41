import struct Foundation.Date

// Opening, reading and ending the legs (sessions of the service) of a transcriber.
extension StreamingTranscriber {
    /// Connects a new leg (credentials minted first, when configured), starts its reader and, for
    /// Speechmatics, sends `StartRecognition`. Does not wait for the session to start.
    func openLeg() async throws(TranscriptionError) -> SessionLeg {
        var provider = self.provider
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
            switch provider {
            case .assemblyAI(var options):
                options.credentials = credentials
                provider = .assemblyAI(options)
            case .speechmatics(var options):
                options.credentials = credentials
                provider = .speechmatics(options)
            }
        }
        if isEnded { throw endedError() }
        var webSocket = WebSocketConfiguration(
            connectTimeout: configuration.connectTimeout, keepalive: configuration.keepalive,
            maxMessageSize: configuration.maxMessageSize, maxQueuedOutboundBytes: configuration.maxQueuedOutboundBytes,
            tls: configuration.tls)
        let url: String
        var decoder: any SessionDecoder
        switch provider {
        case .assemblyAI(let options):
            url = options.sessionURL()
            webSocket.additionalHeaders = options.sessionHeaders()
            decoder = AssemblyAIDecoder(configuration: options)
        case .speechmatics(let options):
            url = options.sessionURL()
            webSocket.additionalHeaders = options.sessionHeaders()
            decoder = SpeechmaticsDecoder()
        }
        decoder.deliversRawMessages = configuration.deliversRawMessages
        for update in configurationUpdates { decoder.apply(update) }  // replayed to the session before its audio
        let acknowledgements = AcknowledgementCounter()
        let received = ReceivedMessages()
        let acknowledgementFilter: WebSocketInboundFilter? =
            if case .speechmatics = provider, !configuration.deliversRawMessages {
                acknowledgements.inboundFilter
            } else {
                nil
            }
        startDecodingTask()
        // Every message is taken on the event loop's thread: acknowledgements into their counter,
        // the rest into the leg's queue for the decoder (see EventHandOff); binary frames mean
        // nothing here. The connection's own queue only ever sees its end.
        webSocket.inboundFilter = { [handOff] bytes, binary in
            if let acknowledgementFilter, acknowledgementFilter(bytes, binary) { return true }
            if !binary {
                if received.append(String(decoding: bytes, as: UTF8.self)) { handOff.messageArrived() }
            }
            return true
        }
        logger.debug("session connecting", metadata: ["stt.session.index": "\(index)"])
        let connection: WebSocketConnection
        do {
            connection = try await WebSocketConnection.connect(
                to: url, configuration: webSocket, eventLoop: configuration.eventLoop, logger: logger)
        } catch {
            throw TranscriptionError(transport: error, provider: provider.kind)
        }
        if isEnded {
            connection.cancel()
            throw endedError()
        }
        let leg = SessionLeg(
            index: index, connection: connection, decoder: decoder, acknowledgements: acknowledgements,
            received: received, connectedAt: clock.now)
        legs.append(leg)
        decodeReceivedMessages(of: leg)  // any that came before the leg was known
        Task { await self.readLoop(leg) }
        if case .speechmatics(let options) = provider {
            // A failure here is the reader's to report.
            try? await connection.send(text: options.startRecognition.description)
        }
        return leg
    }

    /// Waits for the first session to start, bounded by the start timeout.
    func waitForStart(of leg: SessionLeg) async {
        let limit = configuration.startTimeout
        let started = await wait(within: limit) { leg.info != nil || leg.role == .ended || isEnded }
        if !started {
            legFailed(
                leg,
                TranscriptionError(
                    .timeout, provider: provider.kind, reason: "the service did not start the session within \(limit)",
                    isRetryable: true))
        }
    }

    // MARK: Reading

    /// Starts the task that decodes received messages while the consumer is not waiting.
    private func startDecodingTask() {
        guard decodingTask == nil else { return }
        handOff.setDecode { [weak self] in await self?.decodeReceivedMessages() }
        decodingTask = Task { [handOff] in
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
        let messages = leg.received.takeAll()
        guard !messages.isEmpty else { return }
        leg.lastReceivedAt = clock.now
        for text in messages {
            if leg.role == .ended || isEnded { return }
            apply(leg.decoder.decode(text), from: leg)
        }
    }

    /// Waits for the end of `leg`'s connection (its messages go to the decoder, not here), then
    /// ends the leg accordingly.
    func readLoop(_ leg: SessionLeg) async {
        var iterator = leg.connection.messages.makeAsyncIterator()
        var failure: WebSocketError?
        do {
            while try await iterator.next() != nil {}
        } catch {
            failure = error
        }
        // Every message arrived before the end: decode them first.
        decodeReceivedMessages(of: leg)
        if let failure {
            if leg.role == .ended || isEnded { return }
            apply(leg.decoder.flush(), from: leg)
            legFailed(leg, TranscriptionError(transport: failure, provider: provider.kind))
            return
        }
        // The service closed the connection.
        if leg.role == .ended || isEnded { return }
        apply(leg.decoder.flush(), from: leg)
        if leg.role == .ended || isEnded { return }
        let frame: WebSocketCloseFrame
        switch leg.connection.closure {
        case .closedByPeer(let peer): frame = peer
        case .closedLocally(let local): frame = local
        default: frame = .normalClosure
        }
        if let error = leg.decoder.closeError(frame) {
            legFailed(leg, error)
        } else if leg.endMessageSent {
            legFinished(leg, message: .null)
        } else {
            legFailed(
                leg,
                TranscriptionError(
                    .serverClosed, provider: provider.kind, reason: "the service closed the session without ending it",
                    closeCode: frame.code, isRetryable: true))
        }
    }

    func apply(_ outputs: [SessionOutput], from leg: SessionLeg) {
        for output in outputs {
            if leg.role == .ended || isEnded { return }
            switch output {
            case .event(let event):
                if case .begin = event, leg.index > 0 { continue }  // `reconnected` takes its place
                deliver(event, from: leg)
            case .started(let info):
                leg.info = info
                leg.startedAt = clock.now
                if leg.index == 0 { session = info }
                logger.debug("session started", metadata: ["stt.session.id": "\(info.id)"])
                changed()
            case .acknowledged(let sequence):
                leg.acknowledgements.advance(to: sequence)
                changed()
            case .finished(let message):
                legFinished(leg, message: message)
            case .failed(let error):
                legFailed(leg, error)
            }
        }
    }

    /// Delivers one event of `leg`, its times moved to the whole stream's clock.
    func deliver(_ event: TranscriptEvent, from leg: SessionLeg) {
        let offset = seconds(ofBytes: leg.startPosition)
        var turnBoundary = false
        switch event {
        case .partial(let transcript):
            leg.producedTranscript = true
            leg.transcribedUntil = max(leg.transcribedUntil, transcript.end)
            handOff.yield(.partial(shifted(transcript, by: offset, from: leg)))
        case .final(let transcript):
            let moved = shifted(transcript, by: offset, from: leg)
            leg.producedTranscript = true
            leg.transcribedUntil = max(leg.transcribedUntil, transcript.end)
            finalCount += 1
            let end = leg.startPosition + Int(transcript.end * Double(bytesPerSecond))
            finalizedPosition = max(finalizedPosition, min(end, leg.sentPosition))
            trimBacklog()
            turnBoundary = moved.isEndOfTurn
            handOff.yield(.final(moved))
        case .endOfUtterance(var mark):
            mark.time += offset
            turnBoundary = true
            handOff.yield(.endOfUtterance(mark))
        case .speechStarted(var mark):
            mark.time += offset
            handOff.yield(.speechStarted(mark))
        default:
            handOff.yield(event)
        }
        if turnBoundary && leg.successor != nil {
            Task { await self.switchOver(from: leg) }
        }
    }

    private func shifted(_ transcript: Transcript, by offset: Double, from leg: SessionLeg) -> Transcript {
        var moved = transcript
        moved.sessionIndex = leg.index
        if leg.index > 0 {
            if let turn = leg.turnMap[transcript.turnOrder] {
                moved.turnOrder = turn
            } else {
                highestTurn += 1
                leg.turnMap[transcript.turnOrder] = highestTurn
                moved.turnOrder = highestTurn
            }
        } else {
            highestTurn = max(highestTurn, transcript.turnOrder)
        }
        guard offset != 0 else { return moved }
        moved.start += offset
        moved.end += offset
        for index in moved.words.indices {
            moved.words[index].start += offset
            moved.words[index].end += offset
        }
        return moved
    }

    // MARK: Ending legs

    /// The service sent its last message (`Termination`, `EndOfTranscript`) on `leg`.
    func legFinished(_ leg: SessionLeg, message: JSONValue) {
        switch leg.role {
        case .ended:
            return
        case .draining:
            finalizedPosition = max(
                finalizedPosition, min(leg.sentPosition, activeLeg?.startPosition ?? leg.sentPosition))
            close(leg, gracefully: true)
            trimBacklog()
            completeIfDone()
        case .active where isStopping && leg.endMessageSent:
            stoppedMessage = message
            close(leg, gracefully: true)
            completeIfDone()
        case .active where configuration.reconnection == nil:
            // The service ended the session on its own.
            close(leg, gracefully: true)
            complete(with: message)
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
            let unfinalized = max(0, min(leg.sentPosition, activeLeg?.startPosition ?? 0) - finalizedPosition)
            lostBytes += unfinalized
            handOff.yield(
                .warning(
                    VendorNotice(
                        type: "rollover_drain_failed",
                        reason: "the previous session failed before it sent its last finals (\(error.code))")))
            completeIfDone()
        case .active:
            guard let policy = configuration.reconnection, session != nil, error.isRetryable else {
                fail(error)
                return
            }
            let now = clock.now
            let healthy =
                leg.producedTranscript || (leg.startedAt.map { now - $0 >= policy.stableSessionDuration } ?? false)
            if healthy { failuresInARow = 0 }
            failuresInARow += 1
            activeLeg = nil
            legGeneration += 1
            closeStandbyLegs()
            logger.debug("session lost", metadata: ["stt.error": "\(error)"])
            reconnectTask = Task { await self.reconnect(after: leg, reason: .failure(error)) }
            changed()
        }
    }

    /// Releases `leg`.
    func close(_ leg: SessionLeg, gracefully: Bool) {
        leg.role = .ended
        leg.received.discard()
        leg.rolloverTimer?.cancel()
        leg.rolloverTimer = nil
        if let successor = leg.successor, successor.role == .standby { close(successor, gracefully: false) }
        leg.successor = nil
        legs.removeAll { $0 === leg }
        connectionsToRelease.append(leg.connection)
        if gracefully {
            let connection = leg.connection
            Task { await connection.close() }
        } else {
            leg.connection.cancel()
        }
    }

    /// Closes sessions opened for a rollover that has not happened yet.
    func closeStandbyLegs() {
        for leg in legs where leg.role == .standby { close(leg, gracefully: false) }
    }

    /// Completes the stop once the active leg and every draining leg have finished.
    func completeIfDone() {
        guard let message = stoppedMessage, !legs.contains(where: { $0.role == .draining }) else { return }
        complete(with: message)
    }

    /// The graceful end: `terminated`, then the sequence finishes.
    func complete(with message: JSONValue) {
        guard !isEnded else { return }
        let measured = firstConnectedAt.map { Self.seconds(clock.now - $0) } ?? 0
        let single = sessionCount <= 1
        let summary = SessionSummary(
            provider: provider.kind, sessionID: activeLeg?.info?.id ?? session?.id ?? "",
            audioDuration: single
                ? (message["audio_duration_seconds"]?.looseDouble ?? audioSecondsSent) : audioSecondsSent,
            sessionDuration: single ? (message["session_duration_seconds"]?.looseDouble ?? measured) : measured,
            finalCount: finalCount, raw: message, sessionCount: max(1, sessionCount),
            lostAudio: seconds(ofBytes: lostBytes))
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
        phase = .ended(result)
        handOff.finish()
        reconnectTask?.cancel()
        drainTask?.cancel()
        changed()
    }
}
