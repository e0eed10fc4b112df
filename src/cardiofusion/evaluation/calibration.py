"""Probabilities that mean what they say: undo the sampler's prior, then calibrate on validation.

The class-balanced sampler trains the model for a 50:50 prior, so its probabilities understate
how common abnormal is in the data; a temperature cannot undo that (it only rescales
confidence). The prior is undone first, in closed form: adding logit(data prior) - logit(trained
prior) to every logit is the Bayes correction for a changed class prior (Saerens et al., Neural
Computation 2002). Then a temperature (probability = sigmoid(z / T)) and Platt scaling
(sigmoid(a z + c), a > 0) are fitted on the validation logits and the one with the lower
validation NLL is kept.

Both give probability = sigmoid(logit / T + shift) with T > 0: increasing in the logit, so the
ranking (AUROC) is unchanged and, with the threshold mapped the same way, every decision too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Recalibration:
    """probability = sigmoid(logit / temperature + shift)."""

    method: str  # "temperature" or "platt"
    temperature: float
    shift: float
    prior_shift: float  # the part of `shift` that undoes the sampler's prior (before scaling)

    def apply(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(logits / self.temperature + self.shift)

    def threshold(self, threshold: float) -> float:
        """The threshold that makes the same decisions on the recalibrated probabilities."""
        return _sigmoid(_logit(threshold) / self.temperature + self.shift)


def prior_offset(data_prevalence: float, trained_prevalence: float) -> float:
    """Logit offset from probabilities trained at one abnormal share to another."""
    return _logit(data_prevalence) - _logit(trained_prevalence)


def fit_recalibration(logits: torch.Tensor, labels: torch.Tensor, offset: float
                      ) -> tuple[Recalibration, dict[str, float]]:
    """The lower-NLL of temperature and Platt scaling on prior-corrected validation logits,
    and the validation NLL of each candidate (and of the uncorrected logits)."""
    logits, labels = logits.detach().double().cpu(), labels.detach().double().cpu()
    corrected = logits + offset
    log_t = _fit(lambda p: F.binary_cross_entropy_with_logits(corrected / p[0].exp(), labels),
                 parameters=1)
    temperature = math.exp(log_t[0])
    log_a, c = _fit(lambda p: F.binary_cross_entropy_with_logits(
        corrected * p[0].exp() + p[1], labels), parameters=2)
    a = math.exp(log_a)
    candidates = {
        "temperature": Recalibration("temperature", temperature, offset / temperature, offset),
        "platt": Recalibration("platt", 1 / a, a * offset + c, offset),
    }
    nll = {name: _nll(r, logits, labels) for name, r in candidates.items()}
    nll["uncalibrated"] = float(F.binary_cross_entropy_with_logits(logits, labels))
    best = min(candidates, key=lambda name: nll[name])
    return candidates[best], nll


def _fit(loss: object, parameters: int) -> list[float]:
    values = torch.zeros(parameters, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([values], lr=0.5, max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        value = loss(values)  # type: ignore[operator]
        value.backward()
        return value

    optimizer.step(closure)
    return values.detach().tolist()


def _nll(recalibration: Recalibration, logits: torch.Tensor, labels: torch.Tensor) -> float:
    z = logits / recalibration.temperature + recalibration.shift
    return float(F.binary_cross_entropy_with_logits(z, labels))


def _logit(p: float) -> float:
    p = min(max(p, 1e-12), 1 - 1e-12)
    return math.log(p / (1 - p))


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))
