"""Speechmatics' Python SDK (`speechmatics-rt`, `AsyncClient`), as its README streams audio:
handlers, `start_session`, `send_audio` per chunk, then `stop_session()`, which waits for
`EndOfTranscript`. One measured session against the emulator (see bench_common.py).

Pointing it at the emulator uses only the SDK's documented options: `url=` and
`ConnectionConfig(ssl_context=...)`, the default context (the system's roots) with the emulator's CA
added.
"""

import asyncio

import bench_common
from speechmatics.rt import (
    AsyncClient,
    AudioEncoding,
    AudioFormat,
    ConnectionConfig,
    ServerMessageType,
    TranscriptionConfig,
)

CLIENT = "speechmatics-rt-sdk"
args = bench_common.parse_arguments(CLIENT)
audio = bench_common.read_audio(args.audio)
step = bench_common.chunk_bytes(args.chunk_ms)
counts = bench_common.Counts()
measurement = bench_common.Measurement(CLIENT, args, audio)


async def session() -> None:
    connection = ConnectionConfig(ssl_context=bench_common.tls_context(args.ca))
    async with AsyncClient(api_key=args.key, url=args.url, conn_config=connection) as client:

        @client.on(ServerMessageType.ADD_TRANSCRIPT)
        def on_final(message: dict) -> None:
            counts.finals += 1
            counts.final_words += sum(1 for result in message.get("results", []) if result.get("type") == "word")

        @client.on(ServerMessageType.ADD_PARTIAL_TRANSCRIPT)
        def on_partial(message: dict) -> None:
            counts.partials += 1

        @client.on(ServerMessageType.END_OF_TRANSCRIPT)
        def on_end(message: dict) -> None:
            counts.ended = True

        await client.start_session(
            transcription_config=TranscriptionConfig(language="en", enable_partials=True, max_delay=1.0),
            audio_format=AudioFormat(
                encoding=AudioEncoding.PCM_S16LE, sample_rate=bench_common.SAMPLE_RATE, chunk_size=step
            ),
        )
        counts.setup_cpu_seconds = measurement.cpu_so_far()
        for offset in range(0, len(audio), step):
            await client.send_audio(audio[offset : offset + step])
        await client.stop_session()


measurement.start()
try:
    asyncio.run(session())
except Exception as error:
    counts.error = f"{type(error).__name__}: {error}"
measurement.finish(counts)
