"""MMPareto gradient integration (Wei and Hu, "MMPareto: Boosting Multimodal Learning with
Innocent Unimodal Assistance", ICML 2024), following the official implementation.

Each encoder receives two gradients: the fused (multimodal) loss's and its own unimodal loss's.
When they agree (positive cosine) both count equally; when they conflict, the closed-form
minimum-norm point of their convex hull (two-task MGDA) weights them, which is a Pareto-stationary
direction: it never increases either loss to first order. The combination is then rescaled so
its norm is at least that of the plain sum, and by a constant 1.5, as the official code does, so
that the conflict-free direction does not also make the step smaller.
"""

from __future__ import annotations

import torch

from cardiofusion.model.network import MultimodalNet

MAGNITUDE = 1.5  # the official code's constant step enlargement after integration


def pareto_weights(multimodal: torch.Tensor, unimodal: torch.Tensor) -> tuple[float, float]:
    """Weights of (multimodal, unimodal) gradient: 0.5 each unless they conflict, then the
    minimum-norm convex combination (with a non-positive inner product it lies inside the
    segment, so the min-norm solver's clipping never applies)."""
    v11 = float(multimodal @ multimodal)
    v12 = float(multimodal @ unimodal)
    v22 = float(unimodal @ unimodal)
    if v12 > 0 or v11 + v22 == 0:
        return 0.5, 0.5
    gamma = (v22 - v12) / (v11 + v22 - 2 * v12)
    return gamma, 1 - gamma


def integrate(multimodal: list[torch.Tensor], unimodal: list[torch.Tensor]
              ) -> tuple[list[torch.Tensor], tuple[float, float]]:
    """One encoder's gradients per parameter, and the weights that combined them."""
    k_mm, k_uni = pareto_weights(torch.cat([g.flatten() for g in multimodal]),
                                 torch.cat([g.flatten() for g in unimodal]))
    combined = []
    for g_mm, g_uni in zip(multimodal, unimodal, strict=True):
        new = 2 * k_mm * g_mm + 2 * k_uni * g_uni
        ratio = torch.linalg.vector_norm(g_mm + g_uni) / torch.linalg.vector_norm(new).clamp_min(
            1e-12)
        combined.append(new * MAGNITUDE * torch.clamp(ratio, min=1.0))
    return combined, (k_mm, k_uni)


def mmpareto_backward(model: MultimodalNet, fused_loss: torch.Tensor,
                      unimodal_losses: dict[str, torch.Tensor]) -> dict[str, tuple[float, float]]:
    """Set every parameter's .grad: the fusion head from the fused loss, each auxiliary head from
    its own loss, each encoder from the MMPareto integration of both. Returns the weights."""
    encoders = {m: [p for p in model.encoders[m].parameters() if p.requires_grad]
                for m in model.modalities}
    heads = [p for m in model.modalities for p in model.aux_heads[m].parameters()]
    fusion = list(model.fusion.parameters())
    encoder_params = [p for m in model.modalities for p in encoders[m]]
    g_fused = torch.autograd.grad(fused_loss, fusion + encoder_params, retain_graph=True,
                                  allow_unused=True)
    g_own = torch.autograd.grad(sum(unimodal_losses.values()), heads + encoder_params,
                                allow_unused=True)
    fused = dict(zip(fusion + encoder_params, g_fused, strict=True))
    own = dict(zip(heads + encoder_params, g_own, strict=True))
    for p in fusion + heads:
        gradient = fused.get(p) if p in fused else own.get(p)
        p.grad = None if gradient is None else gradient.detach()
    weights = {}
    for m in model.modalities:
        params = encoders[m]
        combined, weights[m] = integrate(
            [_or_zero(fused[p], p) for p in params], [_or_zero(own[p], p) for p in params]
        )
        for p, gradient in zip(params, combined, strict=True):
            p.grad = gradient.detach()
    return weights


def _or_zero(gradient: torch.Tensor | None, parameter: torch.Tensor) -> torch.Tensor:
    return torch.zeros_like(parameter) if gradient is None else gradient
