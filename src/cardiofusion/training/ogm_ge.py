"""On-the-fly gradient modulation with generalization enhancement (OGM-GE).

Peng et al., "Balanced Multimodal Learning via On-the-fly Gradient Modulation", CVPR 2022: the
modality whose own prediction is already the most confident has its encoder gradients scaled
down, so the others get room to learn, and Gaussian noise of the gradient's own scale is added
to keep the slowed branch generalizing. With three modalities, each one's confidence comes from
its auxiliary head and is compared with the mean of the other two.
"""

from __future__ import annotations

import math

import torch

from cardiofusion.model.network import MultimodalNet


def ogm_coefficients(
    aux_logits: dict[str, torch.Tensor], labels: torch.Tensor, alpha: float
) -> dict[str, float]:
    """k_m = 1 - tanh(alpha * (rho_m - 1)) for a modality ahead of the others, else 1.

    rho_m is m's mean probability of the true class over the batch, divided by the mean of the
    other modalities' (the discrepancy ratio of the paper).
    """
    confidence = {
        m: float(torch.where(labels > 0.5, torch.sigmoid(z), 1 - torch.sigmoid(z)).mean())
        for m, z in aux_logits.items()
    }
    coefficients = {}
    for m in confidence:
        others = [confidence[o] for o in confidence if o != m]
        if not others:  # one modality: nothing to be ahead of
            coefficients[m] = 1.0
            continue
        ratio = confidence[m] / max(sum(others) / len(others), 1e-8)
        coefficients[m] = 1 - math.tanh(alpha * (ratio - 1)) if ratio > 1 else 1.0
    return coefficients


@torch.no_grad()
def modulate_gradients(
    model: MultimodalNet, coefficients: dict[str, float], generator: torch.Generator
) -> None:
    """Scale each slowed encoder's gradients by k_m and add noise of the gradient's scale."""
    for m, k in coefficients.items():
        if k == 1.0:
            continue
        for parameter in model.encoders[m].parameters():
            grad = parameter.grad
            if grad is None or grad.numel() < 2:
                continue
            noise = torch.randn(grad.shape, generator=generator).to(grad.device)
            grad.mul_(k).add_(noise * (grad.std() + 1e-8))
