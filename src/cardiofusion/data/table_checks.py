"""Checks of the metadata table itself: labels, clinical values, duplicates, and dataset-level
smells (imputed copies, a header that is a value, per-modality label columns)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cardiofusion.clinical_values import category_text, is_missing
from cardiofusion.quoting import shown


@dataclass(frozen=True)
class Problem:
    """One row-level problem; the row is dropped (or the run refused) because of it."""

    line: int  # line in the CSV file (header is line 1)
    patient_id: str
    column: str
    reason: str
    detail: str

    def __str__(self) -> str:
        return f"line {self.line} ({self.patient_id}), column {self.column}: {self.detail}"


@dataclass(frozen=True)
class Rows:
    """What every row check needs to name a row: its CSV line and patient id."""

    lines: pd.Series
    ids: pd.Series

    def problem(self, i: object, column: str, reason: str, detail: str) -> Problem:
        return Problem(int(self.lines[i]), _short(str(self.ids[i])), column, reason, detail)


_LABEL_LIKE = re.compile(r"(^label[_\W]|[_\W]label$|^target[_\W]|^y[_\W])", re.IGNORECASE)
MAX_ID_CHARS = 40
MAX_TEXT_CATEGORIES = 50  # a text column with more distinct values is free text, not a category
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _short(patient_id: str) -> str:
    """An id as a message names its row: cut when a cell holds far more than an id."""
    return patient_id if len(patient_id) <= MAX_ID_CHARS else f"{patient_id[:MAX_ID_CHARS]}..."


def is_label_like(column: str) -> bool:
    """Per-modality label columns such as `label_ecg`: never clinical inputs (they leak)."""
    return bool(_LABEL_LIKE.search(column))


def column_kinds(table: pd.DataFrame, columns: list[str]) -> dict[str, str]:
    """`numeric` when most filled cells are numbers (surrounding spaces allowed; the others
    are then typos, reported by row), else `categorical` (text and booleans); a column with no
    filled cell is `empty`."""
    kinds = {}
    for column in columns:
        filled = table[column][~table[column].map(is_missing)]
        numbers = pd.to_numeric(filled.str.strip(), errors="coerce").notna()
        if filled.empty:
            kinds[column] = "empty"
        else:
            kinds[column] = "numeric" if numbers.mean() >= 0.5 else "categorical"
    return kinds


def free_text_columns(table: pd.DataFrame, kinds: dict[str, str]) -> dict[str, int]:
    """Text columns with too many distinct values to be categories (notes, names, ids): the
    count of distinct values of each."""
    found = {}
    for column, kind in kinds.items():
        if kind != "categorical":
            continue
        filled = table[column][~table[column].map(is_missing)].str.strip()
        distinct = filled.nunique()
        if distinct > MAX_TEXT_CATEGORIES or (distinct > 2 and distinct > len(filled) / 2):
            found[column] = int(distinct)
    return found


def check_clinical(
    table: pd.DataFrame, kinds: dict[str, str], ranges: dict[str, tuple[float, float]],
    rows: Rows,
) -> tuple[pd.DataFrame, list[Problem]]:
    """Numbers (finite, within the optional ranges) and categories (text as written, numbers
    in one spelling); every missing-value spelling (`nan`, `NA`, `?`, empty ...) becomes a
    missing value, imputed later."""
    columns: dict[str, pd.Series] = {}  # one frame at the end: inserting column by column
    problems = []  # is quadratic in the number of columns
    for column, kind in kinds.items():
        text = table[column].str.strip()
        missing = text.map(is_missing)
        if kind == "categorical":
            columns[column] = text.map(category_text).where(~missing, None)
            continue
        numbers = pd.to_numeric(text.where(~missing, ""), errors="coerce")
        for i in text.index[~missing & numbers.isna()]:
            detail = (f"value {shown(text[i])} is not a number, in a column of numbers (leave "
                      "it empty, or write NA, if unknown)")
            problems.append(rows.problem(i, column, "clinical_not_numeric", detail))
        infinite = np.isinf(numbers)
        for i in numbers.index[infinite]:
            detail = f"value {shown(text[i])} is not a finite number (leave it empty if unknown)"
            problems.append(rows.problem(i, column, "clinical_not_finite", detail))
        numbers = numbers.mask(infinite)
        if column in ranges:
            low, high = ranges[column]
            outside = numbers.notna() & ~numbers.between(low, high)
            for i in numbers.index[outside]:
                detail = f"value {numbers.at[i]:g} outside validate.ranges [{low}, {high}]"
                problems.append(rows.problem(i, column, "clinical_out_of_range", detail))
        columns[column] = numbers
    values = pd.DataFrame(columns, index=table.index)
    return values, problems


def check_duplicate_ids(ids: pd.Series, column: str, rows: Rows) -> list[Problem]:
    """A repeated patient id: later occurrences are problems, the first is kept. (Rows sharing
    a file are not duplicates: see shared_files.)"""
    first_line = rows.lines.groupby(ids.to_numpy()).transform("first")
    return [
        rows.problem(i, column, "duplicate_id", f"{ids[i]} repeats line {first_line[i]}")
        for i in ids.index[ids.duplicated(keep="first")]
    ]


def check_header(header: list[str]) -> str | None:
    """Two columns of one name would be renamed silently (`output.1`) and one could become an
    input; an empty name cannot be referred to."""
    seen: dict[str, int] = {}
    for number, name in enumerate(header, start=1):
        key = name.strip()
        if key in seen:
            return (
                f"columns {seen[key]} and {number} are both named {shown(key)}: rename or remove "
                "one (a copy of the label among the inputs would leak it)"
            )
        seen[key] = number
    return None


def label_copies(table: pd.DataFrame, labels: pd.Series, candidates: list[str]) -> list[str]:
    """Columns whose values equal the label on every labelled row: inputs that would leak it."""
    known = labels.notna()
    if not known.any():
        return []
    return [
        column
        for column in candidates
        if pd.to_numeric(table.loc[known, column], errors="coerce").eq(labels[known]).all()
    ]


def dataset_findings(
    table: pd.DataFrame, values: pd.DataFrame, labels: pd.Series, label_columns: list[str]
) -> dict[str, object]:
    """Smells that concern the whole file rather than one row; reported, never dropped."""
    complete = values.dropna() if len(values.columns) else values.iloc[:0]
    vector_counts = complete.value_counts() if len(values.columns) else pd.Series(dtype=int)
    return {
        "headers_that_look_like_values": [c for c in table.columns if _NUMBER.match(c.strip())],
        "constant_clinical_columns": [c for c in values if values[c].nunique(dropna=True) <= 1],
        "rows_with_missing_clinical": int(values.isna().any(axis=1).sum()),
        "missing_clinical_values": {c: int(n) for c, n in values.isna().sum().items() if n},
        "complete_clinical_rows": len(complete),
        "distinct_clinical_vectors": len(vector_counts),
        "rows_sharing_a_clinical_vector": int(vector_counts[vector_counts > 1].sum()),
        "label_agreement": {
            column: _contingency(table[column], labels) for column in label_columns
        },
    }


def _contingency(other: pd.Series, labels: pd.Series) -> dict[str, object]:
    """Counts of (per-modality label, target label) pairs and how often they disagree."""
    other_values = pd.to_numeric(other, errors="coerce")
    both = other_values.notna() & labels.isin([0, 1])
    pairs = pd.crosstab(other_values[both], labels[both])
    table = {
        f"{other.name}={a:g}": {f"target={b:g}": int(pairs.at[a, b]) for b in pairs.columns}
        for a in pairs.index
    }
    disagree = int((other_values[both] != labels[both]).sum())
    return {"table": table, "disagree": disagree, "compared": int(both.sum())}
