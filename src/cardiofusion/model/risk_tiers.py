"""Risk tiers over the calibrated probability, each with the abnormal rate actually observed in
it on validation, and advice that follows from that rate.

A tier's advice must never contradict the evidence: "no reason for follow-up" is only said of a
tier in which validation patients were almost never abnormal (the upper end of the rate's 95%
interval below 10%). The interval counts independent groups, not rows: copies of one scan are
one observation. Evaluate measures the tiers, promote stores them in the served model, and the
API, the page and the report show them.
"""

from __future__ import annotations

import math

import numpy as np

TIERS = (("very low", 0.0, 0.2), ("low", 0.2, 0.4), ("moderate", 0.4, 0.6),
         ("high", 0.6, 0.8), ("very high", 0.8, 1.0))
ROUTINE_BELOW = 0.10  # upper end of the observed rate below which routine care is the advice
REFER_FROM = 0.50  # lower end of the observed rate from which referral is the advice


def tier_index(probability: float) -> int:
    for index, (_, _, high) in enumerate(TIERS):
        if probability < high:
            return index
    return len(TIERS) - 1


def tier_evidence(probabilities: np.ndarray, labels: np.ndarray, groups: np.ndarray
                  ) -> list[dict[str, object]]:
    """Per tier: patients, independent groups, abnormal patients, the observed abnormal rate
    with a Wilson 95% interval over groups, and the advice it supports."""
    index = np.array([tier_index(float(p)) for p in probabilities], dtype=int)
    tiers = []
    for i, (name, low, high) in enumerate(TIERS):
        inside = index == i
        n, abnormal = int(inside.sum()), int(labels[inside].sum())
        independent = len(np.unique(groups[inside]))
        rate = abnormal / n if n else None
        rate_low, rate_high = _wilson(rate, independent) if rate is not None else (None, None)
        evidence = {"name": name, "low": low, "high": high, "patients": n,
                    "groups": independent, "abnormal": abnormal, "observed_rate": rate,
                    "rate_low": rate_low, "rate_high": rate_high}
        tiers.append({**evidence, "recommendation": advice(evidence)})
    return tiers


def advice(tier: dict[str, object]) -> str:
    """What to do, from the tier's observed abnormal rate and its interval."""
    if not tier["patients"]:
        return ("No validation patient fell in this tier, so there is no evidence for it: "
                "review clinically.")
    observed = (f"in validation {tier['abnormal']} of {tier['patients']} patients here were "
                f"abnormal ({tier['observed_rate']:.0%}, 95% CI {tier['rate_low']:.0%}-"
                f"{tier['rate_high']:.0%})")
    if float(tier["rate_high"]) < ROUTINE_BELOW:  # type: ignore[arg-type]
        return f"Routine care: {observed}."
    if float(tier["rate_low"]) >= REFER_FROM:  # type: ignore[arg-type]
        return f"Refer for cardiology assessment (e.g. echocardiography): {observed}."
    return f"Clinical review advised (repeat the ECG and auscultation): {observed}."


def _wilson(rate: float, n: int, z: float = 1.96) -> tuple[float, float]:
    centre = (rate + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)
