"""How well the model does with fewer modalities: every non-empty subset of the dataset's
modalities on the test patients (the others withheld), and the patients who truly lack one.

Withholding replaces a modality's embedding by the train-split mean embedding, exactly what an
absent modality becomes in training and in serving, so "no recording: AUROC 0.87" is the figure
a prediction served without a recording carries.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import combinations

import numpy as np
import torch

from cardiofusion.evaluation.bootstrap import (
    auroc_rows,
    balanced_accuracy_rows,
    bootstrap_interval,
)
from cardiofusion.evaluation.result import AbsentFigures, Interval, SubsetFigures
from cardiofusion.model.network import MultimodalNet

Probabilities = Callable[[torch.Tensor], np.ndarray]  # fused logits -> served probabilities


def subsets(modalities: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Every non-empty subset, all modalities first, then each one withheld, ..., each alone."""
    return [c for size in range(len(modalities), 0, -1) for c in combinations(modalities, size)]


def subset_key(subset: tuple[str, ...] | list[str]) -> str:
    """`ecg+pcg`: how a subset is named in files and in the API."""
    return "+".join(subset)


@torch.no_grad()
def subset_probabilities(
    model: MultimodalNet, embeddings: dict[str, torch.Tensor],
    baseline: dict[str, torch.Tensor], probabilities: Probabilities,
) -> dict[str, np.ndarray]:
    """Served probabilities of every patient for each subset (the rest at the baseline)."""
    result = {}
    for subset in subsets(model.modalities):
        mixed = {m: e if m in subset else baseline[m].expand_as(e) for m, e in embeddings.items()}
        result[subset_key(subset)] = probabilities(model.fuse(mixed).double())
    return result


def robustness_table(
    by_subset: dict[str, np.ndarray], labels: np.ndarray, groups: np.ndarray, threshold: float,
    samples: int, seed: int,
) -> list[SubsetFigures]:
    """AUROC and balanced accuracy (with group-aware 95% intervals) of each subset."""
    return [
        SubsetFigures(
            modalities=key.split("+"),
            patients=len(labels),
            **_figures(labels, probability, groups, threshold, samples, seed),
        )
        for key, probability in by_subset.items()
    ]


def absent_table(
    present: dict[str, np.ndarray], labels: np.ndarray, probability: np.ndarray,
    groups: np.ndarray, threshold: float, samples: int, seed: int,
) -> list[AbsentFigures]:
    """The test patients who truly lack each modality, and how the model did on them (figures
    only where both classes are among them)."""
    table = []
    for m, having in present.items():
        rows = ~having
        if not rows.any():
            continue
        lacking = labels[rows]
        figures = {}
        if len(np.unique(lacking)) == 2:
            figures = _figures(lacking, probability[rows], groups[rows], threshold, samples, seed)
        table.append(AbsentFigures(modality=m, patients=int(rows.sum()),
                                   healthy=int(np.sum(lacking == 0)),
                                   abnormal=int(np.sum(lacking == 1)), **figures))
    return table


def _figures(labels: np.ndarray, probability: np.ndarray, groups: np.ndarray, threshold: float,
             samples: int, seed: int) -> dict[str, object]:
    predicted = (probability >= threshold).astype(int)
    return {
        "auroc": float(auroc_rows(labels[None], probability[None])[0]),
        "auroc_ci": Interval(**bootstrap_interval(auroc_rows, labels, probability, samples, seed,
                                                  groups)),
        "balanced_accuracy": float(balanced_accuracy_rows(labels[None], predicted[None])[0]),
        "balanced_accuracy_ci": Interval(**bootstrap_interval(
            balanced_accuracy_rows, labels, predicted, samples, seed, groups)),
    }
