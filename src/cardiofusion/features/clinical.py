"""Clinical table row → standardized feature vector, with statistics from the train split only.

The encoder is plain data (lists and floats) so it is saved inside the model checkpoint and the
API encodes a single patient exactly as training did.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class ClinicalEncoder:
    """Imputation, one-hot categories, missing indicators and standardization, as fitted."""

    numeric: list[str]
    categorical: dict[str, list[float]]  # column -> categories seen in the train split
    medians: dict[str, float]
    means: list[float]
    stds: list[float]
    feature_names: list[str]
    # numeric column -> [min, max] seen in the train split: lets the API refuse a value in the
    # wrong unit; empty for models saved before it was recorded
    ranges: dict[str, list[float]] = field(default_factory=dict)

    @classmethod
    def fit(
        cls, train: pd.DataFrame, columns: list[str], categorical: list[str]
    ) -> ClinicalEncoder:
        numeric = [c for c in columns if c not in categorical]
        categories = {
            c: sorted(float(v) for v in train[c].dropna().unique())
            for c in columns
            if c in categorical
        }
        medians = {c: _finite_or_zero(train[c].median()) for c in numeric}
        ranges = {
            c: [float(train[c].min()), float(train[c].max())]
            for c in numeric
            if train[c].notna().any()
        }
        unscaled = cls(numeric, categories, medians, [], [], [])
        raw = unscaled._encode(train)
        means = raw.mean(axis=0)
        stds = raw.std(axis=0)
        stds[stds < 1e-8] = 1.0
        return cls(
            numeric, categories, medians, means.tolist(), stds.tolist(), unscaled._names(), ranges
        )

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """float32 (rows x features); unseen categories encode as missing. A value beyond float32
        becomes inf, which the callers refuse (validate's ranges, the API's distance check)."""
        raw = self._encode(frame)
        with np.errstate(over="ignore"):
            return ((raw - np.asarray(self.means)) / np.asarray(self.stds)).astype(np.float32)

    def transform_row(self, row: Mapping[str, float | None]) -> np.ndarray:
        """One patient's values (None or NaN = missing) → float32 vector."""
        columns = [*self.numeric, *self.categorical]
        values = {c: [np.nan if row.get(c) is None else float(row[c])] for c in columns}
        return self.transform(pd.DataFrame(values))[0]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> ClinicalEncoder:
        return cls(**data)  # type: ignore[arg-type]

    def _encode(self, frame: pd.DataFrame) -> np.ndarray:
        parts = []
        for column in self.numeric:
            values = frame[column].to_numpy(dtype=np.float64)
            missing = np.isnan(values)
            parts += [np.where(missing, self.medians[column], values), missing]
        for column, categories in self.categorical.items():
            values = frame[column].to_numpy(dtype=np.float64)
            parts += [values == category for category in categories]
            parts.append(~np.isin(values, categories))  # missing or unseen
        return np.column_stack(parts).astype(np.float64)

    def _names(self) -> list[str]:
        names = []
        for column in self.numeric:
            names += [column, f"{column}_missing"]
        for column, categories in self.categorical.items():
            names += [f"{column}={c:g}" for c in categories] + [f"{column}_missing"]
        return names


def _finite_or_zero(value: float) -> float:
    return 0.0 if value is None or math.isnan(value) else float(value)
