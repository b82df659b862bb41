// One `import StreamingSTT` gives the whole transcription API: the providers' options, the
// events and errors live in the protocol core.
@_exported import StreamingSTTProtocol
