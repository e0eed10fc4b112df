import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from cardiofusion.config import Params
from cardiofusion.data.split import grouped_stratified_split
from cardiofusion.data.validate import run_validate
from cardiofusion.errors import CardiofusionError


@pytest.fixture
def messy_csv(tiny_demo, tmp_path, monkeypatch):
    """The tiny demo CSV with one problem per row for rows 0-4 (CSV lines 2-6)."""
    monkeypatch.chdir(tmp_path)
    table = pd.read_csv(tiny_demo, dtype=str, keep_default_na=False)
    table.loc[0, "output"] = "0.961506"
    table.loc[1, "ecg_path"] = "ecg/missing.png"
    (tiny_demo.parent / "not_an_image.jpg").write_text("this is text")
    table.loc[2, "ecg_path"] = str(tiny_demo.parent / "not_an_image.jpg")
    table.loc[3, "chol"] = "high"
    table.loc[4, "patient_id"] = table.loc[5, "patient_id"]
    path = tmp_path / "messy.csv"
    table.to_csv(path, index=False)
    return path


def _params(base: Params, csv, **validate) -> Params:
    data = base.data.model_copy(update={"csv": csv})
    rules = base.validate_.model_copy(update={"max_drop_fraction": 0.5, **validate})
    return base.model_copy(update={"data": data, "validate_": rules})


def test_every_problem_is_reported_by_line_and_dropped(tiny_params, messy_csv, capsys):
    manifest = run_validate(_params(tiny_params, messy_csv))
    report = json.loads(Path("reports/validation.json").read_text())
    assert report["rows_in"] == 40
    assert report["rows_kept"] == 35
    assert report["problems_by_reason"] == {
        "label_not_integral": 1, "file_missing": 1, "image_unreadable": 1,
        "clinical_not_numeric": 1, "duplicate_id": 1,
    }
    out = capsys.readouterr().out
    assert "line 2" in out and "0.961506 is not 0 or 1 (never rounded)" in out
    assert "line 3" in out and "missing.png: file not found" in out
    assert "line 5" in out and "value 'high' is not a number" in out
    assert set(manifest["line"]).isdisjoint({2, 3, 4, 5, 7})


def test_fail_policy_refuses_with_a_summary(tiny_params, messy_csv):
    with pytest.raises(CardiofusionError, match=r"on_error: fail\): 5 of 40 rows"):
        run_validate(_params(tiny_params, messy_csv, on_error="fail"))


def test_missing_column_names_the_param(tiny_params, tiny_demo, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    table = pd.read_csv(tiny_demo).rename(columns={"pcg_path": "audio"})
    table.to_csv(tmp_path / "renamed.csv", index=False)
    with pytest.raises(CardiofusionError, match=r"data\.pcg_column = 'pcg_path'"):
        run_validate(_params(tiny_params, tmp_path / "renamed.csv"))


def test_windows_paths_are_mapped_with_path_rewrite(tiny_params, tiny_demo, tmp_path,
                                                    monkeypatch):
    monkeypatch.chdir(tmp_path)
    table = pd.read_csv(tiny_demo)
    for column in ("ecg_path", "pcg_path"):
        table[column] = "C:/Users/msi/Desktop\\" + table[column].str.replace("/", "\\")
    table.to_csv(tmp_path / "windows.csv", index=False)
    params = _params(tiny_params, tmp_path / "windows.csv")
    data = params.data.model_copy(update={"path_rewrite": {"C:/Users/msi/Desktop": str(
        tiny_demo.parent)}})
    manifest = run_validate(params.model_copy(update={"data": data}))
    assert len(manifest) == 40


def test_split_keeps_groups_together_and_every_class_in_every_split(tiny_params):
    groups = pd.Series([f"G{i // 3}" for i in range(300)])
    labels = pd.Series([int(i // 3 % 5 != 0) for i in range(300)])
    split = grouped_stratified_split(labels, groups, tiny_params.data.split, seed=3)
    assert (split.groupby(groups).nunique() == 1).all()
    for name in ("train", "val", "test"):
        assert set(labels[split == name]) == {0, 1}
    assert abs((split == "train").mean() - 0.7) < 0.05


def test_split_refuses_a_class_too_small_for_three_splits(tiny_params):
    labels = pd.Series([0, 0, 1, 1, 1, 1, 1, 1])
    with pytest.raises(CardiofusionError, match="class 0 has only 2 independent groups"):
        grouped_stratified_split(labels, labels.index.to_series().astype(str),
                                 tiny_params.data.split, seed=0)


def test_copied_demo_dataset_validates_cleanly(tiny_params, tiny_demo, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(tiny_demo.parent, tmp_path / "copy")
    data = tiny_params.data.model_copy(update={"csv": tmp_path / "copy/metadata.csv",
                                               "root": tmp_path / "copy"})
    manifest = run_validate(tiny_params.model_copy(update={"data": data}))
    assert len(manifest) == 40 and set(manifest["split"]) == {"train", "val", "test"}
