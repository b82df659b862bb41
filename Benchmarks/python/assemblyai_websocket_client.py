"""AssemblyAI v3 streaming with plain `websocket-client`, the way AssemblyAI's "without the SDK"
example does it: a `WebSocketApp` with `Authorization: <key>`, a thread that sends the audio as
binary frames once the session has begun, `{"type": "Terminate"}` at the end, and the messages
parsed with `json.loads` until `Termination`. TLS trusts the system's roots plus the emulator's CA
(`bench_common.tls_context`). One measured session (see bench_common.py).
"""

import json
import threading
from urllib.parse import urlencode

import bench_common
import websocket

CLIENT = "assemblyai-websocket-client"
args = bench_common.parse_arguments(CLIENT)
audio = bench_common.read_audio(args.audio)
step = bench_common.chunk_bytes(args.chunk_ms)
counts = bench_common.Counts()
measurement = bench_common.Measurement(CLIENT, args, audio)
query = urlencode({"sample_rate": bench_common.SAMPLE_RATE, "speech_model": "u3-rt-pro", "encoding": "pcm_s16le"})


def stream_audio(ws: websocket.WebSocketApp) -> None:
    try:
        for offset in range(0, len(audio), step):
            ws.send(audio[offset : offset + step], websocket.ABNF.OPCODE_BINARY)
        ws.send(json.dumps({"type": "Terminate"}))
    except Exception as error:  # the connection ended under the sender
        counts.error = counts.error or f"send failed: {error}"


senders: list = []  # the audio thread, once the session has started


def on_message(ws: websocket.WebSocketApp, message: str) -> None:
    data = json.loads(message)
    kind = data.get("type")
    if kind == "Begin":
        counts.setup_cpu_seconds = measurement.cpu_so_far()
        senders.append(threading.Thread(target=stream_audio, args=(ws,), daemon=True))
        senders[0].start()
    elif kind == "Turn":
        if data.get("end_of_turn"):
            counts.finals += 1
            counts.final_words += len(data.get("words", []))
        else:
            counts.partials += 1
    elif kind == "Termination":
        counts.ended = True
        ws.close()
    elif kind == "Error":
        counts.error = data.get("error", "Error")


def on_error(ws: websocket.WebSocketApp, error: Exception) -> None:
    counts.error = counts.error or str(error)


measurement.start()
app = websocket.WebSocketApp(
    f"{args.url}?{query}", header={"Authorization": args.key}, on_message=on_message, on_error=on_error
)
app.run_forever(sslopt={"context": bench_common.tls_context(args.ca)})
for sender in senders:
    sender.join()
measurement.finish(counts)
