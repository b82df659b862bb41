// One `import StreamingSTTCore` gives the transcription API: the providers' options, events and
// errors (the protocol core), audio formats and sources, and the two transport types the
// transcriber's configuration names (TLS settings, the event loop). The rest of the WebSocket
// client, `WebSocketError` included (a `TranscriptionError`'s `underlyingError`), is its own
// product: `import StreamingSTTWebSocket`.
@_exported import StreamingSTTAudio
@_exported import StreamingSTTProtocol

@_exported import struct StreamingSTTWebSocket.TLSConfiguration
@_exported import class StreamingSTTWebSocket.WebSocketEventLoop
