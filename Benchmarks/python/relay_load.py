"""What the relay (`stt-server`) costs per relayed session, and which of its threads pay it: the
figures of Docs/Transport.md, "Why libwebsockets and not SwiftNIO".

Starts `stt-benchmark emulator` (both vendors over TLS, in its own process) and `stt-server`
relaying to it (AssemblyAI, WSS, trusting the emulator's generated CA). For each count N in
`--sessions`, N clients (threads of this process, plain WS on loopback) each start a session, send
100 ms of silence every 100 ms for `--seconds`, then `stop` and read until the relay closes.
Meanwhile it reads the relay's `/proc/PID/task/*/{stat,comm,wchan}` and `/proc/PID/status`: a
thread named `NIO-…` is one of NIO's event loops; a thread seen waiting in `poll` is the
library's libwebsockets service thread; the rest are Swift concurrency's and Dispatch's. Prints a
Markdown table: threads, peak RSS, and the relay's CPU time over the run, split by those threads.

    python3 Benchmarks/python/relay_load.py \
        --stt-server Examples/server/.build/release/stt-server \
        --stt-benchmark Benchmarks/.build/release/stt-benchmark --sessions 1 8 24

Needs websocket-client (Benchmarks/python/requirements.txt).
"""

import argparse
import os
import re
import subprocess
import sys
import threading
import time

import websocket

CHUNK = bytes(3200)  # 100 ms of 16 kHz 16-bit mono silence
TICKS = os.sysconf("SC_CLK_TCK")


def thread_times(pid):
    """{tid: (name, cpu seconds)} of every thread of `pid` now."""
    result = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/task/{tid}/comm") as comm:
                name = comm.read().strip()
        except OSError:
            continue  # the thread ended meanwhile
        # utime and stime: fields 14 and 15 of stat(5), 12 and 13 after the ")".
        result[tid] = (name, (int(fields[11]) + int(fields[12])) / TICKS)
    return result


def waiting_in(pid, tid):
    """The kernel function thread `tid` sleeps in ("do_sys_poll", "ep_poll", …), or ""."""
    try:
        with open(f"/proc/{pid}/task/{tid}/wchan") as wchan:
            return wchan.read().strip()
    except OSError:
        return ""


def resident_bytes(pid):
    with open(f"/proc/{pid}/status") as status:
        kib = re.search(r"VmRSS:\s+(\d+) kB", status.read())
    return int(kib.group(1)) * 1024


class Sampler(threading.Thread):
    """Reads the relay's thread count, RSS and which threads wait in poll, every 100 ms."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.stopping = threading.Event()
        self.max_threads = 0
        self.max_rss = 0
        self.pollers = set()

    def run(self):
        while not self.stopping.is_set():
            tids = os.listdir(f"/proc/{self.pid}/task")
            self.max_threads = max(self.max_threads, len(tids))
            self.max_rss = max(self.max_rss, resident_bytes(self.pid))
            for tid in tids:
                # poll(2) sleeps in poll_schedule_timeout (do_sys_poll on older kernels);
                # epoll_wait(2), NIO's and Dispatch's, in do_epoll_wait or ep_poll.
                if waiting_in(self.pid, tid).startswith(("poll_schedule_timeout", "do_sys_poll")):
                    self.pollers.add(tid)
            time.sleep(0.1)


def client(port, seconds, outcome, index):
    """One relayed session: start, paced silence, stop, then every message until the close."""
    connection = websocket.create_connection(f"ws://127.0.0.1:{port}/v1/listen", timeout=60)
    connection.send('{"type":"start","provider":"assemblyai"}')
    received = []
    reader = threading.Thread(target=lambda: read_all(connection, received), daemon=True)
    reader.start()
    start = time.monotonic()
    for tick in range(int(seconds * 10)):
        time.sleep(max(0, start + tick * 0.1 - time.monotonic()))
        connection.send_binary(CHUNK)
    connection.send('{"type":"stop"}')
    reader.join(60)
    outcome[index] = any('"type":"terminated"' in message for message in received)


def read_all(connection, received):
    try:
        while True:
            message = connection.recv()
            if not message:
                return
            received.append(message if isinstance(message, str) else "")
    except (websocket.WebSocketConnectionClosedException, OSError):
        return


def start_processes(arguments):
    emulator = subprocess.Popen(
        [arguments.stt_benchmark, "emulator", "--seconds", str(int(arguments.seconds) + 60)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    port, ca = re.match(r"PORT (\d+) CA (\S+)", emulator.stdout.readline()).groups()
    relay = subprocess.Popen(
        [
            arguments.stt_server, "--port", "0", "--log-level", "error", "--ca-file", ca,
            "--endpoint", f"assemblyai=wss://127.0.0.1:{port}/v3/ws",
            "--token-url", f"assemblyai=https://127.0.0.1:{port}/v3/token",
            "--max-sessions", "1000", "--max-sessions-per-client", "1000",
            "--max-new-sessions-per-minute", "100000", "--max-session-duration", "3600",
        ],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "ASSEMBLYAI_API_KEY": "bench-key"})
    for line in relay.stdout:
        found = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", line)
        if found:
            return emulator, relay, int(found.group(1))
    raise SystemExit("stt-server did not start")


def measure(relay, port, sessions, seconds):
    before = thread_times(relay.pid)
    sampler = Sampler(relay.pid)
    sampler.start()
    outcome = [False] * sessions
    clients = [threading.Thread(target=client, args=(port, seconds, outcome, i)) for i in range(sessions)]
    began = time.monotonic()
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join()
    elapsed = time.monotonic() - began
    sampler.stopping.set()
    sampler.join()
    after = thread_times(relay.pid)
    spent = {tid: cpu - before.get(tid, ("", 0))[1] for tid, (_, cpu) in after.items()}
    total = sum(spent.values())  # a thread that ended during the run is left out with its time
    nio = sum(cpu for tid, cpu in spent.items() if after[tid][0].startswith("NIO-"))
    lws = sum(cpu for tid, cpu in spent.items() if tid in sampler.pollers and not after[tid][0].startswith("NIO-"))
    return {
        "sessions": sessions, "ended": sum(outcome), "seconds": elapsed, "threads": sampler.max_threads,
        "rss": sampler.max_rss, "cpu": total, "lws": lws, "nio": nio,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stt-server", required=True)
    parser.add_argument("--stt-benchmark", required=True)
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 8, 24])
    parser.add_argument("--seconds", type=float, default=20)
    arguments = parser.parse_args()
    emulator, relay, port = start_processes(arguments)
    try:
        time.sleep(1)
        idle_threads = len(os.listdir(f"/proc/{relay.pid}/task"))
        idle_rss = resident_bytes(relay.pid)
        rows = [measure(relay, port, count, arguments.seconds) for count in arguments.sessions]
    finally:
        relay.terminate()
        relay.wait()
        emulator.stdin.write("quit\n")
        emulator.stdin.flush()
        emulator.wait()
    print(f"| | idle | " + " | ".join(f"{row['sessions']} sessions" for row in rows) + " |")
    print("|---|---|" + "---|" * len(rows))
    print(f"| sessions ended with `terminated` | | " + " | ".join(f"{row['ended']}" for row in rows) + " |")
    print(f"| threads (most seen) | {idle_threads} | " + " | ".join(f"{row['threads']}" for row in rows) + " |")
    print(
        f"| RSS (most seen) | {idle_rss / 1e6:.1f} MB | "
        + " | ".join(f"{row['rss'] / 1e6:.1f} MB" for row in rows) + " |")
    print("| relay CPU over the run | | " + " | ".join(f"{row['cpu']:.2f} s ({row['seconds']:.1f} s)" for row in rows) + " |")
    print(
        "| of which the libwebsockets thread | | "
        + " | ".join(f"{row['lws']:.2f} s ({100 * row['lws'] / max(row['cpu'], 1e-9):.0f} %)" for row in rows) + " |")
    print(
        "| of which NIO's threads | | "
        + " | ".join(f"{row['nio']:.2f} s ({100 * row['nio'] / max(row['cpu'], 1e-9):.0f} %)" for row in rows) + " |")
    return 0 if all(row["ended"] == row["sessions"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
