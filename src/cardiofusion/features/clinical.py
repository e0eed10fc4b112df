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

from cardiofusion.clinical_values import category_text, is_missing


@dataclass(frozen=True)
class ClinicalEncoder:
    """Imputation, one-hot categories, missing indicators and standardization, as fitted."""

    numeric: list[str]
    categorical: dict[str, list[str]]  # column -> categories seen in the train split (as text)
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
            c: sorted({category_text(v) for v in train[c] if not is_missing(v)}, key=_order)
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
        """float32 (rows x features); a category training never saw ("other") sets the
        column's `_missing` flag, as a missing value does. A value beyond float32
        becomes inf, which the callers refuse (validate's ranges, the API's distance check)."""
        raw = self._encode(frame)
        with np.errstate(over="ignore"):
            return ((raw - np.asarray(self.means)) / np.asarray(self.stds)).astype(np.float32)

    def transform_row(self, row: Mapping[str, float | str | None]) -> np.ndarray:
        """One patient's values (None or NaN = missing) → float32 vector."""
        values = {c: [np.nan if row.get(c) is None else float(row[c])] for c in self.numeric}
        values |= {c: [row.get(c)] for c in self.categorical}
        return self.transform(pd.DataFrame(values))[0]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> ClinicalEncoder:
        """Also reads encoders saved when categories were numbers only."""
        categorical = {c: [category_text(v) for v in values]
                       for c, values in data["categorical"].items()}  # type: ignore[attr-defined]
        return cls(**{**data, "categorical": categorical})  # type: ignore[arg-type]

    def _encode(self, frame: pd.DataFrame) -> np.ndarray:
        parts = []
        for column in self.numeric:
            values = frame[column].to_numpy(dtype=np.float64)
            missing = np.isnan(values)
            parts += [np.where(missing, self.medians[column], values), missing]
        for column, categories in self.categorical.items():
            missing = frame[column].map(is_missing).to_numpy(dtype=bool)
            values = np.array([category_text(v) for v in frame[column]], dtype=object)
            known = np.isin(values, categories) & ~missing
            parts += [known & (values == category) for category in categories]
            parts.append(~known)  # missing, or "other": a category training never saw
        if not parts:
            return np.zeros((len(frame), 0))
        return np.column_stack(parts).astype(np.float64)

    def _names(self) -> list[str]:
        names = []
        for column in self.numeric:
            names += [column, f"{column}_missing"]
        for column, categories in self.categorical.items():
            names += [f"{column}={c}" for c in categories] + [f"{column}_missing"]
        return names


def _order(category: str) -> tuple[int, float, str]:
    """Number-coded categories in numeric order (2 before 10), then text ones."""
    try:
        return (0, float(category), category)
    except ValueError:
        return (1, 0.0, category)


def _finite_or_zero(value: float) -> float:
    return 0.0 if value is None or math.isnan(value) else float(value)
