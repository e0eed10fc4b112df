"""Clinical tables as people export them: text categories, booleans, missing values written
`nan`, `NA` or `?`, numbers with spaces; and columns that give the label away by their values
or by when they are empty."""

import json

import numpy as np
import pandas as pd
import pytest

from cardiofusion.config import Params
from cardiofusion.data.validate import run_validate
from cardiofusion.features.featurize import run_featurize
from cardiofusion.paths import PipelinePaths

MISSING_WORDS = ["nan", "NaN", "NA", "N/A", "null", "None", "?", ""]


def _run(base: Params, tiny_demo, table: pd.DataFrame, tmp_path, **data) -> pd.DataFrame:
    csv = tmp_path / "edited.csv"
    table.to_csv(csv, index=False)
    params = base.model_copy(update={"data": base.data.model_copy(
        update={"csv": csv, "root": tiny_demo.parent, **data})})
    return run_validate(params, PipelinePaths(tmp_path / "out"))


def _report(tmp_path) -> dict:
    return json.loads((tmp_path / "out/reports/validation.json").read_text())


def _as_people_write_it(tiny_demo) -> pd.DataFrame:
    table = pd.read_csv(tiny_demo, dtype=str, keep_default_na=False)
    table["sex"] = np.where(table["sex"].astype(float) == 1, "Male", "Female")
    table["exng"] = np.where(table["exng"].astype(float) == 1, "True", "False")
    table["age_group"] = np.where(table["age"].astype(float) < 50, "Adult", "Senior")
    for row, word in enumerate(MISSING_WORDS):
        table.loc[row, "chol"] = word
    table.loc[10, "trtbps"] = f"  {table.loc[10, 'trtbps']} "
    return table


def test_text_booleans_and_missing_words_validate_with_no_row_dropped(
    tiny_params, tiny_demo, tmp_path, monkeypatch
):
    table = _as_people_write_it(tiny_demo)
    manifest = _run(tiny_params, tiny_demo, table, tmp_path)
    report = _report(tmp_path)
    assert report["rows_dropped"] == 0 and report["problems_by_reason"] == {}
    kinds = report["clinical_column_kinds"]
    assert kinds["sex"] == kinds["exng"] == kinds["age_group"] == "categorical"
    assert kinds["chol"] == kinds["trtbps"] == "numeric"
    assert report["missing_clinical_values"]["chol"] >= len(MISSING_WORDS)
    assert set(manifest["sex"]) == {"Male", "Female"}
    assert manifest.loc[manifest["line"] == 12, "trtbps"].notna().all()  # "  130 " is 130

    monkeypatch.chdir(tmp_path / "out")
    params = tiny_params.model_copy(update={"clinical": tiny_params.clinical.model_copy(
        update={"categorical": "auto"})})
    features = run_featurize(params, PipelinePaths(tmp_path / "out"))
    names = features.spec.clinical.feature_names
    assert {"sex=Female", "sex=Male", "exng=True", "age_group=Senior"} <= set(names)


def test_a_typo_in_a_column_of_numbers_is_a_row_problem_not_a_new_category(
    tiny_params, tiny_demo, tmp_path
):
    table = pd.read_csv(tiny_demo, dtype=str, keep_default_na=False)
    table.loc[4, "chol"] = "2o5"
    _run(tiny_params, tiny_demo, table, tmp_path)
    report = _report(tmp_path)
    assert report["clinical_column_kinds"]["chol"] == "numeric"
    assert report["problems_by_reason"] == {"clinical_not_numeric": 1}


def test_a_column_empty_exactly_for_healthy_patients_is_a_reported_leak(
    tiny_params, tiny_demo, tmp_path, capsys
):
    table = pd.read_csv(tiny_demo, dtype=str, keep_default_na=False)
    abnormal = table["output"] == "1"
    table["murmur_location"] = np.where(abnormal, "apex", "")
    manifest = _run(tiny_params, tiny_demo, table, tmp_path)
    healthy = int((~abnormal).sum())
    assert "murmur_location" not in manifest.columns
    pattern = _report(tmp_path)["label_leak_columns"]["murmur_location"]
    assert pattern == (f"empty in all {healthy} healthy rows, filled in {int(abnormal.sum())} "
                       f"of {int(abnormal.sum())} abnormal rows")
    out = capsys.readouterr().out
    assert "'murmur_location' separates the labels alone" in out
    assert "list it in data.clinical_columns" in out


def test_a_column_whose_values_separate_the_classes_is_left_out_or_kept_with_a_warning(
    tiny_params, tiny_demo, tmp_path, capsys
):
    table = pd.read_csv(tiny_demo, dtype=str, keep_default_na=False)
    table["troponin"] = np.where(table["output"] == "1", "0.9", "0.01")
    table.loc[table["output"] == "1", "troponin"] = [
        f"{0.5 + i / 100:g}" for i in range(int((table["output"] == "1").sum()))]
    manifest = _run(tiny_params, tiny_demo, table, tmp_path)
    assert "troponin" not in manifest.columns
    assert "below every abnormal value" in _report(tmp_path)["label_leak_columns"]["troponin"]

    listed = _run(tiny_params, tiny_demo, table, tmp_path, clinical_columns=["age", "troponin"])
    assert "troponin" in listed.columns
    assert "troponin" in _report(tmp_path)["label_leaks_kept"]
    assert "kept because data.clinical_columns lists it" in capsys.readouterr().out


def test_free_text_is_not_a_category(tiny_params, tiny_demo, tmp_path, capsys):
    table = pd.read_csv(tiny_demo, dtype=str, keep_default_na=False)
    table["notes"] = [f"seen on day {i}, felt fine" for i in range(len(table))]
    manifest = _run(tiny_params, tiny_demo, table, tmp_path)
    assert "notes" not in manifest.columns
    assert _report(tmp_path)["free_text_columns"] == {"notes": len(table)}
    assert "'notes' is free text" in capsys.readouterr().out


@pytest.mark.parametrize("word", ["nan", "NA", "?"])
def test_a_missing_value_word_in_a_numeric_column_keeps_the_row(tiny_params, tiny_demo,
                                                                 tmp_path, word):
    table = pd.read_csv(tiny_demo, dtype=str, keep_default_na=False)
    table.loc[0:5, "chol"] = word
    manifest = _run(tiny_params, tiny_demo, table, tmp_path)
    assert len(manifest) == len(table) and manifest["chol"].isna().sum() >= 6
