"""What the benchmark's Python clients share: their arguments, the audio, the measurement and
the result line, with the same fields as `stt-benchmark client` prints (ClientMode.swift).

Each client streams the raw 16 kHz mono pcm_s16le file `--audio` to the emulator at `--url`,
unpaced, in `--chunk-ms` chunks, and measures from just before it connects until its session has
ended (the vendor's last message received): its own process's user and system CPU time
(`getrusage(RUSAGE_SELF)`, every thread) and how much of it was spent until the session had begun
(`Begin` / `RecognitionStarted`), the wall time, and the process's peak resident memory (`VmHWM`). The audio is read into memory before that; chunks are sliced from it while streaming,
as the Swift client does.
"""

import argparse
import json
import os
import resource
import ssl
import sys
import tempfile
import time

SAMPLE_RATE = 16000
BYTES_PER_SECOND = SAMPLE_RATE * 2


def parse_arguments(client: str) -> argparse.Namespace:
    """The options every client takes (the same as `stt-benchmark client`)."""
    parser = argparse.ArgumentParser(description=f"{client}: one measured session against the emulator")
    parser.add_argument("--vendor", required=True, choices=["assemblyai", "speechmatics"])
    parser.add_argument("--chunk-ms", type=int, default=50)
    parser.add_argument("--audio", required=True, help="raw 16 kHz mono pcm_s16le")
    parser.add_argument("--url", required=True, help="the vendor's WebSocket URL on the emulator")
    parser.add_argument("--ca", required=True, help="the emulator's CA certificate (PEM)")
    parser.add_argument("--key", required=True, help="the API key the emulator accepts")
    return parser.parse_args()


def read_audio(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()


def chunk_bytes(chunk_ms: int) -> int:
    return BYTES_PER_SECOND * chunk_ms // 1000


# Every client, ours included, trusts the system's roots plus the emulator's CA, as a client of the
# real service trusts the system's roots: loading them (about 140 certificates, some 30 ms of CPU)
# is part of every session's set-up.


def tls_context(ca: str) -> ssl.SSLContext:
    """The default context (the system's roots) with the emulator's CA added."""
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=ca)
    return context


def bundle_with_system_roots(ca: str) -> str:
    """A PEM file with the system's roots and the emulator's CA, for a client that only reads
    `SSL_CERT_FILE`."""
    system = ssl.get_default_verify_paths().cafile or ssl.get_default_verify_paths().openssl_cafile
    with open(system, "rb") as roots, open(ca, "rb") as emulator:
        pem = roots.read() + b"\n" + emulator.read()
    descriptor, path = tempfile.mkstemp(prefix="stt-bench-roots-", suffix=".pem")
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)
    return path


class Counts:
    """What a client received: finals, partials, the words in finals, and how the session ended."""

    def __init__(self) -> None:
        self.finals = 0
        self.partials = 0
        self.final_words = 0
        self.ended = False
        self.error = ""
        self.setup_cpu_seconds = 0.0


class Measurement:
    """CPU time, wall time and peak memory of this process from `start()` to `finish()`."""

    def __init__(self, client: str, args: argparse.Namespace, audio: bytes) -> None:
        self.client = client
        self.args = args
        self.audio_seconds = len(audio) / BYTES_PER_SECOND
        self.usage = resource.getrusage(resource.RUSAGE_SELF)
        self.started = time.perf_counter()

    def start(self) -> None:
        self.usage = resource.getrusage(resource.RUSAGE_SELF)
        self.started = time.perf_counter()

    def cpu_so_far(self) -> float:
        """CPU seconds since `start()`; a client records it once its session has begun."""
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime - self.usage.ru_utime - self.usage.ru_stime

    def finish(self, counts: Counts) -> None:
        """Prints the result line and exits (1 when the session did not end properly)."""
        wall = time.perf_counter() - self.started
        usage = resource.getrusage(resource.RUSAGE_SELF)
        user = usage.ru_utime - self.usage.ru_utime
        system = usage.ru_stime - self.usage.ru_stime
        error = counts.error or ("" if counts.ended else "the session did not end with the vendor's last message")
        result = {
            "client": self.client,
            "vendor": self.args.vendor,
            "chunk_ms": self.args.chunk_ms,
            "audio_seconds": self.audio_seconds,
            "cpu_seconds": user + system,
            "user_seconds": user,
            "system_seconds": system,
            "wall_seconds": wall,
            "peak_rss_kib": peak_resident_kib(),
            "finals": counts.finals,
            "partials": counts.partials,
            "final_words": counts.final_words,
            "setup_cpu_seconds": counts.setup_cpu_seconds,
            "ok": not error,
            "error": error,
        }
        sys.stdout.write(json.dumps(result, sort_keys=True) + "\n")
        sys.stdout.flush()
        sys.exit(0 if not error else 1)


def peak_resident_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0
