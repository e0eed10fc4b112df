"""Patients as they come: datasets with two of the three modalities, and rows lacking one."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from cardiofusion.config import load_params
from cardiofusion.data.validate import run_validate
from cardiofusion.errors import ConfigError
from cardiofusion.evaluation.evaluate import run_evaluate
from cardiofusion.features.dataset import FeatureSet
from cardiofusion.features.featurize import run_featurize
from cardiofusion.model.checkpoint import load_model
from cardiofusion.paths import PipelinePaths
from cardiofusion.serve import create_app
from cardiofusion.training.train import run_train

REPO = Path(__file__).resolve().parents[2]


def _overrides(out: Path, *extra: str) -> list[str]:
    return [
        f"demo.out_dir={out}", "demo.patients=80", "demo.abnormal_fraction=0.7",
        "demo.pcg_seconds=[4, 6]", "demo.n_jobs=1",
        "demo.missing.ecg=0.12", "demo.missing.pcg=0.12", "demo.missing.clinical=0.12",
        f"data.csv={out}/metadata.csv", f"data.root={out}", "featurize.n_jobs=1",
        f"featurize.cache_dir={out}/cache", "train.epochs=2", "evaluate.bootstrap_samples=50",
        *extra,
    ]


@pytest.fixture(scope="module")
def incomplete(tmp_path_factory) -> Path:
    """An 80-patient demo in which about one patient in eight lacks each modality."""
    from cardiofusion.demo.generate import generate_demo

    out = tmp_path_factory.mktemp("incomplete")
    params = load_params(REPO / "params.yaml", _overrides(out))
    generate_demo(params.demo, params.seed)
    return out


@pytest.fixture(scope="module")
def evaluated(incomplete, tmp_path_factory):
    """validate, featurize, train and evaluate on the incomplete demo: (params, paths, eval)."""
    params = load_params(REPO / "params.yaml", _overrides(incomplete))
    paths = PipelinePaths(tmp_path_factory.mktemp("run"))
    run_validate(params, paths)
    run_featurize(params, paths)
    run_train(params, paths=paths)
    return params, paths, run_evaluate(params, paths)


def test_validate_counts_each_modality_and_combination_and_drops_no_absent_row(evaluated):
    _, paths, _ = evaluated
    report = json.loads(paths.validation_details.read_text())
    assert report["rows_dropped"] == 0
    counts = report["rows_with_modality"]
    assert all(0 < counts[m] < report["rows_in"] for m in ("ecg", "pcg", "clinical"))
    combinations = report["modality_combinations"]
    assert sum(combinations.values()) == report["rows_kept"]
    assert "none" not in combinations and combinations["ECG+PCG+clinical"] < report["rows_in"]
    manifest = pd.read_csv(paths.manifest, keep_default_na=False)
    assert (manifest["pcg_path"] == "").sum() == report["rows_in"] - counts["pcg"]


def test_the_split_keeps_the_common_combinations_in_every_split(evaluated):
    _, paths, _ = evaluated
    by_split = json.loads(paths.validation_details.read_text())["combinations_by_split"]
    assert all(by_split[s].get("ECG+PCG+clinical", 0) > 0 for s in ("train", "val", "test"))


def test_features_mark_who_has_what_and_the_model_decides_without_it(evaluated):
    _, paths, evaluation = evaluated
    features = FeatureSet.load(paths.features)
    assert features.modalities == ("ecg", "pcg", "clinical")
    for m in features.modalities:
        assert 0 < (~features.present(m)).sum() < len(features.index)
    # every non-empty subset of the three, all first
    assert [r.modalities for r in evaluation.robustness][:4] == [
        ["ecg", "pcg", "clinical"], ["ecg", "pcg"], ["ecg", "clinical"], ["pcg", "clinical"]]
    assert len(evaluation.robustness) == 7
    assert all(0 <= r.auroc_ci.low <= r.auroc <= r.auroc_ci.high <= 1
               for r in evaluation.robustness)
    assert {r.modality for r in evaluation.absent} <= {"ecg", "pcg", "clinical"}
    assert sum(evaluation.contributions.used.as_dict().values()) == pytest.approx(100)
    predictions = pd.read_csv(paths.predictions)
    assert {"has_ecg", "has_pcg", "has_clinical", "probability_ecg+pcg"} <= set(predictions)


def test_a_path_to_a_file_that_does_not_exist_is_still_a_problem(incomplete, tmp_path):
    table = pd.read_csv(incomplete / "metadata.csv", dtype=str, keep_default_na=False)
    having = table.index[table["pcg_path"] != ""][0]
    table.loc[having, "pcg_path"] = "pcg/typo.wav"
    table.loc[table.index[-1], ["ecg_path", "pcg_path"]] = ""
    clinical = [c for c in table.columns if c not in ("patient_id", "ecg_path", "pcg_path",
                                                      "output")]
    table.loc[table.index[-1], clinical] = ""  # nothing at all
    table.to_csv(tmp_path / "edited.csv", index=False)
    params = load_params(REPO / "params.yaml", _overrides(
        incomplete, f"data.csv={tmp_path}/edited.csv", "validate.max_drop_fraction=0.5"))
    paths = PipelinePaths(tmp_path / "out")
    run_validate(params, paths)
    report = json.loads(paths.validation_details.read_text())
    assert report["problems_by_reason"]["file_missing"] == 1
    assert report["problems_by_reason"]["no_modality"] == 1


def test_a_dataset_without_heart_sounds_runs_on_the_other_two(incomplete, tmp_path):
    params = load_params(REPO / "params.yaml", _overrides(
        incomplete, "data.pcg_column=null", "data.ignore_columns=[pcg_path]"))
    paths = PipelinePaths(tmp_path)
    manifest = run_validate(params, paths)
    assert "pcg_path" not in manifest.columns
    features = run_featurize(params, paths)
    assert features.modalities == ("ecg", "clinical") and "pcg" not in features.arrays
    run_train(params, paths=paths)
    assert load_model(paths.retrained_model).model.modalities == ("ecg", "clinical")
    evaluation = run_evaluate(params, paths)
    assert evaluation.modalities == ["ecg", "clinical"]
    assert set(evaluation.contributions.used.as_dict()) == {"ecg", "clinical"}
    assert [r.modalities for r in evaluation.robustness] == [
        ["ecg", "clinical"], ["ecg"], ["clinical"]]
    with_signal = sum(u.label_signal is not False for u in evaluation.unimodal.values())
    assert evaluation.share_scale == 3 / (with_signal or 2)  # criteria for three, rescaled

    row = pd.read_csv(incomplete / "metadata.csv").dropna().iloc[0]
    with TestClient(create_app(paths.retrained_model, params)) as client:
        ecg = {"ecg_image": ("a.png", (incomplete / row["ecg_path"]).read_bytes())}
        pcg = {"pcg_audio": ("a.wav", (incomplete / row["pcg_path"]).read_bytes())}
        answered = client.post("/predict", files=ecg, data={"age": "60"})
        assert answered.status_code == 200, answered.text
        assert answered.json()["modalities_used"] == ["ecg", "clinical"]
        refused = client.post("/predict", files={**ecg, **pcg}, data={"age": "60"})
        assert refused.status_code == 422
        assert refused.json()["detail"] == [{
            "field": "pcg_audio", "problem": "this model was trained without a heart-sound "
            "recording: it has no such input; leave pcg_audio out"}]
        page = client.get("/").text
        assert 'name="ecg_image"' in page and 'name="pcg_audio"' not in page


def test_criteria_are_rescaled_to_the_datasets_modalities():
    from cardiofusion.config import CriteriaParams
    from cardiofusion.evaluation.verdict import share_checks

    two = share_checks({"ecg": 45.0, "clinical": 55.0}, None, CriteriaParams())
    assert two.share_scale == 1.5 and two.share_range == [30.0, 60.0]
    assert set(two.checks) == {"ecg_share_in_30_60", "clinical_share_in_30_60",
                               "no_share_above_90", "no_share_below_15"}
    assert two.outcome == "pass"
    assert share_checks({"ecg": 25.0, "clinical": 75.0}, None, CriteriaParams()).outcome == "fail"


def test_a_dataset_must_keep_one_modality(tmp_path):
    with pytest.raises(ConfigError, match="name at least one modality"):
        load_params(REPO / "params.yaml", ["data.ecg_column=null", "data.pcg_column=null",
                                           "data.clinical_columns=[]"])


def test_a_dataset_without_a_clinical_table(incomplete, tmp_path):
    params = load_params(REPO / "params.yaml", _overrides(
        incomplete, "data.clinical_columns=[]", "data.ecg_column=null",
        "data.ignore_columns=[ecg_path]", "validate.max_drop_fraction=0.5"))
    paths = PipelinePaths(tmp_path)
    manifest = run_validate(params, paths)
    assert list(manifest.columns) == ["line", "patient_id", "group", "pcg_path", "label",
                                      "split"]
    report = json.loads(paths.validation_details.read_text())
    assert set(report["rows_with_modality"]) == {"pcg"}  # rows without a PCG: no modality
    assert report["problems_by_reason"] == {"no_modality": report["rows_dropped"]}
