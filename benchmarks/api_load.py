"""Latency and throughput of /predict and /predict/detailed on 127.0.0.1, with real-size inputs.

Starts `cardiofusion serve` on a free port (or uses --url), then sends a bounded number of
requests per endpoint: a 10 s excerpt of a real PhysioNet recording and a real ECG scan resized
to 940 x 540 (JPEG), clinical fields left empty (imputed; encoding costs the same either way).
Prints p50/p95 latency and requests/s per endpoint and client concurrency.

    python benchmarks/api_load.py [--model PATH] [--requests 50] [--concurrency 1 2]
"""

from __future__ import annotations

import argparse
import io
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx2
import numpy as np
import soundfile as sf
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "data" / "real"
ENDPOINTS = ("/predict", "/predict/detailed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="model to serve (default: the promoted one, "
                        "else models/best_multimodal_model_retrained.pth)")
    parser.add_argument("--url", help="benchmark a server already running there instead")
    parser.add_argument("--params", type=Path, default=REPO / "params.yaml")
    parser.add_argument("--real-data", type=Path, default=REAL)
    parser.add_argument("--requests", type=int, default=50, help="per endpoint and concurrency")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()

    files = real_inputs(args.real_data)
    print(f"inputs: {len(files['pcg_audio'][1]) / 1e3:.0f} kB WAV (10 s), "
          f"{len(files['ecg_image'][1]) / 1e3:.0f} kB JPEG (940 x 540)")
    if args.url:
        report(args.url.rstrip("/"), files, args.requests, args.concurrency)
        return
    with served(pick_model(args.model), args.params) as url:
        report(url, files, args.requests, args.concurrency)


def real_inputs(real: Path) -> dict[str, tuple[str, bytes]]:
    recording = next(p for p in sorted((real / "pcg").glob("*.wav")) if sf.info(p).duration >= 10)
    signal, rate = sf.read(recording, dtype="int16")
    wav = io.BytesIO()
    sf.write(wav, signal[: 10 * rate], rate, format="WAV", subtype="PCM_16")
    scan = sorted((real / "ecg").glob("*.jpg"))[0]
    jpeg = io.BytesIO()
    Image.open(scan).convert("RGB").resize((940, 540)).save(jpeg, format="JPEG", quality=90)
    return {"ecg_image": (scan.name, jpeg.getvalue()),
            "pcg_audio": (recording.name, wav.getvalue())}


def pick_model(model: Path | None) -> Path:
    if model is not None:
        return model
    promoted = Path("models/best_multimodal_model.pth")
    return promoted if promoted.is_file() else Path("models/best_multimodal_model_retrained.pth")


@contextmanager
def served(model: Path, params: Path) -> Iterator[str]:
    """`cardiofusion serve` in a child process for the duration of a with-block."""
    with served_process(model, params) as (url, _):
        yield url


@contextmanager
def served_process(model: Path, params: Path, log: IO[bytes] | None = None
                   ) -> Iterator[tuple[str, subprocess.Popen]]:
    """The same, also giving the server process (its memory is measured by load_test.py);
    its output goes to `log` when given (stalled_uploads.py counts its lines)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "cardiofusion.cli", "serve", "--params", str(params),
               "--model", str(model), "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as scratch:
        out = log or scratch
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_until_up(url, process, out)
            yield url, process
        finally:
            process.terminate()
            process.wait(timeout=30)


def wait_until_up(url: str, process: subprocess.Popen, log: IO[bytes]) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            health = httpx2.get(f"{url}/health", timeout=2)
            if health.status_code == 200:
                body = health.json()
                print(f"server: model {body['model_id']} on {body['device']}, "
                      f"pid {process.pid}")
                return
        except httpx2.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            log.seek(0)
            sys.exit("server did not start:\n" + log.read().decode(errors="replace"))
        time.sleep(0.2)


def report(url: str, files: dict[str, tuple[str, bytes]], requests: int,
           concurrencies: list[int]) -> None:
    print(f"{'endpoint':<18} {'clients':>7} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>7}")
    for endpoint in ENDPOINTS:
        for _ in range(5):  # warm-up, not counted
            send(url + endpoint, files)
        for clients in concurrencies:
            started = time.perf_counter()
            with ThreadPoolExecutor(clients) as pool:
                latencies = list(pool.map(send, [url + endpoint] * requests,
                                          [files] * requests))
            elapsed = time.perf_counter() - started
            p50, p95 = np.percentile(latencies, [50, 95]) * 1000
            print(f"{endpoint:<18} {clients:>7} {p50:>8.1f} {p95:>8.1f} "
                  f"{requests / elapsed:>7.1f}")


def send(url: str, files: dict[str, tuple[str, bytes]]) -> float:
    """One request's latency in seconds; any answer but 200 stops the benchmark."""
    started = time.perf_counter()
    response = httpx2.post(url, files=files, timeout=60)
    latency = time.perf_counter() - started
    if response.status_code != 200:
        sys.exit(f"{url}: HTTP {response.status_code}: {response.text}")
    return latency


if __name__ == "__main__":
    main()
