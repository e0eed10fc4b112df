"""A risk tier's advice follows from the abnormal rate observed in it, never against it."""

import numpy as np

from cardiofusion.model.risk_tiers import TIERS, tier_evidence


def test_a_tier_full_of_abnormal_patients_is_never_told_routine_care():
    # the failure this prevents: 22 of 35 "very low" patients abnormal, advised no follow-up
    probabilities = np.full(35, 0.1)
    labels = np.array([1] * 22 + [0] * 13)
    tiers = tier_evidence(probabilities, labels, np.arange(35).astype(str))
    very_low = tiers[0]
    assert very_low["patients"] == 35 and very_low["abnormal"] == 22
    assert very_low["rate_low"] > 0.45
    assert "Routine" not in very_low["recommendation"]
    assert "22 of 35" in very_low["recommendation"]


def test_routine_care_needs_a_low_upper_bound_and_enough_groups():
    clean = tier_evidence(np.full(200, 0.1), np.zeros(200, dtype=int),
                          np.arange(200).astype(str))[0]
    assert clean["rate_high"] < 0.10 and clean["recommendation"].startswith("Routine care")
    # the same 200 rows as copies of 4 scans: too little evidence to say routine care
    copies = tier_evidence(np.full(200, 0.1), np.zeros(200, dtype=int),
                           np.repeat(["a", "b", "c", "d"], 50))[0]
    assert copies["groups"] == 4 and not copies["recommendation"].startswith("Routine care")


def test_every_tier_is_reported_even_when_empty():
    tiers = tier_evidence(np.array([0.9, 0.95]), np.array([1, 1]), np.array(["a", "b"]))
    assert [t["name"] for t in tiers] == [name for name, _, _ in TIERS]
    assert tiers[0]["observed_rate"] is None and "no evidence" in tiers[0]["recommendation"]
    assert tiers[-1]["abnormal"] == 2
