// libFuzzer target: Speechmatics RT v2 server messages through the decoder and event mapping.
// Build and run with scripts/fuzz. Lines of the input are consecutive messages of one session.
import StreamingSTTProtocol

/// libFuzzer calls this with each input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSpeechmatics(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    var decoder = SpeechmaticsDecoder()
    for line in bytes.split(separator: UInt8(ascii: "\n")) {
        for output in decoder.decode(String(decoding: line, as: UTF8.self)) {
            if case .event(.final(let transcript)) = output {
                // Never empty: words, or the text of a final holding only punctuation.
                precondition(!transcript.words.isEmpty || !transcript.text.isEmpty, "an empty final was delivered")
            }
        }
    }
    return 0
}

// SwiftPM links an executable's entry point as `<module>_main`; hand control to libFuzzer's driver.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

@_cdecl("FuzzSpeechmatics_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments) { data, size in fuzzSpeechmatics(data, size) }
}
