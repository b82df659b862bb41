import Logging
import StreamingSTTAudio
import StreamingSTTSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The reader thread's work: read periods from a ``CaptureDevice`` until stopped or failed,
/// hand them over, recover from overruns, and release the device before the stream ends.
struct CaptureLoop: Sendable {
    /// A device that belongs to exactly one thread at a time.
    struct OwnedDevice: @unchecked Sendable {
        // Justification for @unchecked: the device is created on the opening thread, then
        // moved (under the session lock) to the reader thread, which alone uses and closes it.
        let device: any CaptureDevice
    }

    let owned: OwnedDevice
    let deviceName: String
    /// Carries the buffers to the consumer, dropping (and counting) the newest when it is full;
    /// finished once the device is closed.
    let handOff: HandOffQueue<AudioBuffer, AudioError>
    let wake: WakeSignal
    let statistics: LockedState<ALSAMicrophone.Statistics>
    let logger: Logger

    /// Runs on the reader thread until the stream ends.
    func run() {
        let device = owned.device
        let format = device.format
        let bytesPerFrame = format.bytesPerFrame
        let clock = ContinuousClock()
        var position: Int64 = 0
        var lastRead = clock.now
        var scratch = [UInt8](repeating: 0, count: device.periodFrames * bytesPerFrame)
        var outcome: Result<Void, AudioError> = .success(())

        reading: while !handOff.isStopped {
            let read = scratch.withUnsafeMutableBytes { device.read(into: $0, frames: device.periodFrames, wake: wake) }
            switch read {
            case .frames(let count):
                let buffer = AudioBuffer(
                    format: format, bytes: Array(scratch[0..<(count * bytesPerFrame)]), startFrame: position)
                position += Int64(count)
                lastRead = clock.now
                let pushed = handOff.append(buffer)
                statistics.withLock {
                    $0.capturedFrames += Int64(count)
                    if pushed == .dropped { $0.droppedBuffers += 1 }
                }
                if pushed == .dropped {
                    logger.debug(
                        "audio buffer dropped: the consumer is behind", metadata: ["stt.audio.frames": "\(count)"])
                }
            case .interrupted:
                break reading
            case .failure(let code):
                switch -code {
                case EPIPE, ESTRPIPE, EINTR:
                    let recovered = device.recover(from: code)
                    guard recovered == 0 else {
                        outcome = .failure(lostError(recovered))
                        break reading
                    }
                    // The audio between the last read and now is gone: surface it as a gap.
                    let elapsed = clock.now - lastRead
                    let lost = max(1, Int64(format.frameCount(for: elapsed)))
                    position += lost
                    lastRead = clock.now
                    statistics.withLock {
                        if -code == EPIPE { $0.overruns += 1 }
                        if -code == ESTRPIPE { $0.suspends += 1 }
                        $0.lostFrames += lost
                    }
                    logger.debug(
                        "capture recovered",
                        metadata: ["stt.audio.error": "\(alsaText(code))", "stt.audio.lost_frames": "\(lost)"])
                case ENODEV, EIO, EBADFD, ENOTTY, ESHUTDOWN:
                    outcome = .failure(lostError(code))
                    break reading
                default:
                    let recovered = device.recover(from: code)
                    if recovered != 0 {
                        outcome = .failure(
                            AudioError(.readFailed, detail: alsaText(code), path: deviceName, systemError: code))
                        break reading
                    }
                }
            }
        }
        device.close()
        handOff.finish(outcome)
    }

    private func lostError(_ code: Int32) -> AudioError {
        AudioError(
            .deviceLost, detail: "the device stopped working or was unplugged (\(alsaText(code)))",
            path: deviceName, systemError: code)
    }
}
