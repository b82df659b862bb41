import StreamingSTTAudio
import StreamingSTTAudioIO
import StreamingSTTCore

extension StreamingTranscriber {
    /// Sends audio in any format: it is converted to
    /// ``/StreamingSTTCore/StreamingTranscriber/wireFormat`` (channels mixed down, resampled with a
    /// band-limited filter, re-encoded), then sent as
    /// ``/StreamingSTTCore/StreamingTranscriber/send(audio:)`` does. Every buffer of a session must
    /// have the same format.
    ///
    /// In a multichannel session (Speechmatics channel diarization) the buffer must have exactly as
    /// many channels as there are channel labels: each channel is resampled and re-encoded on its
    /// own and sent as its own stream, never mixed down.
    /// - Throws: `TranscriptionError` as ``/StreamingSTTCore/StreamingTranscriber/send(audio:)``, or
    ///   `audioFailed` when the buffer cannot be converted.
    public func send(_ buffer: AudioBuffer) async throws(TranscriptionError) {
        guard let fanOut else { return try await driver.send(buffer) }
        // One session per channel: each takes its own channel of the buffer.
        let channels = fanOut.labels.count
        if buffer.format.channelCount != channels {
            throw TranscriptionError(
                .audioFailed, provider: provider.kind,
                reason:
                    "a multichannel session takes \(channels)-channel audio (one channel per label), got \(buffer.format.channelCount)"
            )
        }
        for (index, driver) in fanOut.drivers.enumerated() { try await driver.send(buffer, channel: index) }
    }

    /// Sends every buffer of `source` until it ends, paced in real time (the hosted AssemblyAI
    /// service rejects audio sent faster than real time) or as fast as the transport allows.
    /// It does not stop the session: call ``/StreamingSTTCore/StreamingTranscriber/stop()`` after it
    /// returns.
    /// - Throws: `TranscriptionError`: `audioFailed` when the source fails (the session goes on),
    ///   or whatever ended the session.
    public func stream(from source: some AudioSource, pacing: AudioPacing = .realTime) async throws(TranscriptionError)
    {
        var pacer = AudioPacer(pacing)
        do {
            for try await buffer in source {
                try await pacer.wait(for: buffer)
                try await send(buffer)
            }
        } catch let error as TranscriptionError {
            throw error
        } catch let error as AudioError {
            throw TranscriptionError(
                .audioFailed, provider: provider.kind, reason: error.description, underlyingError: error)
        } catch {
            throw TranscriptionError(.audioFailed, provider: provider.kind, reason: "\(error)")
        }
    }
}

extension TranscriptionDriver {
    /// Converts `buffer` to the wire format (the first buffer fixes the input format) and sends it;
    /// with `channel`, only that channel of it (one session of a multichannel transcription).
    func send(_ buffer: AudioBuffer, channel: Int? = nil) async throws(TranscriptionError) {
        try checkRunning()
        let wire = wireFormat
        if buffer.format == wire && inputConversion == nil {
            try await send(audio: buffer.bytes)
            return
        }
        do {
            if wire.channelCount > 1, buffer.format.channelCount != wire.channelCount {
                throw AudioError(
                    .invalidFormat,
                    detail:
                        "a multichannel session takes \(wire.channelCount)-channel audio (one channel per label), got \(buffer.format.channelCount)"
                )
            }
            if inputConversion == nil {
                inputConversion = BufferConversion(
                    try AudioConverter(
                        from: buffer.format, to: wire, channels: channel.map { .channel($0) } ?? .downmix))
            }
            guard let conversion = inputConversion as? BufferConversion,
                conversion.converter.inputFormat == buffer.format
            else {
                throw AudioError(.invalidFormat, detail: "every buffer of a session must have the same format")
            }
            let converted = try conversion.converter.convert(buffer)
            if !converted.bytes.isEmpty { try await send(audio: converted.bytes) }
        } catch let error as AudioError {
            throw TranscriptionError(
                .audioFailed, provider: provider.kind, reason: error.description, underlyingError: error)
        } catch let error as TranscriptionError {
            throw error
        } catch {
            throw TranscriptionError(.audioFailed, provider: provider.kind, reason: "\(error)")
        }
    }
}

/// An ``AudioConverter`` as a session's input conversion.
final class BufferConversion: AudioInputConversion {
    let converter: AudioConverter

    init(_ converter: AudioConverter) {
        self.converter = converter
    }

    func flush() throws -> [UInt8] {
        try converter.flush().bytes
    }
}
