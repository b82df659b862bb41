import CSTTAudioShim
import StreamingSTTAudio

#if canImport(Glibc)
    import Glibc
#endif

/// Starts `body` on a new detached thread, outside Swift's cooperative pool, so blocking reads
/// (ALSA, pipes) never hold up other tasks.
/// - Throws: ``AudioError/Code/readFailed`` if the thread cannot be created.
func startAudioThread(name: String, _ body: @escaping @Sendable () -> Void) throws(AudioError) {
    final class Box {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }
    // Ownership: retained here, taken back exactly once on the new thread (or below on failure).
    let box = Unmanaged.passRetained(Box(name: name, body: body))
    var thread = pthread_t()
    let result = pthread_create(
        &thread, nil,
        { raw in
            guard let raw else { return nil }
            let box = Unmanaged<Box>.fromOpaque(raw).takeRetainedValue()
            stt_audio_set_thread_name(box.name)
            box.body()
            return nil
        }, box.toOpaque())
    guard result == 0 else {
        box.release()
        throw AudioError(.readFailed, detail: "cannot start a reader thread: \(String(cString: strerror(result)))")
    }
    pthread_detach(thread)
}

/// An eventfd that wakes a thread blocked in `poll`. Signalling is async-signal-safe and never
/// blocks; the descriptor is closed on deinit.
package final class WakeSignal: Sendable {
    /// The descriptor to include in a `poll` set (readable once signalled).
    package let fd: Int32

    package init() throws(AudioError) {
        let fd = stt_audio_eventfd()
        guard fd >= 0 else {
            throw AudioError(.readFailed, detail: "eventfd: \(String(cString: strerror(errno)))", systemError: errno)
        }
        self.fd = fd
    }

    deinit {
        close(fd)
    }

    /// Wakes the thread; it stays signalled.
    package func signal() {
        var one: UInt64 = 1
        _ = write(fd, &one, 8)
    }

    /// Whether ``signal()`` was called.
    package var isSignalled: Bool {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) > 0
    }
}
