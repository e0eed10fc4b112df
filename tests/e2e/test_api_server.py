"""The API in a real uvicorn process on 127.0.0.1, started the way a user starts it."""

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest

pytestmark = pytest.mark.slow  # end to end: runs the real processes

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tiny_trained, tmp_path):
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("w") as out:  # the child keeps its own copy of the file descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "cardiofusion.cli", "serve",
             "--params", str(REPO / "params.yaml"),
             "--model", "models/best_multimodal_model_retrained.pth", "--port", str(port)],
            cwd=tiny_trained, stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx2.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx2.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            pytest.fail(f"server did not start:\n{log.read_text()}")
        time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(timeout=20)


def test_a_real_server_predicts_refuses_bad_input_and_keeps_serving(server, tiny_params):
    root = tiny_params.demo.out_dir
    ecg = next((root / "ecg").glob("*.png"))
    files = {"ecg_image": (ecg.name, ecg.read_bytes()),
             "pcg_audio": ("p.wav", (root / "pcg" / f"{ecg.stem}.wav").read_bytes())}
    answer = httpx2.post(f"{server}/predict", files=files, data={"age": "58"}, timeout=30)
    assert answer.status_code == 200 and 0 <= answer.json()["probability"] <= 1
    swapped = {"ecg_image": files["pcg_audio"], "pcg_audio": files["pcg_audio"]}
    refused = httpx2.post(f"{server}/predict", files=swapped, timeout=30)
    assert refused.status_code == 415 and refused.json()["detail"][0]["field"] == "ecg_image"
    assert httpx2.get(f"{server}/health", timeout=5).json()["status"] == "ok"
