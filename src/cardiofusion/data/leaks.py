"""Columns that give the label away: not only a copy of it, but a column whose missingness or
whose values alone separate the classes perfectly ("murmur location" is empty exactly when
there is no murmur). A model fed such a column learns the bookkeeping, not the heart.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MIN_ROWS_PER_CLASS = 5  # fewer labelled rows of a class and a perfect split can be chance
CLASS_NAMES = ("healthy", "abnormal")


def separating_columns(values: pd.DataFrame, labels: pd.Series, columns: list[str]
                       ) -> dict[str, str]:
    """column -> the pattern by which it separates the labelled rows perfectly."""
    known = labels.isin([0, 1]).to_numpy()
    label = labels[known].astype(int).to_numpy()
    if min(np.sum(label == 0), np.sum(label == 1)) < MIN_ROWS_PER_CLASS:
        return {}
    found = {}
    for column in columns:
        column_values = values.loc[known, column]
        pattern = _missingness(column_values.isna().to_numpy(), label) or _values(
            column_values, label)
        if pattern:
            found[column] = pattern
    return found


def _missingness(missing: np.ndarray, label: np.ndarray) -> str | None:
    if missing.all() or not missing.any():
        return None
    for empty_class in (0, 1):
        if np.array_equal(missing, label == empty_class):
            filled = 1 - empty_class
            n_empty, n_filled = int(np.sum(label == empty_class)), int(np.sum(label == filled))
            return (f"empty in all {n_empty} {CLASS_NAMES[empty_class]} rows, filled in "
                    f"{n_filled} of {n_filled} {CLASS_NAMES[filled]} rows")
    return None


def _values(column_values: pd.Series, label: np.ndarray) -> str | None:
    """Perfect separation among the rows with a value: by a threshold (numbers) or by disjoint
    categories (text)."""
    present = column_values.notna().to_numpy()
    by_class = [column_values[present & (label == c)] for c in (0, 1)]
    if min(len(v) for v in by_class) < MIN_ROWS_PER_CLASS:
        return None
    if pd.api.types.is_numeric_dtype(column_values):
        for low, high in ((0, 1), (1, 0)):
            if by_class[low].max() < by_class[high].min():
                return (f"every {CLASS_NAMES[low]} value (up to {by_class[low].max():g}) lies "
                        f"below every {CLASS_NAMES[high]} value (from {by_class[high].min():g})")
        return None
    healthy, abnormal = set(by_class[0]), set(by_class[1])
    if healthy & abnormal:
        return None
    return (f"no value occurs in both classes (healthy: {_some(healthy)}; abnormal: "
            f"{_some(abnormal)})")


def _some(values: set[object], shown: int = 3) -> str:
    listed = sorted(map(str, values))
    more = f" and {len(listed) - shown} more" if len(listed) > shown else ""
    return ", ".join(repr(v[:30]) for v in listed[:shown]) + more
