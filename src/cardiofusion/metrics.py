"""Classification metrics for a binary healthy/abnormal decision (scikit-learn underneath)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, balanced_accuracy_score, roc_auc_score, roc_curve


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
