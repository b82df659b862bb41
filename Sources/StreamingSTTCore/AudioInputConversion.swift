/// The conversion of a caller's audio to the wire format, when the caller's audio is converted
/// (`StreamingSTT`'s `send(_:)` and `stream(from:pacing:)`): its tail goes out before the end of
/// the audio.
package protocol AudioInputConversion: AnyObject, Sendable {
    /// The converted audio still held (a resampler's delay line), in the wire format; taken once,
    /// when the audio ends.
    func flush() throws -> [UInt8]
}
