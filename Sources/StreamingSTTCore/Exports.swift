// One `import StreamingSTTCore` gives the transcription API: the providers' options, events and
// errors (the protocol core), audio formats and sources, and the few transport types the
// transcriber's configuration names. The rest of the WebSocket client is its own product.
@_exported import StreamingSTTAudio
@_exported import StreamingSTTProtocol

@_exported import struct StreamingSTTWebSocket.TLSConfiguration
@_exported import struct StreamingSTTWebSocket.WebSocketConfiguration
@_exported import struct StreamingSTTWebSocket.WebSocketError
@_exported import class StreamingSTTWebSocket.WebSocketEventLoop
