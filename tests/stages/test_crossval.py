"""The crossval stage on the tiny demo: k folds, pooled out-of-fold figures with intervals, the
verdict over folds, and an interrupted run that continues from the last finished fold."""

import json
import shutil

import pytest

from cardiofusion.crossval.run import run_crossval
from cardiofusion.paths import PipelinePaths


@pytest.fixture(scope="module")
def crossval_run(tiny_trained, tiny_params, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("crossval") / "project"
    shutil.copytree(tiny_trained, workdir)
    params = tiny_params.model_copy(update={
        "crossval": tiny_params.crossval.model_copy(update={"folds": 3}),
        "train": tiny_params.train.model_copy(update={"epochs": 1}),
        "evaluate": tiny_params.evaluate.model_copy(update={"bootstrap_samples": 50}),
    })
    paths = PipelinePaths(workdir)
    return params, paths, run_crossval(params, paths)


def test_pooled_figures_cover_every_patient_once(crossval_run):
    _, paths, summary = crossval_run
    saved = json.loads(paths.crossval_details.read_text())
    headline = json.loads(paths.crossval_metrics.read_text())
    assert headline["verdict"] == saved["verdict"] and "per_fold" not in headline
    assert saved["folds"] == 3 and len(saved["per_fold"]) == 3
    assert saved["patients"] == sum(f["test_patients"] for f in saved["per_fold"]) == 40
    for name in ("auroc", "balanced_accuracy", "sensitivity", "specificity", "ppv", "npv"):
        figure = saved["pooled"][name]
        assert figure["low"] <= figure["value"] <= figure["high"]
    for share in saved["contributions"].values():
        assert share["min"] <= share["mean"] <= share["max"]
        assert 0 <= share["low"] <= share["mean"] <= share["high"] <= 100  # a share's range
    assert saved["verdict"] in ("pass", "fail", "uncertain")
    assert set(saved["unimodal_auroc"]) == {"ecg", "pcg", "clinical"}


def test_a_rerun_keeps_finished_folds(crossval_run, capsys):
    params, paths, summary = crossval_run
    model = paths.crossval_dir / "fold2/models/best_multimodal_model_retrained.pth"
    before = model.stat().st_mtime_ns
    (paths.crossval_dir / "fold3/fold.json").unlink()  # as if interrupted during fold 3
    again = run_crossval(params, paths)
    out = capsys.readouterr().out
    assert "Fold 1: finished earlier, kept" in out and "Fold 2: finished earlier" in out
    assert "Fold 3: finished earlier" not in out
    assert model.stat().st_mtime_ns == before
    assert again["pooled"]["auroc"] == summary["pooled"]["auroc"]  # same data, same seed


def test_folds_zero_is_off(tiny_params, tmp_path):
    summary = run_crossval(tiny_params, PipelinePaths(tmp_path))
    assert summary["folds"] == 0
    assert json.loads((tmp_path / "metrics/crossval.json").read_text())["folds"] == 0
    assert (tmp_path / "data/crossval").is_dir()  # the stage's output exists for DVC
