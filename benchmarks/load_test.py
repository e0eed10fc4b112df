"""Bounded load test: 8 clients on 127.0.0.1 mixing valid and hostile requests for 60 s.

Starts `cardiofusion serve` (or uses --url), then every client sends, in turn, a valid patient
(a real scan and a 10 s real recording) and the hostile inputs below, while one more thread
polls /health and another samples the server's resident memory. Prints requests/s, latency
percentiles, answers by status, the count of 5xx (must be 0), /health's worst latency and the
server's peak memory against the bound the README states; exits non-zero if a 5xx came back,
/health failed once, or the peak went over the bound.

    python benchmarks/load_test.py [--model PATH] [--seconds 60] [--clients 8]
"""

from __future__ import annotations

import argparse
import io
import struct
import sys
import threading
import time
import zlib
from collections import Counter
from pathlib import Path

import httpx2
import numpy as np
import psutil
import soundfile as sf
from api_load import REAL, pick_model, real_inputs, served_process
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
from cardiofusion.config import load_params  # noqa: E402
from cardiofusion.inputs.limits import MAX_PIXELS, MAX_SAMPLE_RATE  # noqa: E402

DECODE_BOUND_MB = 300  # one request's decoding (README; tests/hostile/test_memory_bound.py)
WAITING_MB = 2  # a request waiting for a decoding slot: its spooled upload parts in memory

Case = tuple[str, dict[str, tuple[str, bytes]], dict[str, str]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path)
    parser.add_argument("--params", type=Path, default=REPO / "params.yaml")
    parser.add_argument("--real-data", type=Path, default=REAL)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()

    params = load_params(args.params)
    valid = real_inputs(args.real_data)
    cases = build_cases(valid)
    with served_process(pick_model(args.model), args.params) as (url, process):
        server = psutil.Process(process.pid)
        idle_mb = server.memory_info().rss / 2**20
        upload_mb = 2 * params.serve.max_upload_mb
        bound_mb = (idle_mb + params.serve.concurrent_predictions * (DECODE_BOUND_MB + upload_mb)
                    + args.clients * WAITING_MB)
        results = run(url, cases, args.clients, args.seconds, server)
    report(results, args.seconds, idle_mb, bound_mb, params.serve.concurrent_predictions)


def build_cases(valid: dict[str, tuple[str, bytes]]) -> list[Case]:
    """A valid patient between every two hostile ones, so both run all the time."""
    def patient(**files: tuple[str, bytes]) -> dict[str, tuple[str, bytes]]:
        return {**valid, **files}

    hostile: list[Case] = [
        ("image: a billion pixels in 60 bytes", patient(ecg_image=("a.png",
                                                                    _png_header(40_000, 25_000))),
         {}),
        ("image: at the pixel budget, RGBA (decoded)", patient(ecg_image=("a.png",
                                                                           _budget_png())), {}),
        ("image: one pixel", patient(ecg_image=("a.png", _png(1, 1))), {}),
        ("image: text", patient(ecg_image=("a.png", b"not an image")), {}),
        ("recording: 192 kHz, 40 s (decoded)", patient(pcg_audio=("a.wav", _fast_wav())), {}),
        ("recording: 1 Hz sample rate", patient(pcg_audio=("a.wav", _wav_header(1, 600))), {}),
        ("recording: NaN samples", patient(pcg_audio=("a.wav", _nan_wav())), {}),
        ("recording: truncated", patient(pcg_audio=("a.wav", _wav_header(2000, 2**30,
                                                                         bytes(9000)))), {}),
        ("recording: one sample", patient(pcg_audio=("a.wav", _wav_header(2000, 1))), {}),
        ("clinical: 1e309", valid, {"chol": "1e309"}),
        ("clinical: 1 MB value", valid, {"age": "9" * 2**20}),
        ("clinical: 25 unknown fields", valid, {f"x{i}": "1" for i in range(25)}),
        ("empty recording", patient(pcg_audio=("a.wav", b"")), {}),
    ]
    cases: list[Case] = []
    for case in hostile:
        cases += [("valid", valid, {}), case]
    return cases


def run(url: str, cases: list[Case], clients: int, seconds: float,
        server: psutil.Process) -> dict[str, object]:
    deadline = time.monotonic() + seconds
    answers: list[tuple[str, int, float]] = []
    health: list[tuple[int, float]] = []
    peak = [server.memory_info().rss]
    lock = threading.Lock()

    def client(index: int) -> None:
        with httpx2.Client(timeout=120) as http:
            turn = index
            while time.monotonic() < deadline:
                name, files, data = cases[turn % len(cases)]
                turn += 1
                started = time.perf_counter()
                try:
                    status = http.post(f"{url}/predict", files=files, data=data).status_code
                except httpx2.TransportError:
                    status = 599  # no answer at all: counted as a server failure
                with lock:
                    answers.append((name, status, time.perf_counter() - started))

    def poll_health() -> None:
        with httpx2.Client(timeout=10) as http:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                try:
                    status = http.get(f"{url}/health").status_code
                except httpx2.TransportError:
                    status = 599
                health.append((status, time.perf_counter() - started))
                time.sleep(0.5)

    def sample_memory() -> None:
        while time.monotonic() < deadline + 1:
            peak[0] = max(peak[0], server.memory_info().rss)
            time.sleep(0.05)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    threads += [threading.Thread(target=poll_health), threading.Thread(target=sample_memory)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"answers": answers, "health": health, "peak_mb": peak[0] / 2**20}


def report(results: dict, seconds: float, idle_mb: float, bound_mb: float, slots: int) -> None:
    answers = results["answers"]
    latencies = np.array([latency for _, _, latency in answers]) * 1000
    valid = np.array([latency for name, _, latency in answers if name == "valid"]) * 1000
    statuses = Counter(status for _, status, _ in answers)
    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    health_ok = sum(1 for status, _ in results["health"] if status == 200)
    health_worst = max((latency for _, latency in results["health"]), default=0) * 1000
    print(f"{len(answers)} requests in {seconds:.0f} s: {len(answers) / seconds:.1f} requests/s")
    for label, values in (("all", latencies), ("valid", valid)):
        p50, p95, p99 = np.percentile(values, [50, 95, 99])
        print(f"latency {label:<5} p50 {p50:7.0f} ms  p95 {p95:7.0f} ms  p99 {p99:7.0f} ms  "
              f"max {values.max():7.0f} ms")
    print("answers: " + ", ".join(f"{status}: {n}" for status, n in sorted(statuses.items())))
    by_case = Counter((name, status) for name, status, _ in answers)
    for (name, status), n in sorted(by_case.items()):
        print(f"  {status}  x{n:<4} {name}")
    print(f"5xx: {server_errors}")
    print(f"/health: {health_ok} of {len(results['health'])} answered 200, worst "
          f"{health_worst:.0f} ms")
    print(f"server memory: idle {idle_mb:.0f} MB, peak {results['peak_mb']:.0f} MB, bound "
          f"{bound_mb:.0f} MB (idle + {slots} decoding slots x ({DECODE_BOUND_MB} MB + uploads) "
          f"+ waiting requests)")
    if server_errors or health_ok < len(results["health"]) or results["peak_mb"] > bound_mb:
        sys.exit("FAILED: a 5xx, a failed /health or memory over the bound")


def _png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buffer, format="PNG")
    return buffer.getvalue()


def _budget_png() -> bytes:
    """RGBA at exactly the pixel budget: the most expensive image the contract lets through."""
    width = 4_000
    image = Image.new("RGBA", (width, MAX_PIXELS // width), (255, 255, 255, 0))
    ImageDraw.Draw(image).line((0, 0, width, image.height), fill=(0, 0, 0, 255), width=9)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _fast_wav() -> bytes:
    noise = np.random.default_rng(0).uniform(-0.5, 0.5, 40 * MAX_SAMPLE_RATE).astype(np.float32)
    buffer = io.BytesIO()
    sf.write(buffer, noise, MAX_SAMPLE_RATE, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def _nan_wav() -> bytes:
    signal = np.zeros(2000 * 8, dtype=np.float32)
    signal[100] = np.nan
    buffer = io.BytesIO()
    sf.write(buffer, signal, 2000, format="WAV", subtype="FLOAT")
    return buffer.getvalue()


def _wav_header(rate: int, frames: int, data: bytes | None = None) -> bytes:
    size = frames * 2
    body = bytes(size) if data is None else data
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    return (b"RIFF" + struct.pack("<I", 36 + size) + b"WAVE" + b"fmt " + struct.pack("<I", 16)
            + fmt + b"data" + struct.pack("<I", size) + body)


if __name__ == "__main__":
    main()
