// libFuzzer target: AssemblyAI v3 server messages through the decoder and event mapping.
// Build and run with scripts/fuzz. The input is split on newlines into consecutive messages of
// one session, so sequences (partials, formatted finals, Termination) are explored too.
import StreamingSTTProtocol

/// libFuzzer calls this with each input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAssemblyAI(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    for formatTurns in [false, true] {
        var options = AssemblyAI(credentials: .apiKey("fuzz"), speechModel: .universalStreamingEnglish)
        options.formatTurns = formatTurns
        var decoder = AssemblyAIDecoder(configuration: options)
        var finalTurns = Set<Int>()
        var outputs: [DecodedMessage] = []
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            outputs += decoder.decode(String(decoding: line, as: UTF8.self))
        }
        outputs += decoder.flush()  // the end of the stream delivers a pending final too
        for case .event(.final(let transcript)) in outputs {
            // A final is never delivered twice for one turn, and never empty.
            precondition(finalTurns.insert(transcript.turnOrder).inserted, "a turn was final twice")
            precondition(!transcript.text.isEmpty, "an empty final was delivered")
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

@_cdecl("FuzzAssemblyAI_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments) { data, size in fuzzAssemblyAI(data, size) }
}
