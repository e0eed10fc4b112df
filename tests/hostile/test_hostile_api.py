"""The API against an attacker and a careless user: every refusal is a 4xx naming the field, a
body never echoes more than a short prefix of what was sent, and the server keeps serving."""

import io

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from hostile_inputs import png, png_header, wav, wav_header

from cardiofusion.errors import CardiofusionError
from cardiofusion.model.checkpoint import load_payload, save_payload
from cardiofusion.serve import create_app


@pytest.fixture(scope="module")
def patient(tiny_params, tiny_demo):
    row = pd.read_csv(tiny_demo).iloc[0]
    root = tiny_params.demo.out_dir
    return {"ecg_image": ("scan.png", (root / row.ecg_path).read_bytes()),
            "pcg_audio": ("heart.wav", (root / row.pcg_path).read_bytes())}


def _post(client, patient, files=None, data=None, path="/predict"):
    """`files` replaces uploads by name; a list of (name, part) pairs sends them as given."""
    parts = files if isinstance(files, list) else list({**patient, **(files or {})}.items())
    return client.post(path, files=parts, data=data or {})


def _problems(response) -> dict:
    return {p["field"]: p["problem"] for p in response.json()["detail"]}


@pytest.mark.parametrize("value", ["inf", "-inf", "1e309", "-1e309", " Infinity ", "+inf"])
def test_non_finite_clinical_numbers_are_a_422_naming_the_field(client, patient, value):
    response = _post(client, patient, data={"chol": value})
    assert response.status_code == 422, response.text
    assert "not a finite number" in _problems(response)["chol"]


def test_a_model_without_training_ranges_refuses_absurd_finite_values(model_path, tiny_params,
                                                                      patient, tmp_path):
    payload = load_payload(model_path)
    del payload["feature_spec"]["clinical"]["ranges"]
    save_payload(tmp_path / "old.pth", payload)
    with TestClient(create_app(tmp_path / "old.pth", tiny_params),
                    raise_server_exceptions=False) as old:
        for value in ("1e308", "-1.7e308", "1e300"):
            response = _post(old, patient, data={"chol": value})
            assert response.status_code == 422, response.text
            assert "standard deviations" in _problems(response)["chol"]
        assert _post(old, patient, data={"chol": "1e309"}).status_code == 422


HOSTILE_FILES = {
    "a one-pixel image": ({"ecg_image": ("a.png", png(1, 1))}, 422, "ecg_image"),
    "an image announcing a billion pixels": ({"ecg_image": ("a.png", png_header(40_000, 25_000))},
                                             413, "ecg_image"),
    "an image just over the budget": ({"ecg_image": ("a.png", png_header(5_000, 2_600))}, 413,
                                      "ecg_image"),
    "PostScript as the scan": ({"ecg_image": ("a.eps", b"%!PS-Adobe-3.0 EPSF-3.0\n")}, 415,
                               "ecg_image"),
    "a one-sample recording": ({"pcg_audio": ("a.wav", wav_header(2000, 1))}, 422, "pcg_audio"),
    "a truncated recording": ({"pcg_audio": ("a.wav", wav(5.0)[:6000])}, 422, "pcg_audio"),
    "NaN samples": ({"pcg_audio": ("a.wav", wav(5.0, subtype="FLOAT", fill=np.nan))}, 422,
                    "pcg_audio"),
    "infinite samples": ({"pcg_audio": ("a.wav", wav(5.0, subtype="FLOAT", fill=-np.inf))}, 422,
                         "pcg_audio"),
    "a 1 Hz sample rate": ({"pcg_audio": ("a.wav", wav_header(1, 600))}, 422, "pcg_audio"),
    "a 10 MHz sample rate": ({"pcg_audio": ("a.wav", wav_header(10_000_000, 30_000_000,
                                                                data=bytes(8000)))},
                             422, "pcg_audio"),
    "a header claiming 4 GB": ({"pcg_audio": ("a.wav", wav_header(2000, 2**30,
                                                                  data=bytes(9000)))},
                               422, "pcg_audio"),
    "the recording twice": ([("pcg_audio", ("a.wav", wav(5.0)))], 422, "pcg_audio"),
}


@pytest.mark.parametrize("case", HOSTILE_FILES.values(), ids=HOSTILE_FILES.keys())
def test_hostile_files_are_a_4xx_on_their_field(client, patient, case):
    files, status, field = case
    if isinstance(files, list):  # sent in addition to the patient's own
        files = list(patient.items()) + files
    response = _post(client, patient, files=files)
    assert response.status_code == status, response.text
    assert field in _problems(response)
    assert client.get("/health").status_code == 200


def test_a_repeated_clinical_field_is_a_422_not_last_one_wins(client, patient):
    parts = list(patient.items()) + [("age", (None, "40")), ("age", (None, "80"))]
    response = _post(client, patient, files=parts)
    assert response.status_code == 422
    assert "sent 2 times" in _problems(response)["age"]


@pytest.mark.parametrize("size", [2_000, 3_000_000])
def test_an_oversized_field_is_a_413_naming_it(client, patient, size):
    response = _post(client, patient, data={"age": "1" * size})
    assert response.status_code == 413, response.text
    assert "longer than 1024 bytes" in _problems(response)["age"]
    assert len(response.content) < 1_000


def test_error_bodies_echo_only_a_short_prefix(client, patient):
    value = "x" * 900 + "SECRET"
    response = _post(client, patient, data={"age": value, "cp": "9" * 900})
    assert response.status_code == 422
    assert "SECRET" not in response.text and len(response.content) < 2_000
    assert "(906 characters)" in _problems(response)["age"]


def test_long_file_and_field_names_are_cut(client, patient):
    parts = [("ecg_image", ("n" * 3_000 + ".png", b"")), ("pcg_audio", patient["pcg_audio"]),
             ("f" * 3_000, (None, "1"))]
    response = _post(client, patient, files=parts)
    assert response.status_code == 422 and len(response.content) < 2_000
    assert "f" * 61 + "..." in _problems(response)
    response = _post(client, patient, files=parts[:2])
    assert response.status_code == 422 and len(response.content) < 1_000
    assert "(3004 characters) is empty" in _problems(response)["ecg_image"]


def test_a_header_too_large_for_the_parser_is_a_400(client, patient):
    parts = [("ecg_image", ("n" * 100_000 + ".png", png())), ("pcg_audio", patient["pcg_audio"])]
    response = _post(client, patient, files=parts)
    assert response.status_code == 400 and len(response.content) < 1_000


def test_many_unknown_fields_give_a_bounded_list(client, patient):
    response = _post(client, patient, data={f"field{i}": "1" for i in range(25)})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert len(detail) == 21 and detail[-1]["problem"] == "and 5 more problems"


def test_a_flood_of_fields_is_refused_before_it_is_read(client, patient):
    response = _post(client, patient, data={f"field{i}": "1" for i in range(500)})
    assert response.status_code == 413
    assert _problems(response)["request body"].startswith("Too many fields")


@pytest.mark.parametrize(("body", "content_type"), [
    (b'{"age": 50}', "application/json"),
    (b"--xyz\r\nnonsense", "multipart/form-data; boundary=xyz"),
    (b"garbage", "multipart/form-data"),
    (b"\xff" * 100, "application/octet-stream"),
])
def test_malformed_bodies_are_a_4xx(client, body, content_type):
    response = client.post("/predict", content=body, headers={"content-type": content_type})
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["detail"]


def test_health_and_predictions_still_answer_after_the_above(client, patient):
    assert client.get("/health").status_code == 200
    assert _post(client, patient).status_code == 200


@pytest.mark.parametrize("key", ["", "   "])
def test_an_empty_api_key_refuses_to_start_the_server(model_path, tiny_params, monkeypatch, key):
    monkeypatch.setenv(tiny_params.serve.api_key_env, key)
    with pytest.raises(CardiofusionError, match="set but empty"):
        create_app(model_path, tiny_params)


def test_the_cli_says_so_in_one_line(tiny_params, monkeypatch, capsys):
    from cardiofusion.cli import main

    monkeypatch.setenv(tiny_params.serve.api_key_env, "")
    assert main(["serve", "--model", "no-such-model.pth"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: CARDIOFUSION_API_KEY is set but empty") and "\n" not in err


def test_an_image_at_the_budget_is_not_refused_for_its_size(client, patient):
    """The limit refuses what is over it, not a large real scan: 12 MP decodes and predicts."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4032, 3024), "white").save(buffer, format="PNG")
    response = _post(client, patient, files={"ecg_image": ("phone.png", buffer.getvalue())})
    assert response.status_code == 200, response.text
