"""AssemblyAI's Python SDK (`assemblyai`, its v3 streaming client `assemblyai.streaming.v3`), as
its README streams audio: `StreamingClient`, handlers, `connect`, `stream`, then
`disconnect(terminate=True)`. One measured session against the emulator (see bench_common.py).

Pointing it at the emulator uses only the SDK's documented options: `api_host` takes a full
`wss://host:port` base (the SDK adds `/v3/ws`), and TLS uses `ssl.create_default_context()`, which
trusts the certificates in `SSL_CERT_FILE`: here the system's roots plus the emulator's CA.
"""

import os

import bench_common

CLIENT = "assemblyai-sdk"
args = bench_common.parse_arguments(CLIENT)
os.environ["SSL_CERT_FILE"] = bench_common.bundle_with_system_roots(args.ca)

from assemblyai.streaming.v3 import (  # noqa: E402  (after SSL_CERT_FILE, as a user would set it)
    BeginEvent,
    StreamingClient,
    StreamingClientOptions,
    StreamingError,
    StreamingEvents,
    StreamingParameters,
    TerminationEvent,
    TurnEvent,
)

audio = bench_common.read_audio(args.audio)
step = bench_common.chunk_bytes(args.chunk_ms)
counts = bench_common.Counts()
measurement = bench_common.Measurement(CLIENT, args, audio)


def on_begin(client: StreamingClient, event: BeginEvent) -> None:
    counts.setup_cpu_seconds = measurement.cpu_so_far()


def on_turn(client: StreamingClient, event: TurnEvent) -> None:
    if event.end_of_turn:
        counts.finals += 1
        counts.final_words += len(event.words)
    else:
        counts.partials += 1


def on_terminated(client: StreamingClient, event: TerminationEvent) -> None:
    counts.ended = True


def on_error(client: StreamingClient, error: StreamingError) -> None:
    counts.error = str(error)


def chunks():
    for offset in range(0, len(audio), step):
        yield audio[offset : offset + step]


measurement.start()
client = StreamingClient(
    StreamingClientOptions(
        api_key=args.key,
        api_host=args.url.removesuffix("/v3/ws"),
        # Unpaced, the writer thread is still draining the queue when `disconnect` is called:
        # wait for Termination however long that takes (the default is 5 s).
        terminate_timeout=600,
    )
)
client.on(StreamingEvents.Begin, on_begin)
client.on(StreamingEvents.Turn, on_turn)
client.on(StreamingEvents.Termination, on_terminated)
client.on(StreamingEvents.Error, on_error)
client.connect(StreamingParameters(sample_rate=bench_common.SAMPLE_RATE, speech_model="u3-rt-pro"))
client.stream(chunks())
client.disconnect(terminate=True)
os.remove(os.environ["SSL_CERT_FILE"])
measurement.finish(counts)
