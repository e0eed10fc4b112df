"""The HTTP API through FastAPI's TestClient, on the tiny trained model and the tiny demo files."""

import io
import struct
import zlib

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from fastapi.testclient import TestClient
from PIL import Image

from cardiofusion.config import MODALITIES
from cardiofusion.model.checkpoint import load_payload, model_id, save_payload
from cardiofusion.serve import create_app


@pytest.fixture(scope="module")
def patients(tiny_params, tiny_demo):
    """Demo patients: ECG bytes, PCG bytes and raw clinical values as form text."""
    root = tiny_params.demo.out_dir
    rows = pd.read_csv(tiny_demo).head(3)
    clinical = [c for c in rows.columns if c not in ("patient_id", "ecg_path", "pcg_path",
                                                     "output")]
    return [
        {"ecg": (root / row.ecg_path).read_bytes(), "pcg": (root / row.pcg_path).read_bytes(),
         "ecg_name": row.ecg_path, "pcg_name": row.pcg_path,
         "clinical": {c: f"{getattr(row, c):g}" for c in clinical if pd.notna(getattr(row, c))}}
        for row in rows.itertuples()
    ]


def post(client, path, patient, ecg=None, pcg=None, data=None, headers=None):
    files = {"ecg_image": ecg or (patient["ecg_name"], patient["ecg"]),
             "pcg_audio": pcg or (patient["pcg_name"], patient["pcg"])}
    return client.post(path, files={k: v for k, v in files.items() if v != "omit"},
                       data=patient["clinical"] if data is None else data, headers=headers)


def test_health_names_the_served_model(client, model_path):
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["model_loaded"] is True and body["device"] == "cpu"
    assert body["model_id"] == model_id(model_path)
    assert body["test_metrics"] is None  # the retrained file was never promoted
    assert body["temperature"] == 1.0 and 0 <= body["threshold"] <= 1


def test_risk_levels_are_five_tiers_covering_zero_to_one(client):
    tiers = client.get("/risk-levels").json()
    assert [t["name"] for t in tiers] == ["very low", "low", "moderate", "high", "very high"]
    assert [t["low"] for t in tiers] == [0.0, 0.2, 0.4, 0.6, 0.8] and tiers[-1]["high"] == 1.0
    assert all(t["recommendation"] for t in tiers)
    # the retrained file was never evaluated and promoted: no tier claims an observed rate
    assert all(t["observed_rate"] is None and "no measured abnormal rate" in t["recommendation"]
               for t in tiers)


def test_prediction_class_and_risk_follow_the_probability(client, patients):
    body = post(client, "/predict", patients[0], data={"age": "61", "cp": "2"}).json()
    p = body["probability"]
    assert 0 <= p <= 1
    assert body["class"] == ("abnormal" if p >= body["threshold"] else "healthy")
    assert body["risk_level"]["low"] <= p < body["risk_level"]["high"]
    assert body["clinical_values"]["age"] == 61.0 and body["clinical_values"]["cp"] == "2"
    assert "age" not in body["imputed"] and "chol" in body["imputed"]
    assert body["modalities_used"] == ["ecg", "pcg", "clinical"]
    assert body["modalities_evaluation"] is None  # the retrained file was never promoted


@pytest.mark.parametrize(("left_out", "used"), [
    ({"pcg": "omit"}, ["ecg", "clinical"]),
    ({"ecg": "omit"}, ["pcg", "clinical"]),
    ({"data": {}}, ["ecg", "pcg"]),  # every clinical value empty: no clinical modality
    ({"ecg": "omit", "pcg": "omit"}, ["clinical"]),
    ({"pcg": ("", b"")}, ["ecg", "clinical"]),  # a browser's empty file input
])
def test_a_patient_without_a_modality_still_gets_an_answer(client, patients, left_out, used):
    response = post(client, "/predict/detailed", patients[0], **left_out)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["modalities_used"] == used
    assert sorted(body["contributions"]["modalities"]) == sorted(used)
    assert sorted(body["confidence"]["unimodal_probabilities"]) == sorted(used)
    assert bool(body["clinical_influence"]) == ("clinical" in used)
    full = post(client, "/predict", patients[0]).json()["probability"]
    assert body["probability"] != full  # the missing input changed the answer, not ignored


def test_a_request_with_no_modality_at_all_is_a_422_saying_what_is_needed(client, patients):
    response = post(client, "/predict", patients[0], ecg="omit", pcg="omit", data={})
    assert response.status_code == 422
    problem = response.json()["detail"][0]["problem"]
    assert "at least one of" in problem and "ecg_image" in problem and "pcg_audio" in problem


def test_missing_value_words_are_unknown_values(client, patients):
    words = {"chol": "NaN", "trtbps": "NA", "thalachh": "?", "age": "n/a"}
    body = post(client, "/predict", patients[0], data={**patients[0]["clinical"], **words})
    assert body.status_code == 200, body.text
    assert set(words) <= set(body.json()["imputed"])


@pytest.mark.parametrize("swapped", ["ecg", "pcg"])
def test_another_recording_for_the_same_patient_changes_the_probability(client, patients,
                                                                        swapped):
    same, other = patients[0], patients[1]
    replacement = {swapped: (other[f"{swapped}_name"], other[swapped])}
    first = post(client, "/predict", same).json()["probability"]
    second = post(client, "/predict", same, **replacement).json()["probability"]
    assert abs(first - second) > 1e-6


def test_real_scans_and_recordings_give_different_probabilities(client, patients, real_data):
    scans = sorted((real_data / "ecg").glob("*.jpg"))[:2]
    recordings = sorted((real_data / "pcg").glob("*.wav"))[:2]
    probabilities = {
        post(client, "/predict", patients[0], ecg=(scan.name, scan.read_bytes()),
             pcg=(recording.name, recording.read_bytes())).json()["probability"]
        for scan in scans for recording in recordings
    }
    assert len(probabilities) == 4


def test_detailed_explains_this_patient(client, patients):
    body = post(client, "/predict/detailed", patients[2]).json()
    plain = post(client, "/predict", patients[2]).json()
    assert body["probability"] == pytest.approx(plain["probability"])
    contributions = body["contributions"]
    phis = [contributions["modalities"][m]["shapley"] for m in MODALITIES]
    # exact Shapley values add up to the distance from the average training patient
    assert sum(phis) == pytest.approx(body["probability"] - contributions["baseline_probability"],
                                      abs=1e-5)
    assert sum(contributions["modalities"][m]["share"] for m in MODALITIES) == pytest.approx(100)
    influence = body["clinical_influence"]
    assert 0 < len(influence) <= 5
    effects = [abs(item["effect"]) for item in influence]
    assert effects == sorted(effects, reverse=True)
    confidence = body["confidence"]
    assert confidence["distance_to_threshold"] == pytest.approx(
        body["probability"] - body["threshold"])
    assert sorted(confidence["agreeing"] + confidence["disagreeing"]) == sorted(MODALITIES)
    assert f"{body['probability']:.2f}" in confidence["note"]


def _wav(seconds: float, rate: int = 2000) -> bytes:
    buffer = io.BytesIO()
    t = np.arange(int(seconds * rate)) / rate
    sf.write(buffer, 0.3 * np.sin(2 * np.pi * 50 * t), rate, format="WAV")
    return buffer.getvalue()


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), "white").save(buffer, format="PNG")
    return buffer.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG announcing a huge image: refused from its header, before any decoding."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


BAD_INPUTS = {
    "recording sent as the ECG": ({"ecg": ("x.wav", _wav(3))}, 415, "ecg_image"),
    "image sent as the recording": ({"pcg": ("x.png", _png())}, 415, "pcg_audio"),
    "text file as the recording": ({"pcg": ("notes.txt", b"not audio")}, 415, "pcg_audio"),
    "truncated image": ({"ecg": ("x.png", _png()[:60])}, 415, "ecg_image"),
    "image too large to decode": ({"ecg": ("x.png", _png_header_only(30000, 30000))}, 413,
                                  "ecg_image"),
    "empty file": ({"pcg": ("x.wav", b"")}, 422, "pcg_audio"),
    "recording without samples": ({"pcg": ("x.wav", _wav(0))}, 422, "pcg_audio"),
    "file part without a file name": ({"ecg": ("", _png())}, 422, "ecg_image"),
    "unknown field": ({"data": {"agee": "50"}}, 422, "agee"),
    "non-numeric value": ({"data": {"age": "fifty"}}, 422, "age"),
    "not a finite number": ({"data": {"chol": "inf"}}, 422, "chol"),
    "value far outside training": ({"data": {"age": "640"}}, 422, "age"),
    "negative value of a non-negative column": ({"data": {"chol": "-5"}}, 422, "chol"),
    "category never seen": ({"data": {"cp": "7"}}, 422, "cp"),
    "number near a category": ({"data": {"cp": "2.0000000000000004"}}, 422, "cp"),
}


@pytest.mark.parametrize("case", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_is_a_4xx_naming_the_field_and_the_server_keeps_serving(client, patients,
                                                                          case):
    changes, status, field = case
    response = post(client, "/predict", patients[0], **changes)
    assert response.status_code == status, response.text
    problems = response.json()["detail"]
    assert field in [p["field"] for p in problems], problems
    assert all(p["problem"] for p in problems)
    assert post(client, "/predict", patients[0]).status_code == 200


def test_unseen_category_lists_the_allowed_values(client, patients):
    problem = post(client, "/predict", patients[0], data={"cp": "7"}).json()["detail"][0]
    assert problem["field"] == "cp" and "allowed: 0, 1, 2, 3" in problem["problem"]


@pytest.mark.parametrize("spelling", ["2", "2.0", " 2 ", "2e0"])
def test_a_numeric_category_may_be_written_as_any_spelling_of_its_number(client, patients,
                                                                         spelling):
    response = post(client, "/predict", patients[0], data={"cp": spelling})
    assert response.status_code == 200, response.text


def test_every_bad_field_is_reported_at_once(client, patients):
    response = post(client, "/predict", patients[0], data={"age": "x", "cp": "9", "zz": "1"})
    assert {p["field"] for p in response.json()["detail"]} == {"age", "cp", "zz"}


def test_uploads_over_the_limit_are_refused_with_413(model_path, tiny_params, patients):
    limit = tiny_params.serve.model_copy(update={"max_upload_mb": 0.01})  # 10 KiB per file
    params = tiny_params.model_copy(update={"serve": limit})
    with TestClient(create_app(model_path, params)) as small:
        one_file = post(small, "/predict", patients[0], ecg=("x.png", _png()),  # 1 kB
                        pcg=("x.wav", _wav(10)))  # 40 kB
        assert one_file.status_code == 413
        assert one_file.json()["detail"][0]["field"] == "pcg_audio"
        whole_body = post(small, "/predict", patients[0], ecg=("x.png", b"\0" * 2_000_000))
        assert whole_body.status_code == 413
        assert "max_upload_mb" in whole_body.json()["detail"][0]["problem"]
        assert small.get("/health").status_code == 200


def test_api_key_guards_everything_but_the_page_health_and_docs(model_path, tiny_params,
                                                                patients, monkeypatch):
    monkeypatch.setenv(tiny_params.serve.api_key_env, "s3cret")
    with TestClient(create_app(model_path, tiny_params)) as guarded:
        for path in ("/", "/health", "/docs", "/openapi.json"):
            assert guarded.get(path).status_code == 200, path
        assert guarded.get("/risk-levels").status_code == 401
        missing = post(guarded, "/predict", patients[0])
        assert missing.status_code == 401 and missing.json()["detail"][0]["field"] == "X-API-Key"
        assert post(guarded, "/predict", patients[0],
                    headers={"X-API-Key": "wrong"}).status_code == 401
        assert post(guarded, "/predict/detailed", patients[0],
                    headers={"X-API-Key": "s3cret"}).status_code == 200
        assert "required" in guarded.get("/").text


def test_an_internal_error_is_a_json_500_and_the_next_request_is_served(client, patients,
                                                                        monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("cardiofusion.serve.predictor.featurize_patient", broken)
    response = post(client, "/predict", patients[0])
    assert response.status_code == 500
    assert "RuntimeError" in response.json()["detail"][0]["problem"]
    monkeypatch.undo()
    assert post(client, "/predict", patients[0]).status_code == 200


def test_page_and_docs_offer_every_clinical_field(client, patients):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/predict"]["post"]["requestBody"]["content"]["multipart/form-data"]
    ref = body["schema"]["$ref"].rsplit("/", 1)[-1]
    documented = set(schema["components"]["schemas"][ref]["properties"])
    for field in ["ecg_image", "pcg_audio", *patients[0]["clinical"]]:
        assert f'name="{field}"' in page.text
        assert field in documented
    assert client.get("/docs").status_code == 200



def test_a_model_saved_without_training_ranges_accepts_any_finite_value(model_path,
                                                                         tiny_params, patients,
                                                                         tmp_path):
    payload = load_payload(model_path)
    del payload["feature_spec"]["clinical"]["ranges"]
    save_payload(tmp_path / "old.pth", payload)
    with TestClient(create_app(tmp_path / "old.pth", tiny_params)) as old:
        assert post(old, "/predict", patients[0], data={"age": "640"}).status_code == 200
        assert post(old, "/predict", patients[0], data={"age": "inf"}).status_code == 422
