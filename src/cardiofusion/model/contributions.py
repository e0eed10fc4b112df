"""How much each modality moves the prediction, measured per patient and then averaged.

Averaging signed effects first (as `|mean(p_full) - mean(p_without)|` does) lets a modality that
pushes some patients up and others down score ~0; here the absolute effect is taken per patient.
"Without m" replaces m's embedding by a baseline: the train-split mean embedding (`mean`), another
patient's embedding (`permute`), or the embedding of an all-zero input (`blank`, the input-level
blanking of the system we replace). Only the fusion head is re-run.
"""

from __future__ import annotations

from itertools import combinations
from math import factorial

import numpy as np
import torch

from cardiofusion.model.network import MultimodalNet


def baseline_embeddings(
    embeddings: dict[str, torch.Tensor], kind: str, reference: dict[str, torch.Tensor],
    generator: torch.Generator,
) -> dict[str, torch.Tensor]:
    """Per-patient replacement embeddings: the reference (mean or blank), or another patient."""
    if kind in ("mean", "blank"):
        return {m: reference[m].expand_as(e) for m, e in embeddings.items()}
    order = torch.randperm(len(next(iter(embeddings.values()))), generator=generator)
    return {m: e[order.to(e.device)] for m, e in embeddings.items()}


@torch.no_grad()
def blank_embeddings(
    model: MultimodalNet, inputs: dict[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """Embeddings of all-zero inputs shaped like `inputs`: the reference for `blank`."""
    model.eval()
    return model.embed({m: torch.zeros_like(inputs[m][:1]) for m in model.modalities})


@torch.no_grad()
def ablation_effects(
    model: MultimodalNet, embeddings: dict[str, torch.Tensor], baseline: dict[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """|p_full - p_without_m| per patient and modality."""
    full = torch.sigmoid(model.fuse(embeddings))
    return {
        m: (full - torch.sigmoid(model.fuse({**embeddings, m: baseline[m]}))).abs()
        for m in model.modalities
    }


@torch.no_grad()
def shapley_values(
    model: MultimodalNet, embeddings: dict[str, torch.Tensor], baseline: dict[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """Signed exact Shapley value of each modality per patient, over the 2^k coalitions.

    The values of one patient sum to p_full - p_baseline (efficiency).
    """
    modalities = tuple(embeddings)
    n = len(modalities)
    value: dict[frozenset[str], torch.Tensor] = {}
    for size in range(n + 1):
        for coalition in combinations(modalities, size):
            present = frozenset(coalition)
            mixed = {m: embeddings[m] if m in present else baseline[m] for m in modalities}
            value[present] = torch.sigmoid(model.fuse(mixed))
    phis = {}
    for m in modalities:
        others = [o for o in modalities if o != m]
        phi = torch.zeros_like(value[frozenset()])
        for size in range(n):
            weight = factorial(size) * factorial(n - size - 1) / factorial(n)
            for coalition in combinations(others, size):
                s = frozenset(coalition)
                phi += weight * (value[s | {m}] - value[s])
        phis[m] = phi
    return phis


def shapley_effects(
    model: MultimodalNet, embeddings: dict[str, torch.Tensor], baseline: dict[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """|exact Shapley value| per patient and modality."""
    return {m: phi.abs() for m, phi in shapley_values(model, embeddings, baseline).items()}


def shares(effects: dict[str, torch.Tensor], present: dict[str, torch.Tensor] | None = None
           ) -> dict[str, float]:
    """Mean per-patient effect of each modality, over the patients who have it, as a
    percentage of their sum over the dataset's modalities. (A patient without m has no effect
    of m to measure: counting its zero would make a modality look weaker for being absent.)"""
    means = {}
    for m, effect in effects.items():
        having = effect if present is None else effect[present[m].to(effect.device)]
        means[m] = float(having.mean()) if len(having) else 0.0
    total = sum(means.values())
    if total == 0:  # the prediction does not depend on any modality
        return {m: 0.0 for m in effects}
    return {m: 100.0 * v / total for m, v in means.items()}


def effect_matrix(effects: dict[str, torch.Tensor], present: dict[str, torch.Tensor]
                  ) -> np.ndarray:
    """(patients, k) per-patient effects, NaN where the patient lacks the modality: the
    input of the bootstrap's share intervals."""
    return np.stack([np.where(present[m].cpu().numpy(), effects[m].cpu().numpy(), np.nan)
                     for m in effects], axis=1)


def modality_shares(
    model: MultimodalNet,
    embeddings: dict[str, torch.Tensor],
    method: str,
    baseline: dict[str, torch.Tensor],
    present: dict[str, torch.Tensor] | None = None,
) -> dict[str, float]:
    measure = shapley_effects if method == "shapley" else ablation_effects
    return shares(measure(model, embeddings, baseline), present)
