// One `import StreamingSTT` gives the whole library: the transcriber (StreamingSTTCore, which
// brings the protocol core and the audio types) and audio from microphones and files, converted
// from any format (StreamingSTTAudioIO).
@_exported import StreamingSTTAudioIO
@_exported import StreamingSTTCore
