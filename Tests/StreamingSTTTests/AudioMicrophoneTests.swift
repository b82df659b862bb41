import Foundation
import Logging
import StreamingSTT
import StreamingSTTSupport
import Testing

/// An ALSA configuration whose `fromfile` PCM reads `path` (raw s16le) through the real ALSA
/// code path, with no sound card: a `file` plugin over a `null` slave.
func fileBackedALSAConfiguration(reading path: String) -> String {
    """
    pcm.fromfile {
        type file
        slave.pcm { type null }
        file "/dev/null"
        infile "\(path)"
        format "raw"
    }
    """
}

/// A capture device that plays a script, then waits (in `poll`) until woken.
final class ScriptedCaptureDevice: CaptureDevice, @unchecked Sendable {
    // @unchecked: `script` and `cursor` are used only by the reader thread; shared state is in `shared`.
    let format: AudioFormat
    let periodFrames = 160
    let bufferFrames = 1280
    private let script: [CaptureRead]
    private var cursor = 0
    let shared = LockedState<(closed: Bool, recoveries: [Int32])>((false, []))
    let scriptDone = Promise<Void>()

    init(format: AudioFormat = .pcm16(sampleRate: 16_000), script: [CaptureRead]) {
        self.format = format
        self.script = script
    }

    var isClosed: Bool { shared.withLock { $0.closed } }

    func read(into buffer: UnsafeMutableRawBufferPointer, frames: Int, wake: WakeSignal) -> CaptureRead {
        if cursor < script.count {
            let step = script[cursor]
            cursor += 1
            if case .frames(let count) = step {
                for index in 0..<(count * format.bytesPerFrame) { buffer[index] = UInt8(truncatingIfNeeded: cursor) }
            }
            return step
        }
        scriptDone.fulfill(())
        var descriptor = pollfd(fd: wake.fd, events: Int16(POLLIN), revents: 0)
        _ = poll(&descriptor, 1, -1)  // blocks until stop() signals
        return .interrupted
    }

    func recover(from error: Int32) -> Int32 {
        shared.withLock { $0.recoveries.append(error) }
        return 0
    }

    func close() { shared.withLock { $0.closed = true } }
}

@Suite("ALSA microphone")
struct AudioMicrophoneTests {
    @Test(.timeLimit(.minutes(1)))
    func bytesOutEqualTheFile() async throws {
        // One second of a distinct pattern, 16 kHz s16le mono.
        let samples = (0..<16_000).map { Int16(truncatingIfNeeded: $0 &* 37 &- 12_000) }
        let bytes = AudioBuffer(format: .pcm16(sampleRate: 16_000), int16Samples: samples).bytes
        let path = temporaryPath("capture.raw")
        defer { unlink(path) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let (logger, _) = RecordingLogHandler.logger()
        let microphone = try ALSAMicrophone(
            alsaConfiguration: fileBackedALSAConfiguration(reading: path), device: "fromfile",
            configuration: .init(sampleRate: 16_000, queueCapacity: 1000), logger: logger)
        #expect(microphone.format == .pcm16(sampleRate: 16_000))
        #expect(microphone.periodFrames == 800)  // 50 ms
        #expect(microphone.isDeviceOpen)

        let received = try await withTimeout(.seconds(30), "the file's frames") {
            var received: [UInt8] = []
            var expected: Int64 = 0
            for try await buffer in microphone {
                #expect(buffer.startFrame == expected)
                expected = buffer.endFrame
                received += buffer.bytes
                if received.count >= bytes.count { break }
            }
            return received
        }
        await microphone.stop()
        #expect(!microphone.isDeviceOpen)
        let same = Array(received.prefix(bytes.count)) == bytes
        #expect(same, "the captured bytes differ from the file")
        #expect(microphone.statistics.capturedFrames >= 16_000)
    }

    @Test func negotiatedFormatIsReadBack() async throws {
        let path = temporaryPath("silence.raw")
        defer { unlink(path) }
        try Data(count: 44_100 * 8).write(to: URL(fileURLWithPath: path))
        let microphone = try ALSAMicrophone(
            alsaConfiguration: fileBackedALSAConfiguration(reading: path), device: "fromfile",
            configuration: .init(sampleRate: 44_100, channelCount: 2, encoding: .float32))
        #expect(microphone.format == .float32(sampleRate: 44_100, channelCount: 2))
        #expect(abs(microphone.periodFrames - 2205) <= 64)  // about 50 ms
        #expect(microphone.bufferFrames >= microphone.periodFrames * 2)
        await microphone.stop()
        #expect(!microphone.isDeviceOpen)
    }

    @Test func invalidDeviceNameIsAClearError() {
        let (logger, store) = RecordingLogHandler.logger()
        do {
            _ = try ALSAMicrophone(device: "no-such-device-xyz", logger: logger)
            Issue.record("opened a device that does not exist")
        } catch {
            #expect(error.code == .deviceNotFound)
            #expect(error.description.contains("no-such-device-xyz"))
            #expect(error.systemError != nil)
        }
        // ALSA's own complaint went to the logger instead of stderr.
        #expect(store.all.contains { $0.contains("alsa-lib") && $0.contains("no-such-device-xyz") })
    }

    @Test func brokenConfigurationIsAClearError() {
        do {
            _ = try ALSAMicrophone(alsaConfiguration: "pcm.broken { type", device: "broken")
            Issue.record("opened a broken configuration")
        } catch {
            #expect(error.code == .deviceOpenFailed)
            #expect(error.description.contains("broken"))
        }
    }

    @Test func deviceListWorks() throws {
        let devices = try ALSAMicrophone.captureDevices()
        for device in devices { #expect(!device.name.isEmpty) }
        #expect(devices.contains { $0.name == "null" })
        print("capture devices: \(devices.map(\.name))")
    }

    @Test(.timeLimit(.minutes(1)))
    func stopReleasesTheDeviceWhileAReadIsBlocked() async throws {
        let device = ScriptedCaptureDevice(script: [.frames(160)])
        let microphone = try ALSAMicrophone(captureDevice: device, name: "scripted", logger: Logger(label: "test"))
        let first = Promise<Void>()
        let reader = Task {
            var count = 0
            for try await _ in microphone {
                count += 1
                first.fulfill(())
            }
            return count
        }
        try await withTimeout(.seconds(10), "the first buffer") { await first.value }
        try await withTimeout(.seconds(10), "the blocked read") { await device.scriptDone.value }
        try await withTimeout(.seconds(10), "stop") { await microphone.stop() }
        #expect(device.isClosed)
        #expect(try await withTimeout(.seconds(10), "the end of the sequence") { try await reader.value } == 1)
    }

    @Test(.timeLimit(.minutes(1)))
    func cancellingTheReaderReleasesTheDevice() async throws {
        let device = ScriptedCaptureDevice(script: [])
        let microphone = try ALSAMicrophone(captureDevice: device, name: "scripted", logger: Logger(label: "test"))
        let reader = Task { () -> AudioError? in
            do {
                for try await _ in microphone {}
                return nil
            } catch {
                return error as? AudioError
            }
        }
        try await withTimeout(.seconds(10), "the blocked read") { await device.scriptDone.value }
        reader.cancel()
        let error = try await withTimeout(.seconds(10), "the cancelled reader") { await reader.value }
        #expect(error?.code == .cancelled)
        try await withTimeout(.seconds(10), "release") { await microphone.stop() }
        #expect(device.isClosed)
    }

    @Test(.timeLimit(.minutes(1)))
    func overrunIsRecoveredAndUnplugEndsTheStream() async throws {
        let device = ScriptedCaptureDevice(script: [
            .frames(160), .failure(-EPIPE), .frames(160), .failure(-ESTRPIPE), .frames(160), .failure(-ENODEV),
        ])
        let microphone = try ALSAMicrophone(captureDevice: device, name: "scripted", logger: Logger(label: "test"))
        var starts: [Int64] = []
        var failure: AudioError?
        do {
            for try await buffer in microphone { starts.append(buffer.startFrame) }
        } catch {
            failure = error
        }
        #expect(failure?.code == .deviceLost)
        #expect(failure?.description.contains("scripted") == true)
        #expect(starts.count == 3)
        #expect(starts[0] == 0)
        #expect(starts[1] > 160)  // the overrun shows as a gap
        #expect(starts[2] > starts[1] + 160)
        let statistics = microphone.statistics
        #expect(statistics.overruns == 1)
        #expect(statistics.suspends == 1)
        #expect(statistics.lostFrames >= 2)
        #expect(device.shared.withLock { $0.recoveries } == [-EPIPE, -ESTRPIPE])
        #expect(device.isClosed)
    }

    @Test(.timeLimit(.minutes(1)))
    func slowConsumerLosesCountedBuffersNotMemory() async throws {
        let device = ScriptedCaptureDevice(script: Array(repeating: .frames(160), count: 100))
        let microphone = try ALSAMicrophone(
            captureDevice: device, name: "scripted", configuration: .init(queueCapacity: 4),
            logger: Logger(label: "test"))
        let iterator = microphone.makeAsyncIterator()
        let first = try await iterator.next()
        #expect(first?.startFrame == 0)
        try await withTimeout(.seconds(10), "the whole script") { await device.scriptDone.value }
        // The first buffer went either straight to the waiting reader or through the queue (then
        // the queue was full one buffer less long).
        let dropped = microphone.statistics.droppedBuffers
        #expect(dropped == 100 - 1 - 4 || dropped == 100 - 4)
        var starts: [Int64] = []
        for _ in 0..<(100 - 1 - dropped) {
            if let buffer = try await iterator.next() { starts.append(buffer.startFrame) }
        }
        #expect(starts.count == 100 - 1 - dropped)
        #expect(starts == starts.sorted())
        // In order, each buffer's position kept (drops show as jumps, not as renumbering).
        #expect(starts.first == 160)
        #expect(starts.allSatisfy { $0 % 160 == 0 })
        await microphone.stop()
        #expect(try await iterator.next() == nil)
        #expect(device.isClosed)
    }

    @Test func secondIteratorIsRejected() async throws {
        let device = ScriptedCaptureDevice(script: [.frames(160), .failure(-ENODEV)])
        let microphone = try ALSAMicrophone(captureDevice: device, name: "scripted", logger: Logger(label: "test"))
        let first = microphone.makeAsyncIterator()
        let second = microphone.makeAsyncIterator()
        await #expect(throws: AudioError.self) { _ = try await second.next() }
        _ = try await first.next()
        await microphone.stop()
    }
}
