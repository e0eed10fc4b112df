"""Temperature scaling: one scalar T fitted on validation logits, probability = sigmoid(logit / T).

Dividing every logit by the same positive T keeps the ranking (AUROC is unchanged) and, with the
threshold moved to sigmoid(logit(threshold) / T), every decision too; only the confidence of the
probabilities changes.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The T > 0 minimizing the mean binary cross-entropy of sigmoid(logits / T)."""
    logits, labels = logits.detach().double().cpu(), labels.detach().double().cpu()
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)  # T = exp(log_t) > 0
    optimizer = torch.optim.LBFGS([log_t], lr=0.5, max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.binary_cross_entropy_with_logits(logits / log_t.exp(), labels)
        loss.backward()
        return loss

    optimizer.step(closure)
    return float(log_t.detach().exp())


def scaled_threshold(threshold: float, temperature: float) -> float:
    """The threshold on sigmoid(logit / T) that makes the same decisions as `threshold` at T=1."""
    threshold = min(max(threshold, 1e-12), 1 - 1e-12)
    logit = math.log(threshold / (1 - threshold))
    return 1 / (1 + math.exp(-logit / temperature))
