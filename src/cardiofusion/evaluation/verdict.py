"""The success criteria (`criteria.*`) as named checks, and the overall verdict.

A check passes or fails only when the interval of the figure it reads clears its threshold;
when the interval straddles the threshold the evidence does not decide and the check is
UNCERTAIN, naming the interval. The verdict is FAIL when any check fails, else UNCERTAIN when
any is uncertain, else PASS. Without an interval (a saved point figure), a check reads the
point.

A modality whose unimodal AUROC interval contains 0.5 carries no label signal on this data; the
model is right to lean on it little, so it is exempt from the lower share bounds, and the share
thresholds (written for an equal three-way split, 33.3% each) are rescaled to an equal split
among the k modalities that do carry signal (factor 3 / k). Every exemption is named in
`exempt`, so a pass is never silent about how it was reached.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from cardiofusion.config import MODALITIES, CriteriaParams
from cardiofusion.console import interval

Outcome = Literal["pass", "fail", "uncertain"]
Bounds = tuple[float, float]  # (low, high) of a 95% interval; (x, x) for a point figure


@dataclass(frozen=True)
class Verdict:
    checks: dict[str, Outcome]
    exempt: dict[str, str]  # check name -> why it passes although the share is low
    share_scale: float  # factor applied to the share thresholds (1.0: every modality has signal)
    share_range: list[float]  # the per-modality range the shares were held to, after scaling
    evidence: dict[str, str] = field(default_factory=dict)  # check -> the interval it read

    @property
    def outcome(self) -> Outcome:
        outcomes = set(self.checks.values())
        return "fail" if "fail" in outcomes else "uncertain" if "uncertain" in outcomes else "pass"


def within(bounds: Bounds, low: float, high: float) -> Outcome:
    """Inside [low, high] for certain, outside for certain, or undecided."""
    if low <= bounds[0] and bounds[1] <= high:
        return "pass"
    return "fail" if bounds[1] < low or bounds[0] > high else "uncertain"


def judge(
    shares: Mapping[str, Bounds | float],
    balanced_accuracy: Bounds | float,
    unimodal: dict[str, dict[str, object]],
    criteria: CriteriaParams,
) -> Verdict:
    """Check contributions and balanced accuracy (each as its interval) against the criteria."""
    verdict = share_checks(shares, unimodal, criteria)
    name = f"balanced_accuracy_at_least_{criteria.min_balanced_accuracy:g}"
    bounds = _bounds(balanced_accuracy)
    return replace(
        verdict,
        checks={**verdict.checks, name: within(bounds, criteria.min_balanced_accuracy, 1.0)},
        evidence={**verdict.evidence, name: _range(bounds, 100, "balanced accuracy")},
    )


def share_checks(
    shares: Mapping[str, Bounds | float],
    unimodal: dict[str, dict[str, object]] | None,
    criteria: CriteriaParams,
) -> Verdict:
    """The contribution checks alone; a share is its interval, or a point (percent).

    `unimodal[m]["label_signal"]` is True, False, or None (unknown: e.g. the auxiliary heads
    were not trained); without `unimodal` every modality is held to the full criteria.
    """
    present = [m for m in MODALITIES if m in shares]  # the dataset's k modalities
    bounds = {m: _bounds(shares[m]) for m in present}
    silent = [m for m in present if unimodal and unimodal[m]["label_signal"] is False]
    informative = len(present) - len(silent)
    scale = len(MODALITIES) / (informative or len(present))
    low, high = (min(100.0, v * scale) for v in criteria.share_range)
    top, bottom = min(100.0, criteria.max_share * scale), min(100.0, criteria.min_share * scale)

    checks: dict[str, Outcome] = {}
    exempt: dict[str, str] = {}
    evidence: dict[str, str] = {}
    for m in present:
        name = f"{m}_share_in_{low:g}_{high:g}"
        checks[name] = within(bounds[m], low, high)
        evidence[name] = _range(bounds[m], 1, f"{m} share", "%")
        if m in silent and checks[name] != "pass" and bounds[m][1] < high:
            checks[name] = "pass"
            exempt[name] = _no_signal(m, unimodal[m])  # type: ignore[index]
    name = f"no_share_above_{top:g}"
    checks[name] = _all(within(bounds[m], 0.0, top) for m in present)
    evidence[name] = "; ".join(_range(bounds[m], 1, f"{m} share", "%") for m in present)
    name = f"no_share_below_{bottom:g}"
    held = [m for m in present if m not in silent]
    checks[name] = _all(within(bounds[m], bottom, 100.0) for m in held)
    evidence[name] = "; ".join(_range(bounds[m], 1, f"{m} share", "%") for m in held)
    below = [m for m in silent if bounds[m][0] < bottom]
    if below:
        exempt[name] = "; ".join(_no_signal(m, unimodal[m]) for m in below)  # type: ignore[index]
    return Verdict(checks, exempt, scale, [low, high], evidence)


def _bounds(value: Bounds | float) -> Bounds:
    return (float(value), float(value)) if isinstance(value, int | float) else value


def _all(outcomes: object) -> Outcome:
    found = set(outcomes)  # type: ignore[arg-type]
    return "fail" if "fail" in found else "uncertain" if "uncertain" in found else "pass"


def _range(bounds: Bounds, scale: float, what: str, unit: str = "%") -> str:
    low, high = bounds[0] * scale, bounds[1] * scale
    return f"{what} {low:.1f}{unit}" if low == high else f"{what} {low:.1f}-{high:.1f}{unit}"


def _no_signal(modality: str, unimodal: dict[str, object]) -> str:
    return (f"{modality} carries no label signal on this data (unimodal AUROC "
            f"{unimodal['auroc']:.3f}, 95% CI {interval(unimodal['auroc_ci'])} contains 0.5): "
            "a low share is correct")
