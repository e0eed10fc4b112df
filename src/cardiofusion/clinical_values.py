"""How a clinical cell is read wherever one arrives: the CSV (validate), the feature encoder and
the API. One vocabulary of missing values and one spelling of a category, so a value means the
same thing in training and in serving.
"""

from __future__ import annotations

import math

# spellings of "unknown" that spreadsheets, pandas and R write into a cell (case-insensitive)
MISSING_TOKENS = frozenset({"", "nan", "na", "n/a", "null", "none", "?"})


def is_missing(text: object) -> bool:
    """An empty cell, a missing-value word, or a float NaN."""
    if text is None:
        return True
    if isinstance(text, float):
        return math.isnan(text)
    return str(text).strip().lower() in MISSING_TOKENS


def category_text(value: object) -> str:
    """A category as text: numbers in their shortest exact form (`1`, `1.0` and ` 1 ` are one
    category; `2.0000001` is another), anything else stripped."""
    if isinstance(value, int | float):
        return _number_text(float(value))
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return _number_text(number) if math.isfinite(number) else text


def _number_text(number: float) -> str:
    """Whole numbers without a decimal point, others as Python's shortest round-trip repr."""
    if number.is_integer() and abs(number) < 1e16:
        return str(int(number))
    return repr(number)
