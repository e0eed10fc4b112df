"""The success criteria (`criteria.*`) as named pass/fail checks, and the overall verdict.

A modality whose unimodal AUROC interval contains 0.5 carries no label signal on this data; the
model is right to lean on it little, so it is exempt from the lower share bounds, and the share
thresholds (written for an equal three-way split, 33.3% each) are rescaled to an equal split
among the k modalities that do carry signal (factor 3 / k). Every exemption is named in
`exempt`, so a pass is never silent about how it was reached.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from cardiofusion.config import MODALITIES, CriteriaParams
from cardiofusion.console import interval


@dataclass(frozen=True)
class Verdict:
    checks: dict[str, bool]
    exempt: dict[str, str]  # check name -> why it passes although the share is low
    share_scale: float  # factor applied to the share thresholds (1.0: every modality has signal)
    share_range: list[float]  # the per-modality range the shares were held to, after scaling

    @property
    def passed(self) -> bool:
        return all(self.checks.values())


def judge(
    shares: dict[str, float],
    balanced_accuracy: float,
    unimodal: dict[str, dict[str, object]],
    criteria: CriteriaParams,
) -> Verdict:
    """Check contributions and balanced accuracy against the criteria."""
    verdict = share_checks(shares, unimodal, criteria)
    name = f"balanced_accuracy_at_least_{criteria.min_balanced_accuracy:g}"
    checks = {**verdict.checks, name: bool(balanced_accuracy >= criteria.min_balanced_accuracy)}
    return replace(verdict, checks=checks)


def share_checks(
    shares: dict[str, float],
    unimodal: dict[str, dict[str, object]] | None,
    criteria: CriteriaParams,
) -> Verdict:
    """The contribution checks alone.

    `unimodal[m]["label_signal"]` is True, False, or None (unknown: e.g. the auxiliary heads
    were not trained); without `unimodal` every modality is held to the full criteria.
    """
    silent = [m for m in MODALITIES if unimodal and unimodal[m]["label_signal"] is False]
    informative = len(MODALITIES) - len(silent)
    scale = len(MODALITIES) / informative if informative else 1.0
    low, high = (min(100.0, v * scale) for v in criteria.share_range)
    top, bottom = min(100.0, criteria.max_share * scale), min(100.0, criteria.min_share * scale)

    checks: dict[str, bool] = {}
    exempt: dict[str, str] = {}
    for m in MODALITIES:
        name = f"{m}_share_in_{low:g}_{high:g}"
        checks[name] = bool(low <= shares[m] <= high or (m in silent and shares[m] < low))
        if m in silent and shares[m] < low:
            exempt[name] = _no_signal(m, unimodal[m])  # type: ignore[index]
    checks[f"no_share_above_{top:g}"] = bool(max(shares.values()) <= top)
    name = f"no_share_below_{bottom:g}"
    checks[name] = all(shares[m] >= bottom for m in MODALITIES if m not in silent)
    below = [m for m in silent if shares[m] < bottom]
    if below:
        exempt[name] = "; ".join(_no_signal(m, unimodal[m]) for m in below)  # type: ignore[index]
    return Verdict(checks, exempt, scale, [low, high])


def _no_signal(modality: str, unimodal: dict[str, object]) -> str:
    return (f"{modality} carries no label signal on this data (unimodal AUROC "
            f"{unimodal['auroc']:.3f}, 95% CI {interval(unimodal['auroc_ci'])} contains 0.5): "
            "a low share is correct")
