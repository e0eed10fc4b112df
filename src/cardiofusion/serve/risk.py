"""Five risk tiers over the predicted probability of an abnormal heart, each with what to do next.

The tiers read the probability, the class reads the tuned threshold: a patient can be classed
abnormal at a "low" probability when the threshold is low, and the page shows both.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RiskTier:
    name: str
    low: float  # inclusive
    high: float  # exclusive, except 1.0
    recommendation: str


RISK_TIERS = (
    RiskTier("very low", 0.0, 0.2,
             "Routine care; this screen gives no reason for cardiology follow-up."),
    RiskTier("low", 0.2, 0.4,
             "Routine follow-up; repeat the screen at the next scheduled visit."),
    RiskTier("moderate", 0.4, 0.6,
             "Clinical review advised: repeat the ECG and auscultation, consider referral."),
    RiskTier("high", 0.6, 0.8,
             "Refer for cardiology assessment (e.g. echocardiography) soon."),
    RiskTier("very high", 0.8, 1.0,
             "Prompt cardiology referral; review the ECG and heart-sound findings now."),
)

DISCLAIMER = "Decision support only: a clinician must confirm any finding."


def risk_tier(probability: float) -> RiskTier:
    for tier in RISK_TIERS:
        if probability < tier.high:
            return tier
    return RISK_TIERS[-1]
