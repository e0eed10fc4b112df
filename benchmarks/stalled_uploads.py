"""What hostile clients that never finish cost the server: memory, /health latency and log lines.

Starts `cardiofusion serve` with an API key set, then
1. `--stalled` connections (400) each announce a 4 MB /predict upload with a WRONG key, send
   `--sent-mb` (2 MB) of it and stall: the server's resident memory while they hold on, /health's
   latency meanwhile, and the memory once they have closed; then the same with the RIGHT key;
2. `--aborts` clients (400) each announce a body, send part of it with the RIGHT key and hang
   up: the log lines this costs and how many say 500 or carry a traceback;
3. `--methods` requests (3,000) with a different long made-up HTTP method each: the size of
   the /metrics scrape before and after.

    python benchmarks/stalled_uploads.py [--model PATH] [--stalled 400] [--aborts 400]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx2
import psutil
from api_load import pick_model, served_process

REPO = Path(__file__).resolve().parents[1]
KEY = "benchmark-key"
BOUNDARY = "cardiofusionbenchmark"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path)
    parser.add_argument("--params", type=Path, default=REPO / "params.yaml")
    parser.add_argument("--stalled", type=int, default=400)
    parser.add_argument("--sent-mb", type=float, default=2.0)
    parser.add_argument("--aborts", type=int, default=400)
    parser.add_argument("--methods", type=int, default=3000)
    args = parser.parse_args()
    os.environ["CARDIOFUSION_API_KEY"] = KEY
    with tempfile.TemporaryFile() as log, \
            served_process(pick_model(args.model), args.params, log) as (url, process):
        server = psutil.Process(process.pid)
        port = int(url.rsplit(":", 1)[1])
        idle = _rss_mb(server)
        print(f"idle server: {idle:.0f} MB")
        stalled(port, url, server, args.stalled, args.sent_mb, "wrong-key")
        stalled(port, url, server, args.stalled, args.sent_mb, KEY)
        aborted(port, log, args.aborts)
        methods(port, url, args.methods)


def stalled(port: int, url: str, server: psutil.Process, count: int, sent_mb: float,
            key: str) -> None:
    chunk = b"x" * (64 * 1024)
    sockets, refused = [], 0
    started = time.perf_counter()
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.setblocking(False)
        head = _request_head(4 * 2**20, key)
        try:
            s.sendall(head)
            left = int(sent_mb * 2**20)
            while left > 0:
                left -= s.send(chunk[: min(left, len(chunk))])
        except (BlockingIOError, ConnectionError):
            refused += 1  # the server stopped reading (or closed): the rest stays unsent
        sockets.append(s)
    held = _rss_mb(server)
    answers = [_health(url) for _ in range(20)]
    latencies = [ms for ms, _ in answers]
    statuses = Counter(status for _, status in answers)
    kind = "right-key" if key == KEY else "wrong-key"
    print(f"{count} stalled {kind} uploads of {sent_mb:g} MB each (sent in "
          f"{time.perf_counter() - started:.1f} s; {refused} could not send all): server "
          f"{held:.0f} MB, peak {_peak_mb(server):.0f} MB; /health p50 "
          f"{statistics.median(latencies):.1f} ms, max {max(latencies):.1f} ms, statuses "
          f"{dict(statuses)}")
    for s in sockets:
        s.close()
    time.sleep(2)
    print(f"  after they closed: server {_rss_mb(server):.0f} MB")


def aborted(port: int, log, count: int) -> None:
    log.seek(0, os.SEEK_END)
    before = log.tell()
    for _ in range(count):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(_request_head(2**20, KEY) + b"y" * 10_000)
    time.sleep(3)
    log.seek(before)
    lines = log.read().decode(errors="replace").splitlines()
    print(f"{count} clients that sent part of a body and hung up: {len(lines)} log lines, "
          f"{sum('status=500' in line for line in lines)} with status=500, "
          f"{sum(line.startswith('Traceback') for line in lines)} tracebacks")
    print("  " + (lines[-1][:160] if lines else "(no line)"))


def methods(port: int, url: str, count: int) -> None:
    headers = {"X-API-Key": KEY}
    before = len(httpx2.get(f"{url}/metrics", headers=headers).content)
    for i in range(count):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            method = f"M{i:05d}" + "X" * 3994
            s.sendall(f"{method} /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                      .encode())
            s.recv(1024)
    after = len(httpx2.get(f"{url}/metrics", headers=headers).content)
    print(f"{count} requests with made-up 4,000-character methods: /metrics {before / 1e3:.0f} "
          f"KB before, {after / 1e3:.0f} KB after")


def _request_head(length: int, key: str) -> bytes:
    return (f"POST /predict HTTP/1.1\r\nHost: x\r\nX-API-Key: {key}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            f"Content-Length: {length}\r\n\r\n--{BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="ecg_image"; filename="a.png"\r\n'
            "Content-Type: image/png\r\n\r\n").encode()


def _health(url: str) -> tuple[float, int]:
    """/health's latency in ms and its status."""
    started = time.perf_counter()
    status = httpx2.get(f"{url}/health", timeout=30).status_code
    return (time.perf_counter() - started) * 1000, status


def _rss_mb(process: psutil.Process) -> float:
    return process.memory_info().rss / 2**20


def _peak_mb(process: psutil.Process) -> float:
    """VmHWM: the peak resident memory the kernel recorded (Linux)."""
    status = Path(f"/proc/{process.pid}/status").read_text()
    line = next((x for x in status.splitlines() if x.startswith("VmHWM")), "VmHWM: 0 kB")
    return int(line.split()[1]) / 1024


if __name__ == "__main__":
    sys.exit(main())
