"""The served tiers are the promoted model's measured ones, advice included."""

import numpy as np

from cardiofusion.model.risk_tiers import tier_evidence
from cardiofusion.serve.risk import risk_tier, served_tiers


def test_served_tiers_carry_the_observed_rates_and_their_advice():
    probabilities = np.array([0.05] * 30 + [0.5] * 10 + [0.9] * 20)
    labels = np.array([0] * 30 + [1] * 5 + [0] * 5 + [1] * 20)
    evidence = tier_evidence(probabilities, labels, np.arange(60).astype(str))
    tiers = served_tiers(evidence)
    assert risk_tier(0.05, tiers).observed_rate == 0.0
    assert risk_tier(0.5, tiers).observed_rate == 0.5
    assert risk_tier(0.95, tiers).recommendation.startswith("Refer")
    assert risk_tier(0.3, tiers).observed_rate is None  # no validation patient there
