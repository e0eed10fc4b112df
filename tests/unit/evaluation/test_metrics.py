"""The metric definitions against scikit-learn, and the vectorized bootstrap against them."""

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from cardiofusion.evaluation.bootstrap import (
    auroc_rows,
    balanced_accuracy_rows,
    bootstrap_interval,
    stratified_resamples,
)
from cardiofusion.model.metrics import (
    brier_score,
    calibration_table,
    expected_calibration_error,
    ranking_metrics,
    threshold_metrics,
)


def _random_case(seed: int, n: int = 120) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < 0.8).astype(int)
    scores = np.clip(0.3 * labels + rng.random(n) * 0.7, 0, 1)
    return labels, np.round(scores, 2)  # rounding makes tied scores, as real outputs have


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("threshold", [0.2, 0.5, 0.77, 0.99])
def test_threshold_metrics_match_scikit_learn(seed, threshold):
    labels, scores = _random_case(seed)
    predicted = (scores >= threshold).astype(int)
    ours = threshold_metrics(labels, scores, threshold)
    assert ours["accuracy"] == pytest.approx(accuracy_score(labels, predicted))
    assert ours["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(labels, predicted))
    assert ours["sensitivity"] == pytest.approx(recall_score(labels, predicted))
    assert ours["specificity"] == pytest.approx(recall_score(labels, predicted, pos_label=0))
    assert ours["precision"] == pytest.approx(
        precision_score(labels, predicted, zero_division=0))
    assert ours["npv"] == pytest.approx(
        precision_score(labels, predicted, pos_label=0, zero_division=0))
    assert ours["f1"] == pytest.approx(f1_score(labels, predicted, zero_division=0))
    assert ours["confusion_matrix"] == confusion_matrix(labels, predicted, labels=[0, 1]).tolist()


def test_ratios_with_nothing_predicted_positive_are_zero_like_scikit_learn():
    labels = np.array([0, 1, 1, 0])
    ours = threshold_metrics(labels, np.full(4, 0.1), threshold=0.5)
    assert ours["precision"] == 0.0 == precision_score(labels, [0] * 4, zero_division=0)
    assert ours["f1"] == 0.0
    assert ours["balanced_accuracy"] == 0.5


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ranking_and_brier_match_scikit_learn(seed):
    labels, scores = _random_case(seed)
    ours = ranking_metrics(labels, scores)
    assert ours["auroc"] == pytest.approx(roc_auc_score(labels, scores))
    assert ours["auprc"] == pytest.approx(average_precision_score(labels, scores))
    assert brier_score(labels, scores) == pytest.approx(brier_score_loss(labels, scores))


@pytest.mark.parametrize("seed", [0, 1])
def test_calibration_table_matches_scikit_learn_calibration_curve(seed):
    labels, scores = _random_case(seed)
    scores[:3] = [0.1, 0.5, 1.0]  # values on bin edges
    table = calibration_table(labels, scores, bins=10)
    observed, predicted = calibration_curve(labels, scores, n_bins=10, strategy="uniform")
    assert table["observed"].to_numpy() == pytest.approx(observed)
    assert table["mean_predicted"].to_numpy() == pytest.approx(predicted)
    assert table["count"].sum() == len(labels)


def test_expected_calibration_error_by_hand():
    labels = np.array([1, 0, 1, 1, 0])
    probabilities = np.array([0.05, 0.05, 0.55, 0.55, 0.95])
    # bins: [0, 0.1] holds 2 (observed 0.5, predicted 0.05); (0.5, 0.6] holds 2 (1.0 vs 0.55);
    # (0.9, 1.0] holds 1 (0.0 vs 0.95)
    expected = (2 * 0.45 + 2 * 0.45 + 1 * 0.95) / 5
    assert expected_calibration_error(labels, probabilities, bins=10) == pytest.approx(expected)
    assert expected_calibration_error(np.array([0, 1]), np.array([0.0, 1.0])) == 0.0


def test_row_statistics_match_scikit_learn_on_every_resample():
    labels, scores = _random_case(3, n=60)
    rows = stratified_resamples(labels, samples=25, seed=0)
    aurocs = auroc_rows(labels[rows], scores[rows])
    predicted = (scores >= 0.5).astype(int)
    balanced = balanced_accuracy_rows(labels[rows], predicted[rows])
    for i, row in enumerate(rows):
        assert aurocs[i] == pytest.approx(roc_auc_score(labels[row], scores[row]))
        assert balanced[i] == pytest.approx(balanced_accuracy_score(labels[row], predicted[row]))


def test_stratified_resamples_keep_each_class_count():
    labels = np.array([0] * 3 + [1] * 30)
    rows = stratified_resamples(labels, samples=200, seed=1)
    assert rows.shape == (200, 33)
    assert (labels[rows].sum(axis=1) == 30).all()


def test_bootstrap_interval_is_seeded_and_brackets_the_estimate():
    labels, scores = _random_case(4, n=200)
    first = bootstrap_interval(auroc_rows, labels, scores, samples=500, seed=7)
    assert first == bootstrap_interval(auroc_rows, labels, scores, samples=500, seed=7)
    assert first["low"] < roc_auc_score(labels, scores) < first["high"]
    assert 0.02 < first["high"] - first["low"] < 0.3
