"""Copies of one piece of evidence are not more evidence: the cluster bootstrap resamples
groups, so intervals do not shrink when rows are duplicated."""

import numpy as np

from cardiofusion.evaluation.bootstrap import (
    auroc_rows,
    bootstrap_interval,
    group_resamples,
    independent_groups,
)


def _data(n: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.repeat([0, 1], n // 2)
    return labels, labels * 1.0 + rng.normal(0, 1.0, n)


def _width(interval: dict[str, float]) -> float:
    return interval["high"] - interval["low"]


def test_copies_shrink_a_row_bootstrap_but_not_the_cluster_bootstrap():
    labels, scores = _data()
    copies = 5
    labels5, scores5 = np.repeat(labels, copies), np.repeat(scores, copies)
    groups5 = np.repeat(np.arange(len(labels)), copies).astype(str)
    original = _width(bootstrap_interval(auroc_rows, labels, scores, 2000, 1))
    rows = _width(bootstrap_interval(auroc_rows, labels5, scores5, 2000, 1))
    clusters = _width(bootstrap_interval(auroc_rows, labels5, scores5, 2000, 1, groups5))
    assert rows < 0.6 * original  # pretends to five times the evidence
    assert abs(clusters - original) < 0.2 * original  # as wide as the evidence really is
    assert independent_groups(groups5, len(labels5)) == len(labels)


def test_each_resample_draws_whole_groups_and_keeps_both_classes():
    labels = np.array([0, 0, 0, 1, 1, 1, 1])
    groups = np.array(["a", "a", "b", "c", "c", "c", "d"])
    for rows in group_resamples(labels, groups, 50, 3):
        drawn = groups[rows]
        for g in np.unique(drawn):  # a group is drawn whole, never in part
            assert np.sum(drawn == g) % np.sum(groups == g) == 0
        assert set(labels[rows]) == {0, 1}


def test_singleton_groups_give_the_patient_bootstrap():
    labels, scores = _data()
    ids = np.arange(len(labels)).astype(str)
    assert bootstrap_interval(auroc_rows, labels, scores, 500, 2, ids) == bootstrap_interval(
        auroc_rows, labels, scores, 500, 2)
