"""Bootstrap 95% intervals over test patients, all resamples at once.

Resampling is stratified by label: with a few healthy test patients a plain resample can draw
none of them, and AUROC or balanced accuracy would be undefined for that resample. Statistics
take (resamples, patients) arrays and return one value per resample, so 1000 resamples are a
handful of vectorized operations.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.stats import rankdata

Statistic = Callable[[np.ndarray, np.ndarray], np.ndarray]


def stratified_resamples(labels: np.ndarray, samples: int, seed: int) -> np.ndarray:
    """(samples, patients) row indices; each row keeps every class's patient count."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    parts = [
        rng.choice(np.flatnonzero(labels == c), size=(samples, int(np.sum(labels == c))))
        for c in np.unique(labels)
    ]
    return np.concatenate(parts, axis=1)


def auroc_rows(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """AUROC of each row (Mann-Whitney U with tied scores counted half)."""
    labels = labels.astype(bool)
    ranks = rankdata(scores, axis=1)  # ties get their average rank
    positives = labels.sum(axis=1)
    negatives = labels.shape[1] - positives
    rank_sum = np.where(labels, ranks, 0.0).sum(axis=1)
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def balanced_accuracy_rows(labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Mean of sensitivity and specificity of each row (0/1 predictions)."""
    labels, predicted = labels.astype(bool), predicted.astype(bool)
    sensitivity = (labels & predicted).sum(axis=1) / labels.sum(axis=1)
    specificity = (~labels & ~predicted).sum(axis=1) / (~labels).sum(axis=1)
    return (sensitivity + specificity) / 2


def bootstrap_interval(
    statistic: Statistic,
    labels: np.ndarray,
    values: np.ndarray,
    samples: int,
    seed: int,
    level: float = 0.95,
) -> dict[str, float]:
    """Percentile interval {low, high} of `statistic` over stratified resamples."""
    rows = stratified_resamples(labels, samples, seed)
    estimates = statistic(np.asarray(labels)[rows], np.asarray(values)[rows])
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(estimates, [tail, 100 - tail])
    return {"low": float(low), "high": float(high)}
