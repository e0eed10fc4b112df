"""Bootstrap 95% intervals over test patients, all resamples at once.

Resampling is stratified by label: with a few healthy test patients a plain resample can draw
none of them, and AUROC or balanced accuracy would be undefined for that resample. When rows
share a group (a patient, or a scan reused across rows) the resample draws whole groups (a
cluster bootstrap): copies of one scan are one piece of evidence, not many. Statistics take
(resamples, patients) arrays and return one value per resample, so 1000 resamples are a handful
of vectorized operations.
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


def rate_rows(among: str, right: str) -> Statistic:
    """A rate of each row over 0/1 predictions: of the patients `among` (actual, not_actual,
    predicted, not_predicted), the share that are also `right` (sensitivity = predicted among
    actual; NPV = not_actual among not_predicted). 0 when none are counted."""

    def statistic(labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
        sets = {"actual": labels == 1, "not_actual": labels == 0,
                "predicted": predicted == 1, "not_predicted": predicted == 0}
        counted = sets[among]
        return (counted & sets[right]).sum(axis=1) / np.maximum(counted.sum(axis=1), 1)

    return statistic


def share_rows(modality: int) -> Statistic:
    """Share (%) of one modality in each row, from per-patient effects (rows, patients, k),
    each modality's mean taken over the patients who have it (NaN elsewhere)."""

    def statistic(labels: np.ndarray, effects: np.ndarray) -> np.ndarray:
        # NaN: the patient lacks the modality; a resample without any patient having it
        # counts that modality's share as 0
        counted = np.isfinite(effects)
        sums = np.where(counted, effects, 0.0).sum(axis=1)
        means = sums / np.maximum(counted.sum(axis=1), 1)
        total = means.sum(axis=1)
        return 100.0 * means[:, modality] / np.where(total > 0, total, 1.0)

    return statistic


def group_resamples(
    labels: np.ndarray, groups: np.ndarray, samples: int, seed: int
) -> list[np.ndarray]:
    """Row indices of each resample: whole groups drawn with replacement, as many of each class
    (a group's class is its highest label) as the data has. Resamples differ in length."""
    codes = np.unique(groups, return_inverse=True)[1]
    members = [np.flatnonzero(codes == g) for g in range(codes.max() + 1)]
    group_label = np.array([labels[rows].max() for rows in members])
    rng = np.random.default_rng(seed)
    drawn = np.concatenate(
        [
            rng.choice(np.flatnonzero(group_label == c), size=(samples, np.sum(group_label == c)))
            for c in np.unique(group_label)
        ],
        axis=1,
    )
    return [np.concatenate([members[g] for g in row]) for row in drawn]


def independent_groups(groups: np.ndarray | None, n: int) -> int:
    """How many independent pieces of evidence an interval rests on."""
    return n if groups is None else len(np.unique(groups))


def bootstrap_interval(
    statistic: Statistic,
    labels: np.ndarray,
    values: np.ndarray,
    samples: int,
    seed: int,
    groups: np.ndarray | None = None,
    level: float = 0.95,
) -> dict[str, float]:
    """Percentile interval {low, high} of `statistic` over stratified resamples of patients,
    or of groups when some rows share one."""
    labels, values = np.asarray(labels), np.asarray(values)
    if groups is None or independent_groups(groups, len(labels)) == len(labels):
        rows = stratified_resamples(labels, samples, seed)
        estimates = statistic(labels[rows], values[rows])
    else:
        estimates = np.array([
            statistic(labels[None, rows], values[None, rows])[0]
            for rows in group_resamples(labels, np.asarray(groups), samples, seed)
        ])
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(estimates, [tail, 100 - tail])
    return {"low": float(low), "high": float(high)}
