"""The clinical form fields a model expects, and their checks, read from the model's encoder.

Values arrive as text in raw units. Empty means unknown: the encoder imputes it exactly as in
training. A numeric value far outside what the train split held is refused rather than
extrapolated: outside [min - span, max + span], span = max - min (never below 0 when training
never went below 0), which lets any plausible patient through but catches a wrong unit (a
temperature in Fahrenheit, a cholesterol in mmol/L). A category training never saw is refused
with the allowed values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from cardiofusion.clinical_values import MISSING_TOKENS, category_text, is_missing
from cardiofusion.features.clinical import ClinicalEncoder
from cardiofusion.serve.errors import InputError, shown


@dataclass(frozen=True)
class ClinicalField:
    name: str
    categories: list[str] | None  # categorical fields: the values seen in training
    observed: tuple[float, float] | None  # numeric fields: train-split [min, max], when known
    median: float | None  # numeric fields: what an empty value is imputed with

    @property
    def accepted(self) -> tuple[float, float] | None:
        """The range a numeric value must fall in (None: no range recorded, anything finite)."""
        if self.observed is None:
            return None
        low, high = self.observed
        span = high - low if high > low else max(abs(high), 1.0)
        floor = low - span if low < 0 else max(low - span, 0.0)
        return floor, high + span

    def describe(self) -> str:
        if self.categories is not None:
            return f"one of {', '.join(self.categories)}; empty = unknown"
        text = f"number; empty = unknown (imputed {self.median:g})"
        if self.observed is not None and self.accepted is not None:
            text += (f"; training range {_listed(self.observed, ' to ')}, accepted "
                     f"{_listed(self.accepted, ' to ')}")
        return text

    def json_schema(self) -> dict[str, object]:
        """What the field accepts, for the OpenAPI schema: a number within the accepted range,
        or one of the categories (the first option), or a word for unknown. It arrives as form
        text. (`anyOf` replaces the plain string FastAPI would say.)"""
        unknown = {"type": "string", "enum": sorted(MISSING_TOKENS)}
        if self.categories is not None:
            options: list[dict[str, object]] = [{"type": "string", "enum": self.categories}]
            numbers = _numeric(self.categories)
            if numbers:  # `1`, `1.0` and `1e0` name one category
                options.append({"type": "number", "enum": numbers})
            return {"anyOf": [*options, unknown]}
        number: dict[str, object] = {"type": "number"}
        if self.accepted is not None:
            number.update(minimum=self.accepted[0], maximum=self.accepted[1])
        return {"anyOf": [number, unknown]}

    def parse(self, raw: str | None) -> float | str | None:
        """The value as a float, or a category as text (None when empty or a missing-value
        word such as `NA`); ValueError says what is wrong."""
        if is_missing(raw):
            return None
        if self.categories is not None:
            category = category_text(raw)
            if category not in self.categories:
                raise ValueError(f"{shown(raw.strip())} is not a category seen in training; "
                                 f"allowed: {', '.join(self.categories)} (or leave it empty)")
            return category
        try:
            value = float(raw.strip())
        except ValueError:
            raise ValueError(f"{shown(raw)} is not a number") from None
        if not math.isfinite(value):
            raise ValueError(f"{shown(raw)} is not a finite number (NaN, inf and values "
                             "beyond 1.8e308 are refused)")
        accepted = self.accepted
        if accepted is not None and not accepted[0] <= value <= accepted[1]:
            raise ValueError(
                f"{shown(raw.strip())} is far outside the training range "
                f"{_listed(self.observed, ' to ')} "
                f"(accepted {_listed(accepted, ' to ')}); check the unit"
            )
        return value


class ClinicalForm:
    """All clinical fields of one model, in the encoder's column order."""

    def __init__(self, encoder: ClinicalEncoder) -> None:
        numeric = [
            ClinicalField(name, None, _pair(encoder.ranges.get(name)), encoder.medians[name])
            for name in encoder.numeric
        ]
        categorical = [
            ClinicalField(name, list(categories), None, None)
            for name, categories in encoder.categorical.items()
        ]
        self.fields = numeric + categorical

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    def parse(self, raw: Mapping[str, str | None]) -> dict[str, float | str | None]:
        """Every field's value; one InputError listing every bad field."""
        values: dict[str, float | str | None] = {}
        problems: list[tuple[str | None, str]] = []
        for field in self.fields:
            try:
                values[field.name] = field.parse(raw.get(field.name))
            except ValueError as exc:
                problems.append((field.name, str(exc)))
        if problems:
            raise InputError(problems)
        return values


def _pair(values: list[float] | None) -> tuple[float, float] | None:
    return None if values is None else (float(values[0]), float(values[1]))


def _listed(values: object, separator: str = ", ") -> str:
    return separator.join(f"{v:g}" for v in values)  # type: ignore[attr-defined]


def _numeric(categories: list[str]) -> list[int | float]:
    """The categories that are numbers, as numbers (whole ones as integers)."""
    numbers: list[int | float] = []
    for category in categories:
        try:
            number = float(category)
        except ValueError:
            continue
        if math.isfinite(number):
            numbers.append(int(number) if number.is_integer() else number)
    return numbers
