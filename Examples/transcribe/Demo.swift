import ArgumentParser
import StreamingSTT
import StreamingSTTTesting

#if canImport(Glibc)
    import Glibc
#endif

/// `transcribe demo`: a session against a local server, with nothing from the network.
///
/// Until the bundled emulator of both vendors exists, the demo exercises the transport that every
/// session rides on: it starts the local test server over TLS with a certificate it generates,
/// streams one minute's worth of 16 kHz audio frames (50 ms, 1600 bytes each) plus JSON control
/// messages through the real client, and reports what it measured.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run an offline session against the bundled local server (no API key, no network)."
    )

    @Option(help: "Seconds of audio frames to stream.")
    var seconds: Int = 60

    @Flag(help: "Pace the frames in real time (50 ms apart) instead of as fast as the transport allows.")
    var realtime = false

    func run() async throws {
        print("swift-streaming-stt offline demo")
        print("Service: the bundled LOCAL test server on 127.0.0.1 over TLS (not AssemblyAI or Speechmatics).")
        print("The vendor emulators are not part of this build yet; this run proves the transport every")
        print("transcription session uses: TLS with certificate verification, ordered binary audio frames")
        print("and JSON control messages, backpressure, and a clean close.\n")

        let authority = try TestCertificateAuthority.generate(names: ["localhost", "127.0.0.1"])
        defer { authority.remove() }
        let server = try TestWebSocketServer(tls: authority)
        defer { server.shutdown() }
        var configuration = WebSocketConfiguration()
        configuration.tls.additionalTrustRoots = [.file(authority.caCertificatePath)]

        let clock = ContinuousClock()
        let connectStart = clock.now
        let connection = try await WebSocketConnection.connect(
            to: server.url(path: "/v3/ws?sample_rate=16000", host: "localhost"), configuration: configuration)
        let connectTime = clock.now - connectStart
        print(
            "Connected to \(server.url(host: "localhost")) in \(format(connectTime)) (TLS verified against the demo CA)"
        )

        let frames = seconds * 20
        let frame = [UInt8](repeating: 0, count: 1600)
        let start = clock.now
        let receiver = Task { () -> (frames: Int, bytes: Int, ended: WebSocketClosure?) in
            var count = 0
            var bytes = 0
            var iterator = connection.messages.makeAsyncIterator()
            do {
                while let message = try await iterator.next() {
                    switch message {
                    case .binary(let payload):
                        count += 1
                        bytes += payload.count
                    case .text(let text):
                        // Messages come back in order: the end marker follows every frame.
                        if text.contains("Terminate") { return (count, bytes, nil) }
                    }
                }
            } catch let error as WebSocketError {
                return (count, bytes, .failed(error))
            } catch {
                return (count, bytes, nil)
            }
            return (count, bytes, connection.closure)
        }
        try await connection.send(text: #"{"type":"UpdateConfiguration","end_of_turn_confidence_threshold":0.7}"#)
        for index in 0..<frames {
            if realtime { try await clock.sleep(until: start + .milliseconds(50 * index)) }
            try await connection.send(binary: frame)
        }
        try await connection.send(text: #"{"type":"Terminate"}"#)
        let sendTime = clock.now - start
        let received = await receiver.value
        let closure = await connection.close()
        let total = clock.now - start

        print("Streamed \(frames) audio frames (\(seconds) s of 16 kHz mono s16) in \(format(sendTime))")
        print("Echoed back: \(received.frames) frames, \(received.bytes) bytes; session \(format(total))")
        print("Closed: \(describe(received.ended ?? closure))")
        let ok = received.frames == frames && received.bytes == frames * frame.count
        print(ok ? "\nResult: OK, every frame made the round trip intact." : "\nResult: FAILED, frames were lost.")
        print("\nTo use a real service, the providers of this library take an API key; see README.md.")
        if !ok { throw ExitCode(4) }
    }

    private func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let milliseconds = Double(seconds) * 1000 + Double(attoseconds) / 1e15
        return milliseconds < 1000 ? "\(Int(milliseconds)) ms" : "\(Double(Int(milliseconds / 10)) / 100) s"
    }

    private func describe(_ closure: WebSocketClosure) -> String {
        switch closure {
        case .closedLocally(let frame): "we closed with \(frame), the server answered"
        case .closedByPeer(let frame): "the server closed with \(frame)"
        case .failed(let error): "failed: \(error)"
        }
    }
}
