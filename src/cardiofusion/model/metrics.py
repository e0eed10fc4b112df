"""Classification metrics for a binary healthy/abnormal decision.

Threshold metrics are computed from the confusion counts so the same definitions serve the
reported figures and the bootstrap; the tests hold every one of them to scikit-learn's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    roc_auc_score,
    roc_curve,
)


def classification_metrics(
    labels: np.ndarray, probabilities: np.ndarray, threshold: float = 0.5
) -> dict[str, float]:
    """Accuracy, balanced accuracy and AUROC (NaN when only one class is present)."""
    predicted = (probabilities >= threshold).astype(int)
    both_classes = len(np.unique(labels)) == 2
    return {
        "accuracy": float(accuracy_score(labels, predicted)),
        "balanced_accuracy": float(balanced_accuracy_score(labels, predicted)),
        "auroc": float(roc_auc_score(labels, probabilities)) if both_classes else float("nan"),
    }


def youden_threshold(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """The threshold maximizing sensitivity + specificity - 1 (0.5 when one class is absent)."""
    if len(np.unique(labels)) < 2:
        return 0.5
    fpr, tpr, thresholds = roc_curve(labels, probabilities)
    best = int(np.argmax(tpr - fpr))
    return float(np.clip(thresholds[best], 0.0, 1.0))  # roc_curve's first threshold is inf


def threshold_metrics(
    labels: np.ndarray, probabilities: np.ndarray, threshold: float
) -> dict[str, object]:
    """Decision metrics at one threshold (abnormal = probability >= threshold).

    Sensitivity is the recall of abnormal patients, specificity the recall of healthy ones; PPV
    (precision) and NPV say how often an abnormal or a healthy call is right, which is what a
    reader of one prediction needs. A ratio with an empty denominator is 0, as scikit-learn's
    `zero_division=0` gives.
    """
    labels = np.asarray(labels).astype(int)
    predicted = (np.asarray(probabilities) >= threshold).astype(int)
    tp = int(np.sum((predicted == 1) & (labels == 1)))
    tn = int(np.sum((predicted == 0) & (labels == 0)))
    fp = int(np.sum((predicted == 1) & (labels == 0)))
    fn = int(np.sum((predicted == 0) & (labels == 1)))
    sensitivity = _ratio(tp, tp + fn)
    specificity = _ratio(tn, tn + fp)
    precision = _ratio(tp, tp + fp)
    return {  # precision is the positive predictive value (PPV)
        "threshold": float(threshold),
        "accuracy": _ratio(tp + tn, len(labels)),
        "balanced_accuracy": (sensitivity + specificity) / 2,
        "sensitivity": sensitivity,
        "specificity": specificity,
        "precision": precision,
        "npv": _ratio(tn, tn + fn),  # of the patients called healthy, the share who are
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "confusion_matrix": [[tn, fp], [fn, tp]],  # rows: actual healthy, abnormal
    }


def ranking_metrics(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    """Threshold-free metrics: AUROC and AUPRC (average precision of the abnormal class)."""
    return {
        "auroc": float(roc_auc_score(labels, probabilities)),
        "auprc": float(average_precision_score(labels, probabilities)),
    }


def brier_score(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """Mean squared difference between the predicted probability and the 0/1 outcome."""
    return float(np.mean((np.asarray(probabilities) - np.asarray(labels)) ** 2))


def calibration_table(
    labels: np.ndarray, probabilities: np.ndarray, bins: int
) -> pd.DataFrame:
    """Per non-empty probability bin: mean predicted probability, observed abnormal rate, count.

    Bins are `bins` equal-width intervals of [0, 1], binned like scikit-learn's
    `calibration_curve(strategy="uniform")` so the two agree.
    """
    labels, probabilities = np.asarray(labels, dtype=float), np.asarray(probabilities)
    edges = np.linspace(0.0, 1.0, bins + 1)
    ids = np.searchsorted(edges[1:-1], probabilities)
    count = np.bincount(ids, minlength=bins)
    predicted = np.bincount(ids, weights=probabilities, minlength=bins)
    observed = np.bincount(ids, weights=labels, minlength=bins)
    used = count > 0
    return pd.DataFrame({
        "bin_low": edges[:-1][used],
        "bin_high": edges[1:][used],
        "mean_predicted": predicted[used] / count[used],
        "observed": observed[used] / count[used],
        "count": count[used],
    })


def expected_calibration_error(
    labels: np.ndarray, probabilities: np.ndarray, bins: int = 10
) -> float:
    """Count-weighted mean |observed rate - mean predicted probability| over the bins."""
    table = calibration_table(labels, probabilities, bins)
    gap = (table["observed"] - table["mean_predicted"]).abs()
    return float((gap * table["count"]).sum() / table["count"].sum())


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0
