"""Absent modalities and text categories against a careless or hostile user: a request that
leaves everything out, a category the model never saw written at length, a record upload of
too many or badly named files, and a CSV whose text cells are huge. Each is a clear refusal that
echoes only a short prefix."""

import pandas as pd
import pytest

from cardiofusion.data.validate import run_validate
from cardiofusion.paths import PipelinePaths


@pytest.fixture(scope="module")
def scan(tiny_params, tiny_demo):
    row = pd.read_csv(tiny_demo).iloc[0]
    return ("scan.png", (tiny_params.demo.out_dir / row.ecg_path).read_bytes())


def test_a_request_of_empty_parts_only_is_a_422_and_the_server_keeps_serving(client, scan):
    empty = {"ecg_image": ("", b""), "pcg_audio": ("", b"")}
    response = client.post("/predict", files=empty, data={"age": "", "chol": "NA"})
    assert response.status_code == 422
    assert "at least one of" in response.json()["detail"][0]["problem"]
    assert client.post("/predict", files={"ecg_image": scan}).status_code == 200


def test_a_long_unseen_category_is_refused_with_a_short_echo(client, scan):
    value = "Z" * 1000  # under the 1 KB form-field limit, far from any category
    response = client.post("/predict", files={"ecg_image": scan}, data={"cp": value})
    assert response.status_code == 422
    problem = response.json()["detail"][0]["problem"]
    assert "not a category seen in training" in problem and len(problem) < 300


def test_a_record_upload_to_an_image_model_is_refused_before_anything_is_written(client, scan):
    parts = [("ecg_record", (f"r{i}.dat", b"0" * 10)) for i in range(6)]
    response = client.post("/predict", files=parts)
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "ecg_record"
    assert "reads ECG images" in response.json()["detail"][0]["problem"]


def test_huge_text_cells_are_cut_in_every_message(tiny_params, tiny_demo, tmp_path, capsys):
    table = pd.read_csv(tiny_demo, dtype=str, keep_default_na=False)
    table["history"] = ["A" * 200_000 if i % 2 else "B" * 200_000 for i in range(len(table))]
    table.loc[3, "chol"] = "x" * 100_000  # a word in a column of numbers: a row problem
    table.to_csv(tmp_path / "huge.csv", index=False)
    params = tiny_params.model_copy(update={"data": tiny_params.data.model_copy(
        update={"csv": tmp_path / "huge.csv", "root": tiny_demo.parent})})
    run_validate(params, PipelinePaths(tmp_path / "out"))
    out = capsys.readouterr().out
    assert "clinical_not_numeric" in out
    assert len(out) < 20_000  # neither the 100,000-character value nor the text is echoed
