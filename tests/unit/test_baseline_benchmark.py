"""The baseline benchmark's comparison with a network: the same patients scored by both, a paired
interval, and runs made on other folds refused rather than compared."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from cardiofusion.config import load_params
from cardiofusion.crossval.folds import fold_splits
from cardiofusion.paths import PipelinePaths

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def baseline(load_benchmark):
    return load_benchmark("baseline")


@pytest.fixture(scope="module")
def params():
    return load_params(REPO / "params.yaml", ["evaluate.bootstrap_samples=200"])


def _features(n: int = 120) -> SimpleNamespace:
    """What the comparison reads of a FeatureSet: its index (ids, labels, groups)."""
    labels = (np.arange(n) % 3 == 0).astype(int)
    index = pd.DataFrame({"patient_id": [f"P{i:03d}" for i in range(n)], "label": labels,
                          "group": [f"G{i // 2:03d}" for i in range(n)]})  # two rows a patient
    return SimpleNamespace(index=index.sample(frac=1, random_state=1).reset_index(drop=True))


def test_equal_scores_differ_by_nothing_and_decide_nothing(baseline, params):
    features = _features()
    scores = np.random.default_rng(0).random(len(features.index))
    value, low, high = baseline.paired_difference(features, scores, scores.copy(), params, 42)
    assert (value, low, high) == (0.0, 0.0, 0.0)
    assert baseline._verdict(low, high) == "UNCERTAIN"


def test_a_network_that_ranks_every_patient_right_is_ahead_of_a_coin(baseline, params):
    features, rng = _features(), np.random.default_rng(0)
    labels = features.index["label"].to_numpy()
    network = labels + 0.1 * rng.random(len(labels))
    coin = rng.random(len(labels))
    value, low, high = baseline.paired_difference(features, network, coin, params, 42)
    assert value > 0.3 and low > 0 and baseline._verdict(low, high) == "ahead"
    value, low, high = baseline.paired_difference(features, coin, network, params, 42)
    assert high < 0 and baseline._verdict(low, high) == "behind"


def test_patients_one_side_did_not_score_are_left_out_of_both(baseline, params):
    features = _features()
    labels = features.index["label"].to_numpy().astype(float)
    network = labels.copy()
    baseline_scores = labels.copy()
    baseline_scores[:10] = np.nan  # no modality for the baseline: not scored
    network[:10] = 1 - labels[:10]  # the network's worst patients are those very ones
    value, *_ = baseline.paired_difference(features, network, baseline_scores, params, 42)
    assert value == 0.0


def _fold_of(features: SimpleNamespace, seed: int) -> np.ndarray:
    """Every patient's test fold (1-5) in crossval's folds for `seed`."""
    fold_of = np.zeros(len(features.index), dtype=int)
    for number, split in enumerate(fold_splits(features.index, 5, 0.15 / 0.85, seed), start=1):
        fold_of[(split == "test").to_numpy()] = number
    return fold_of


def _write_folds(run: Path, fold_of: np.ndarray, ids: np.ndarray) -> None:
    for number in range(1, fold_of.max() + 1):
        fold = PipelinePaths(PipelinePaths(run).crossval_dir / f"fold{number}")
        fold.predictions.parent.mkdir(parents=True)
        tested = ids[fold_of == number]
        pd.DataFrame({"patient_id": tested, "probability": np.linspace(0, 1, len(tested))}
                     ).to_csv(fold.predictions, index=False)


def test_a_runs_out_of_fold_predictions_are_read_in_the_features_order(baseline, tmp_path):
    features = _features()
    ids = features.index["patient_id"].to_numpy()
    fold_of = _fold_of(features, 42)
    _write_folds(tmp_path / "seed42" / "defaults", fold_of, ids)
    scores = baseline.network_scores(tmp_path / "seed42" / "defaults", features, fold_of)
    assert np.isfinite(scores).all() and len(scores) == len(ids)
    first = fold_of == 1
    assert np.allclose(scores[first], np.linspace(0, 1, first.sum()))


def test_a_run_on_other_folds_is_refused_naming_the_fold(baseline, tmp_path):
    features = _features()
    ids = features.index["patient_id"].to_numpy()
    _write_folds(tmp_path / "seed42" / "defaults", _fold_of(features, 7), ids)  # other folds
    with pytest.raises(SystemExit, match="fold 1 tests other patients"):
        baseline.network_scores(tmp_path / "seed42" / "defaults", features, _fold_of(features, 42))
    with pytest.raises(SystemExit, match="missing; run benchmarks/balance.py"):
        baseline.network_scores(tmp_path / "seed42" / "naive", features, _fold_of(features, 42))
