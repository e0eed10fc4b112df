"""`metrics/eval.json` as typed objects: the evaluate stage writes one, the report reads it.

The JSON layout is the DVC metrics contract (`dvc metrics show` reads the top-level figures), so
field names and order are those of the file. `EvaluationSummary` is the lenient view `promote`
takes: it needs only the headline and says what is missing instead of failing on a partial file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cardiofusion.config import MODALITIES
from cardiofusion.errors import CardiofusionError
from cardiofusion.evaluation.verdict import Outcome
from cardiofusion.files import write_json


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Interval(_Record):
    low: float
    high: float


def _absent(value: object) -> bool:
    return value is None


class Shares(_Record):
    """Per-modality contributions, % of the total, for the modalities the dataset has."""

    ecg: float | None = Field(None, exclude_if=_absent)
    pcg: float | None = Field(None, exclude_if=_absent)
    clinical: float | None = Field(None, exclude_if=_absent)

    def as_dict(self) -> dict[str, float]:
        return {m: getattr(self, m) for m in MODALITIES if getattr(self, m) is not None}

    def __getitem__(self, modality: str) -> float:
        return getattr(self, modality)


class MethodShares(_Record):
    ablation: Shares
    shapley: Shares

    def __getitem__(self, method: str) -> Shares:
        return getattr(self, method)


class Contributions(_Record):
    """Both methods for the verdict's baseline at the top; every baseline under by_baseline."""

    method: Literal["ablation", "shapley"]
    baseline: Literal["mean", "permute", "blank"]
    ablation: Shares
    shapley: Shares
    by_baseline: dict[str, MethodShares]
    intervals: dict[str, Interval]  # 95% interval of each share the verdict judges

    @property
    def used(self) -> Shares:
        """The shares the verdict judges."""
        return getattr(self, self.method)


class ThresholdMetrics(_Record):
    threshold: float
    accuracy: float
    balanced_accuracy: float
    sensitivity: float
    specificity: float
    precision: float  # PPV
    npv: float
    f1: float
    confusion_matrix: list[list[int]]  # [[TN, FP], [FN, TP]]
    balanced_accuracy_ci: Interval


class LabelSignal(_Record):
    """A modality's auxiliary-head AUROC; signal when its interval excludes 0.5 (None:
    unknown, the heads were not trained)."""

    auroc: float
    auroc_ci: Interval
    label_signal: bool | None
    validation: LabelSignal | None = Field(None, exclude_if=lambda value: value is None)


class SubsetFigures(_Record):
    """The test patients with only these modalities given (the others withheld)."""

    modalities: list[str]
    patients: int
    auroc: float
    auroc_ci: Interval
    balanced_accuracy: float
    balanced_accuracy_ci: Interval


class AbsentFigures(_Record):
    """The test patients who truly lack one modality (figures: when both classes are there)."""

    modality: str
    patients: int
    healthy: int
    abnormal: int
    auroc: float | None = None
    auroc_ci: Interval | None = None
    balanced_accuracy: float | None = None
    balanced_accuracy_ci: Interval | None = None


class Calibration(_Record):
    """probability = sigmoid(logit / temperature + shift), fitted on validation."""

    method: Literal["temperature", "platt"]
    temperature: float
    shift: float
    prior_shift: float  # logit(data prior) - logit(the prior the sampler trained for)
    val_nll_before: float
    val_nll_temperature: float
    val_nll_platt: float
    brier_before: float
    ece_before: float


class RiskTierEvidence(_Record):
    """One risk tier: its probability band, what was observed in it, and the advice."""

    name: str
    low: float
    high: float
    patients: int
    groups: int
    abnormal: int
    observed_rate: float | None  # None: no patient fell in the tier
    rate_low: float | None
    rate_high: float | None
    recommendation: str


class PredictionsVary(_Record):
    probability_std: float
    probability_mean: float
    swap_delta: float
    moved_fraction: dict[str, float]  # per modality


class Evaluation(_Record):
    model_id: str
    verdict: Outcome
    modalities: list[str] = list(MODALITIES)  # the dataset's; the criteria are rescaled to them
    test_patients: int
    test_healthy: int
    test_abnormal: int
    test_groups: int  # independent groups (patients, rows sharing a file) behind each interval
    temperature: float
    logit_shift: float
    threshold: float
    auroc: float
    auroc_ci: Interval
    auprc: float
    brier: float
    ece: float
    balanced_accuracy: float
    balanced_accuracy_ci: Interval
    tuned_threshold: ThresholdMetrics
    fixed_threshold: ThresholdMetrics
    calibration: Calibration | None = Field(None, exclude_if=lambda value: value is None)
    contributions: Contributions
    unimodal: dict[str, LabelSignal]
    unimodal_heads_trained: bool
    predictions_vary: PredictionsVary
    risk_tiers: list[RiskTierEvidence]  # measured on validation: what the served model shows
    risk_tiers_test: list[RiskTierEvidence]  # the same tiers on test, as a check
    checks: dict[str, Outcome]
    evidence: dict[str, str]  # check name -> the interval it read
    exempt: dict[str, str]  # check name -> why it passes although the share is low
    share_scale: float
    share_range: list[float]
    robustness: list[SubsetFigures] = []  # every non-empty subset of the modalities
    absent: list[AbsentFigures] = []  # test patients who truly lack a modality

    def save(self, path: Path) -> None:
        write_json(path, self.model_dump(mode="json"))

    @classmethod
    def load(cls, path: Path, remedy: str) -> Evaluation:
        """Read an eval.json; a missing or foreign file is an error that says what to do."""
        try:
            return cls.model_validate_json(Path(path).read_bytes())
        except FileNotFoundError:
            raise CardiofusionError(f"{path}: missing; {remedy}") from None
        except ValidationError as exc:
            raise CardiofusionError(
                f"{path} is not an evaluation written by `cardiofusion evaluate` "
                f"({_first_problem(exc)}); {remedy}"
            ) from None


class EvaluationSummary(BaseModel):
    """The headline of an eval.json that promote checks; absent fields are None so each
    refusal can name what is missing."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    model_id: str | None = None
    verdict: str | None = None
    checks: dict[str, str] = {}
    temperature: float = Field(1.0, gt=0)
    logit_shift: float = 0.0
    threshold: float | None = None
    auroc: float | None = None
    auprc: float | None = None
    balanced_accuracy: float | None = None
    contributions: dict[str, object] | None = None
    risk_tiers: list[dict[str, object]] | None = None
    robustness: list[dict[str, object]] | None = None

    @classmethod
    def load(cls, path: Path, remedy: str) -> EvaluationSummary | None:
        """The summary, or None when there is no evaluation at all."""
        if not Path(path).is_file():
            return None
        try:
            raw = json.loads(Path(path).read_text())
        except json.JSONDecodeError as exc:
            raise CardiofusionError(f"{path}: not valid JSON ({exc}); {remedy}") from None
        if not isinstance(raw, dict):
            raise CardiofusionError(f"{path}: expected a JSON object; {remedy}")
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            raise CardiofusionError(f"{path}: {_first_problem(exc)}; {remedy}") from None


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "(top level)"
    return f"{where}: {error['msg']}"
