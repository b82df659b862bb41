import StreamingSTTAudio

/// The outcome of one read from a capture device.
package enum CaptureRead: Sendable, Equatable {
    /// This many frames were written to the buffer.
    case frames(Int)
    /// The wake signal fired while waiting for data.
    case interrupted
    /// A negative errno from the device (`-EPIPE`, `-ESTRPIPE`, `-ENODEV`, …).
    case failure(Int32)
}

/// A source of captured frames read by ``ALSAMicrophone``'s reader thread: the real ALSA PCM,
/// or a scripted device in tests (to exercise overruns and unplugging without hardware).
///
/// - Important: A device is used by one thread at a time: created on the caller's thread, then
///   handed to the reader thread, which alone reads, recovers and closes it.
package protocol CaptureDevice: AnyObject {
    /// The negotiated format of the frames.
    var format: AudioFormat { get }
    /// Frames per period (the size of one read).
    var periodFrames: Int { get }
    /// Frames in the device's ring buffer.
    var bufferFrames: Int { get }
    /// Reads up to `frames` frames into `buffer`, waiting until some are available, an error
    /// occurs, or `wake` is signalled.
    func read(into buffer: UnsafeMutableRawBufferPointer, frames: Int, wake: WakeSignal) -> CaptureRead
    /// Tries to recover from `error` (ALSA's `snd_pcm_recover`); returns 0 on success, else a negative errno.
    func recover(from error: Int32) -> Int32
    /// Stops capturing and releases the device. Called exactly once.
    func close()
}
