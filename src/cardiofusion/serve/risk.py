"""The risk tiers the API serves: probability bands with the abnormal rate evaluate observed in
each on validation, and advice that follows from that rate (model/risk_tiers.py).

The tiers read the calibrated probability, the class reads the tuned threshold: a patient can be
classed abnormal at a "low" probability when the threshold is low, and the page shows both. A
model that was never evaluated and promoted carries no evidence, and its tiers say so.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from cardiofusion.model.risk_tiers import TIERS, tier_index

NO_EVIDENCE = ("This model carries no measured abnormal rate for its tiers (it was not "
               "promoted after evaluation): read the probability only with clinical review.")
DISCLAIMER = "Decision support only: a clinician must confirm any finding."


@dataclass(frozen=True)
class RiskTier:
    name: str
    low: float  # inclusive
    high: float  # exclusive, except 1.0
    recommendation: str
    patients: int = 0  # validation patients in the tier
    observed_rate: float | None = None  # their abnormal share
    rate_low: float | None = None
    rate_high: float | None = None


def served_tiers(evidence: list[dict[str, object]] | None) -> tuple[RiskTier, ...]:
    """The model's measured tiers, or the bands without evidence."""
    if not evidence:
        return tuple(RiskTier(name, low, high, NO_EVIDENCE) for name, low, high in TIERS)
    names = {f.name for f in fields(RiskTier)}
    return tuple(RiskTier(**{k: v for k, v in tier.items() if k in names})  # type: ignore[arg-type]
                 for tier in evidence)


def risk_tier(probability: float, tiers: tuple[RiskTier, ...]) -> RiskTier:
    return tiers[tier_index(probability)]
