"""The app factory, one access-log line per request (never the uploaded content), /metrics."""

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cardiofusion.serve import create_app
from cardiofusion.serve.observability import ACCESS_LOG

REPO = Path(__file__).resolve().parents[3]
MODEL = "models/best_multimodal_model_retrained.pth"


@pytest.fixture(scope="module")
def client(tiny_trained, tiny_params):
    with TestClient(create_app(tiny_trained / MODEL, tiny_params)) as client:
        yield client


@pytest.fixture
def access_lines(caplog):
    ACCESS_LOG.addHandler(caplog.handler)  # the access logger does not propagate to root
    caplog.set_level(logging.INFO, logger=ACCESS_LOG.name)
    yield lambda: [r.getMessage() for r in caplog.records if r.name == ACCESS_LOG.name]
    ACCESS_LOG.removeHandler(caplog.handler)


def test_one_access_line_per_request_without_the_uploaded_content(client, tiny_params,
                                                                   access_lines):
    root = tiny_params.demo.out_dir
    ecg = next((root / "ecg").glob("*.png"))
    answer = client.post("/predict", data={"age": "61"}, headers={"X-Request-ID": "abc-123"},
                         files={"ecg_image": ("secret-name.png", ecg.read_bytes()),
                                "pcg_audio": ("p.wav", (root / "pcg" / f"{ecg.stem}.wav")
                                              .read_bytes())})
    assert answer.status_code == 200 and answer.headers["X-Request-ID"] == "abc-123"
    client.get("/health")
    lines = access_lines()
    assert len(lines) == 2
    assert lines[0].startswith("request_id=abc-123 method=POST route=/predict status=200 "
                               "latency_ms=")
    assert "route=/health status=200" in lines[1]
    assert not any("secret-name" in line for line in lines)
    # the age sent is not logged (only the POST line: /health's id is random hex, may hold "61")
    assert "61" not in lines[0].split("latency_ms")[0]


def test_a_refused_request_is_logged_with_its_status_and_a_fresh_id(client, access_lines):
    assert client.post("/predict", headers={"X-Request-ID": "bad id!"}).status_code == 422
    (line,) = access_lines()
    request_id = line.split()[0].removeprefix("request_id=")
    assert len(request_id) == 32 and "route=/predict status=422" in line


def test_metrics_endpoint_speaks_prometheus(client, tiny_trained, tiny_params):
    client.get("/health")
    text = client.get("/metrics").text
    assert 'http_requests_total{handler="/health",method="GET",status="2xx"}' in text
    assert "http_request_duration_seconds_bucket" in text and "process_cpu_seconds" in text
    with TestClient(create_app(tiny_trained / MODEL, tiny_params)) as other:
        other.get("/health")  # a second app in the same process counts on its own
        fresh = other.get("/metrics").text
    assert 'http_requests_total{handler="/health",method="GET",status="2xx"} 1.0' in fresh


def test_factory_without_arguments_reads_the_environment(tiny_trained, monkeypatch):
    from cardiofusion.serve.app import create_app as factory

    monkeypatch.chdir(tiny_trained)
    monkeypatch.setenv("CARDIOFUSION_PARAMS", str(REPO / "params.yaml"))
    monkeypatch.setenv("CARDIOFUSION_MODEL", MODEL)
    monkeypatch.setenv("CARDIOFUSION_SET", "serve.max_upload_mb=1\ndevice=cpu")
    with TestClient(factory()) as client:
        health = client.get("/health").json()
    assert health["model_path"] == MODEL and health["device"] == "cpu"


def test_page_labels_clinical_fields_with_names_units_and_the_column(client):
    page = client.get("/").text
    assert ('Resting blood pressure (mm Hg)</span> <code class="column">trtbps</code>'
            in page)
    assert '"thalachh": "Maximum heart rate achieved (beats/min)"' in page  # influence table
