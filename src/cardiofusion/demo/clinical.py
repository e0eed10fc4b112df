"""Clinical table rows in the raw units of the heart-disease table (age, sex, cp, trtbps, ...).

Each feature is drawn from a mixture of a healthy and a disease-like distribution; `shift`
(0..1) moves a patient between them, so the table carries as much label signal as the latent
patient allows and no single column gives the label away.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np

Value = TypeVar("Value", float, np.ndarray)

CLINICAL_COLUMNS = (
    "age", "sex", "cp", "trtbps", "chol", "fbs", "restecg",
    "thalachh", "exng", "oldpeak", "slp", "caa", "thall",
)  # fmt: skip
CATEGORICAL_COLUMNS = ("cp", "restecg", "slp", "caa", "thall")
MISSABLE_COLUMNS = ("trtbps", "chol", "thalachh", "caa", "thall")

# (healthy, disease) parameters per column
_GAUSSIAN = {  # mean, sd, low, high, decimals
    "age": ((52.0, 9.0), (58.0, 8.5), 29, 79, 0),
    "trtbps": ((128.0, 15.0), (135.0, 18.0), 90, 200, 0),
    "chol": ((240.0, 45.0), (250.0, 50.0), 120, 560, 0),
    "thalachh": ((158.0, 18.0), (143.0, 22.0), 70, 205, 0),
}
_BINARY = {"sex": (0.55, 0.72), "fbs": (0.12, 0.2), "exng": (0.12, 0.42)}
_CATEGORICAL = {
    "cp": ((0.55, 0.2, 0.15, 0.1), (0.35, 0.2, 0.3, 0.15)),
    "restecg": ((0.55, 0.42, 0.03), (0.42, 0.52, 0.06)),
    "slp": ((0.05, 0.35, 0.6), (0.1, 0.55, 0.35)),
    "caa": ((0.75, 0.15, 0.06, 0.03, 0.01), (0.45, 0.25, 0.17, 0.1, 0.03)),
    "thall": ((0.01, 0.05, 0.8, 0.14), (0.02, 0.08, 0.45, 0.45)),
}
_OLDPEAK_MEAN = (0.6, 1.5)  # exponential ST depression on exercise, mm


def sample_clinical(
    rng: np.random.Generator, shift: float, missing_fraction: float
) -> dict[str, float]:
    """One patient's clinical row; a few values are missing (NaN) like real records."""
    row: dict[str, float] = {}
    for column, ((mu0, sd0), (mu1, sd1), low, high, decimals) in _GAUSSIAN.items():
        mu, sd = _mix(mu0, mu1, shift), _mix(sd0, sd1, shift)
        row[column] = float(np.round(np.clip(rng.normal(mu, sd), low, high), decimals))
    for column, (p0, p1) in _BINARY.items():
        row[column] = float(rng.random() < _mix(p0, p1, shift))
    for column, (p0, p1) in _CATEGORICAL.items():
        p = _mix(np.asarray(p0), np.asarray(p1), shift)
        row[column] = float(rng.choice(len(p), p=p / p.sum()))
    row["oldpeak"] = float(np.round(min(rng.exponential(_mix(*_OLDPEAK_MEAN, shift)), 6.2), 1))
    for column in MISSABLE_COLUMNS:
        if rng.random() < missing_fraction:
            row[column] = float("nan")
    return {column: row[column] for column in CLINICAL_COLUMNS}


def _mix(healthy: Value, disease: Value, shift: float) -> Value:
    return healthy + shift * (disease - healthy)
