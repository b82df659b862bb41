import CSTTAudioShim
import Logging
import StreamingSTTAudio

/// Where ALSA's own error messages go while a thread talks to ALSA: a swift-log `Logger`,
/// instead of alsa-lib's default of printing to stderr.
final class ALSALogSink: Sendable {
    let logger: Logger

    init(logger: Logger) { self.logger = logger }

    /// Runs `body` with ALSA's messages raised on this thread routed to the logger. Nests.
    func route<Result, Failure: Error>(_ body: () throws(Failure) -> Result) throws(Failure) -> Result {
        var previousFunction: stt_alsa_log_fn? = nil
        var previousUser: UnsafeMutableRawPointer? = nil
        // Unretained: `self` outlives the call, and the sink is removed before returning.
        stt_alsa_log_begin(alsaLogThunk, Unmanaged.passUnretained(self).toOpaque(), &previousFunction, &previousUser)
        defer { stt_alsa_log_end(previousFunction, previousUser) }
        return try body()
    }

    fileprivate func log(function: String, error: Int32, message: String) {
        logger.debug(
            "alsa-lib",
            metadata: [
                "stt.alsa.message": "\(message)",
                "stt.alsa.function": "\(function)",
                "stt.alsa.error": "\(error)",
            ])
    }
}

/// The C callback of the shim: a closure with no captures; the sink comes in as `user`.
private let alsaLogThunk: stt_alsa_log_fn = { user, _, _, function, error, message in
    guard let user else { return }
    let sink = Unmanaged<ALSALogSink>.fromOpaque(user).takeUnretainedValue()
    sink.log(
        function: function.map { String(cString: $0) } ?? "",
        error: error,
        message: message.map { String(cString: $0) } ?? "")
}
