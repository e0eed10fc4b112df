"""Read the label column into 0 (healthy) / 1 (abnormal), whatever spelling the CSV uses.

A value is never guessed: a label the map does not cover, or a number that is not exactly 0 or
1, is a row problem; nothing is rounded.
"""

from __future__ import annotations

import math

import pandas as pd

from cardiofusion.config import DataParams
from cardiofusion.data.table_checks import Problem, Rows
from cardiofusion.errors import CardiofusionError
from cardiofusion.quoting import shown


def check_labels(raw: pd.Series, rows: Rows, data: DataParams) -> tuple[pd.Series, list[Problem]]:
    """Labels as floats (NaN for a problem row) and one problem per row that has no label."""
    mapping = _label_mapping(raw, data)
    labels, problems = {}, []
    for i, value in raw.items():
        text = value.strip()
        label, reason, detail = _one_label(text, mapping, data)
        labels[i] = label
        if reason:
            problems.append(rows.problem(i, str(raw.name), reason, detail))
    return pd.Series(labels, dtype=float), problems


def _label_mapping(raw: pd.Series, data: DataParams) -> dict[str, int] | None:
    """The text -> label map in force: data.label_map, or one built from data.positive_label."""
    if data.label_map:
        return dict(data.label_map)
    if data.positive_label is None:
        return None
    positive = data.positive_label
    others = sorted({t for t in raw.str.strip() if t and not _same_label(t, positive)})
    if len(others) > 1:
        listed = ", ".join(shown(t) for t in others[:8])
        raise CardiofusionError(
            f"{data.csv}: data.positive_label={positive!r} leaves {len(others)} other values in "
            f"column {data.label_column!r} ({listed}); only one may mean healthy. List every "
            "spelling in data.label_map instead, e.g. {normal: 0, Normal: 0, abnormal: 1}"
        )
    return {positive: 1, **{t: 0 for t in others}}


def _one_label(
    text: str, mapping: dict[str, int] | None, data: DataParams
) -> tuple[float, str | None, str]:
    if text == "":
        return math.nan, "label_missing", "label is missing"
    if mapping is not None:
        for key, label in mapping.items():
            if _same_label(text, key):
                return float(label), None, ""
        keys = ", ".join(repr(k) for k in mapping)
        return (
            math.nan,
            "label_not_in_map",
            f"label {shown(text)} is not in data.label_map ({keys}); add it there or fix the row",
        )
    number = _number(text)
    if number is None or math.isnan(number):
        return (
            math.nan,
            "label_not_numeric",
            f"label {shown(text)} is not 0 or 1; for other spellings set data.label_map",
        )
    if not math.isfinite(number) or number != round(number):
        return math.nan, "label_not_integral", f"label {text} is not 0 or 1 (never rounded)"
    if number not in (0, 1):
        return (
            math.nan,
            "label_out_of_range",
            f"label {text} is not 0 (healthy) or 1; for other codes set data.label_map",
        )
    return float(number), None, ""


def _same_label(text: str, key: str) -> bool:
    """Equal as text, or as numbers (`1`, `1.0`)."""
    if text == key:
        return True
    a, b = _number(text), _number(key)
    return a is not None and a == b


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None
