"""Per-modality diagnostics that tell "the model ignores a modality" from "there is nothing in it".

- Label signal: the AUROC of a modality's auxiliary head, with a bootstrap 95% interval. When the
  interval contains 0.5 the modality carries no detectable label signal on this data, and a low
  contribution from it is the right answer rather than a failure of balancing.
- Swap test: give every patient another patient's embedding for one modality and count how many
  predictions move by more than `delta`. A modality the model ignores moves (almost) nobody.
"""

from __future__ import annotations

import numpy as np
import torch

from cardiofusion.evaluation.bootstrap import auroc_rows, bootstrap_interval
from cardiofusion.evaluation.calibration import Recalibration
from cardiofusion.model.metrics import ranking_metrics
from cardiofusion.model.network import MultimodalNet


def label_signal(
    labels: np.ndarray, scores: np.ndarray, samples: int, seed: int,
    groups: np.ndarray | None = None,
) -> dict[str, object]:
    """AUROC of `scores`, its 95% interval, and whether the interval excludes chance (0.5).

    An interval wholly below 0.5 is signal too: the scores rank the classes the wrong way round.
    """
    auroc = ranking_metrics(labels, scores)["auroc"]
    interval = bootstrap_interval(auroc_rows, labels, scores, samples, seed, groups)
    chance = interval["low"] <= 0.5 <= interval["high"]
    return {"auroc": auroc, "auroc_ci": interval, "label_signal": not chance}


def partner_order(n: int, generator: torch.Generator) -> torch.Tensor:
    """A random permutation with no fixed point: patient i receives patient order[i]'s data."""
    cycle = torch.randperm(n, generator=generator)
    order = torch.empty(n, dtype=torch.long)
    order[cycle] = cycle.roll(-1)
    return order


@torch.no_grad()
def swap_moved_fraction(
    model: MultimodalNet,
    embeddings: dict[str, torch.Tensor],
    delta: float,
    generator: torch.Generator,
    recalibration: Recalibration | None = None,
) -> dict[str, float]:
    """Per modality, the share of patients whose probability moves by more than `delta` when
    that modality's embedding is swapped with another patient's (the others stay their own)."""
    first = next(iter(embeddings.values()))
    order = partner_order(len(first), generator).to(first.device)

    def probability(e: dict[str, torch.Tensor]) -> torch.Tensor:
        logits = model.fuse(e).double()
        return recalibration.apply(logits) if recalibration else torch.sigmoid(logits)

    full = probability(embeddings)
    return {
        m: float(((probability({**embeddings, m: embeddings[m][order]}) - full).abs() > delta)
                 .double().mean())
        for m in embeddings
    }
