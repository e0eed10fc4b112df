"""Columns and labels as real CSVs spell them: duplicate headers, copies of the label, infinite
numbers, and labels written as words or other codes."""

import json

import pandas as pd
import pytest

from cardiofusion.config import Params, load_params
from cardiofusion.data.validate import run_validate
from cardiofusion.errors import CardiofusionError, ConfigError
from cardiofusion.paths import PipelinePaths


def _run(base: Params, tiny_demo, table: pd.DataFrame, tmp_path, **data) -> pd.DataFrame:
    csv = tmp_path / "edited.csv"
    table.to_csv(csv, index=False)
    params = base.model_copy(
        update={"data": base.data.model_copy(update={"csv": csv, "root": tiny_demo.parent,
                                                     **data})}
    )
    return run_validate(params, PipelinePaths(tmp_path / "out"))


def _report(tmp_path) -> dict:
    return json.loads((tmp_path / "out/reports/validation.json").read_text())


def _table(tiny_demo) -> pd.DataFrame:
    return pd.read_csv(tiny_demo, dtype=str, keep_default_na=False)


def test_two_columns_of_one_name_are_an_error_naming_both(tiny_params, tiny_demo, tmp_path):
    table = _table(tiny_demo)
    table.insert(3, "output_copy", table["output"])
    csv_text = table.to_csv(index=False).replace("output_copy", "output", 1)
    (tmp_path / "edited.csv").write_text(csv_text)
    params = tiny_params.model_copy(
        update={"data": tiny_params.data.model_copy(
            update={"csv": tmp_path / "edited.csv", "root": tiny_demo.parent})}
    )
    position = table.columns.get_loc("output") + 1
    message = f"columns 4 and {position} are both named 'output'"
    with pytest.raises(CardiofusionError, match=message):
        run_validate(params, PipelinePaths(tmp_path / "out"))


def test_a_copy_of_the_label_is_never_an_input(tiny_params, tiny_demo, tmp_path, capsys):
    table = _table(tiny_demo)
    table["diagnosis_code"] = table["output"]
    manifest = _run(tiny_params, tiny_demo, table, tmp_path)
    assert "diagnosis_code" not in manifest.columns
    assert _report(tmp_path)["label_leak_columns"] == {
        "diagnosis_code": "equals the label on every row"}
    assert ("'diagnosis_code' separates the labels alone (equals the label on every row): a "
            "label leak" in capsys.readouterr().out)


def test_a_listed_copy_of_the_label_is_refused(tiny_params, tiny_demo, tmp_path):
    table = _table(tiny_demo)
    table["diagnosis_code"] = table["output"]
    with pytest.raises(CardiofusionError, match="'diagnosis_code' equal the label column"):
        _run(tiny_params, tiny_demo, table, tmp_path, clinical_columns=["age", "diagnosis_code"])


@pytest.mark.parametrize("value", ["inf", "-inf", "1e309", "-Infinity"])
def test_non_finite_clinical_values_are_row_problems(tiny_params, tiny_demo, tmp_path, value):
    table = _table(tiny_demo)
    table.loc[3, "chol"] = value
    manifest = _run(tiny_params, tiny_demo, table, tmp_path)
    assert _report(tmp_path)["problems_by_reason"] == {"clinical_not_finite": 1}
    assert 5 not in set(manifest["line"])
    assert manifest.select_dtypes("number").abs().max().max() < float("inf")


@pytest.mark.parametrize("value", ["inf", "nan", "1e309"])
def test_non_finite_labels_are_row_problems(tiny_params, tiny_demo, tmp_path, value):
    table = _table(tiny_demo)
    table.loc[3, "output"] = value
    _run(tiny_params, tiny_demo, table, tmp_path)
    assert sum(_report(tmp_path)["problems_by_reason"].values()) == 1


def test_label_map_reads_words(tiny_params, tiny_demo, tmp_path):
    table = _table(tiny_demo)
    expected = table["output"].astype(int).tolist()
    table["output"] = table["output"].map({"0": "normal", "1": "abnormal"})
    manifest = _run(tiny_params, tiny_demo, table, tmp_path,
                    label_map={"normal": 0, "abnormal": 1})
    assert manifest["label"].tolist() == expected


def test_label_outside_the_map_is_a_row_problem(tiny_params, tiny_demo, tmp_path, capsys):
    table = _table(tiny_demo)
    table["output"] = table["output"].map({"0": "normal", "1": "abnormal"})
    table.loc[6, "output"] = "borderline"
    manifest = _run(tiny_params, tiny_demo, table, tmp_path,
                    label_map={"normal": 0, "abnormal": 1})
    assert len(manifest) == 39
    assert _report(tmp_path)["problems_by_reason"] == {"label_not_in_map": 1}
    assert "label 'borderline' is not in data.label_map ('normal', 'abnormal')" in (
        capsys.readouterr().out
    )


def test_positive_label_with_physionet_codes(tiny_params, tiny_demo, tmp_path):
    table = _table(tiny_demo)
    expected = table["output"].astype(int).tolist()
    table["output"] = table["output"].map({"0": "-1", "1": "1"})
    manifest = _run(tiny_params, tiny_demo, table, tmp_path, positive_label="1")
    assert manifest["label"].tolist() == expected


def test_positive_label_with_three_values_asks_for_a_map(tiny_params, tiny_demo, tmp_path):
    table = _table(tiny_demo)
    table["output"] = table["output"].map({"0": "normal", "1": "abnormal"})
    table.loc[0, "output"] = "Normal"
    with pytest.raises(CardiofusionError, match="only one may mean healthy.*data.label_map"):
        _run(tiny_params, tiny_demo, table, tmp_path, positive_label="abnormal")


def test_label_map_in_params_yaml(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("data:\n  label_map: {-1: 0, 1: 1}\n  positive_label: 1\n")
    assert load_params(params).data.label_map == {"-1": 0, "1": 1}
    params.write_text("data:\n  label_map: {normal: 0, abnormal: 1}\n  positive_label: normal\n")
    with pytest.raises(ConfigError, match="must map to 1 in data.label_map"):
        load_params(params)
    params.write_text("data:\n  label_map: {normal: 0, abnormal: 2}\n")
    with pytest.raises(ConfigError, match="data.label_map.abnormal"):
        load_params(params)
