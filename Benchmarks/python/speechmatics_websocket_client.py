"""Speechmatics RT v2 with plain `websocket-client`: a `WebSocketApp` with
`Authorization: Bearer <key>`, `StartRecognition` on open, a thread that sends the audio as binary
frames once `RecognitionStarted` arrives and then `EndOfStream` with the number of chunks sent, and
the messages parsed with `json.loads` until `EndOfTranscript`. TLS trusts the system's roots plus the
emulator's CA (`bench_common.tls_context`). One measured session (see bench_common.py).
"""

import json
import threading

import bench_common
import websocket

CLIENT = "speechmatics-websocket-client"
args = bench_common.parse_arguments(CLIENT)
audio = bench_common.read_audio(args.audio)
step = bench_common.chunk_bytes(args.chunk_ms)
counts = bench_common.Counts()
measurement = bench_common.Measurement(CLIENT, args, audio)
start_recognition = {
    "message": "StartRecognition",
    "audio_format": {"type": "raw", "encoding": "pcm_s16le", "sample_rate": bench_common.SAMPLE_RATE},
    "transcription_config": {"language": "en", "enable_partials": True, "max_delay": 1.0},
}


def stream_audio(ws: websocket.WebSocketApp) -> None:
    sent = 0
    try:
        for offset in range(0, len(audio), step):
            ws.send(audio[offset : offset + step], websocket.ABNF.OPCODE_BINARY)
            sent += 1
        ws.send(json.dumps({"message": "EndOfStream", "last_seq_no": sent}))
    except Exception as error:  # the connection ended under the sender
        counts.error = counts.error or f"send failed: {error}"


senders: list = []  # the audio thread, once the session has started


def on_open(ws: websocket.WebSocketApp) -> None:
    ws.send(json.dumps(start_recognition))


def on_message(ws: websocket.WebSocketApp, message: str) -> None:
    data = json.loads(message)
    kind = data.get("message")
    if kind == "RecognitionStarted":
        counts.setup_cpu_seconds = measurement.cpu_so_far()
        senders.append(threading.Thread(target=stream_audio, args=(ws,), daemon=True))
        senders[0].start()
    elif kind == "AddTranscript":
        counts.finals += 1
        counts.final_words += sum(1 for result in data.get("results", []) if result.get("type") == "word")
    elif kind == "AddPartialTranscript":
        counts.partials += 1
    elif kind == "EndOfTranscript":
        counts.ended = True
        ws.close()
    elif kind == "Error":
        counts.error = f"{data.get('type')}: {data.get('reason')}"


def on_error(ws: websocket.WebSocketApp, error: Exception) -> None:
    counts.error = counts.error or str(error)


measurement.start()
app = websocket.WebSocketApp(
    args.url, header={"Authorization": f"Bearer {args.key}"}, on_open=on_open, on_message=on_message, on_error=on_error
)
app.run_forever(sslopt={"context": bench_common.tls_context(args.ca)})
for sender in senders:
    sender.join()
measurement.finish(counts)
