"""Response bodies of the API: typed, so /docs shows exactly what each endpoint returns."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(protected_namespaces=(), populate_by_name=True)


class RiskLevel(_Body):
    name: str
    low: float = Field(description="inclusive lower bound of the probability")
    high: float = Field(description="exclusive upper bound (1.0 inclusive)")
    recommendation: str
    patients: int = Field(0, description="validation patients in this tier")
    observed_rate: float | None = Field(
        None, description="share of them that were abnormal (null: no evidence)")
    rate_low: float | None = Field(None, description="95% interval of the observed rate")
    rate_high: float | None = None


class SubsetEvaluation(_Body):
    auroc: float = Field(description="test AUROC with only these modalities given")
    auroc_low: float = Field(description="95% interval of that AUROC")
    auroc_high: float
    balanced_accuracy: float
    test_patients: int


class Prediction(_Body):
    model_id: str = Field(description="content hash of the served model file")
    probability: float = Field(description="probability that the heart is abnormal")
    predicted_class: Literal["healthy", "abnormal"] = Field(alias="class")
    threshold: float = Field(description="probability at or above which the class is abnormal")
    risk_level: RiskLevel
    modalities_used: list[Literal["ecg", "pcg", "clinical"]] = Field(
        description="the modalities this prediction used (the others were not sent, or every "
                    "clinical value was empty); a missing one enters as the train-split mean")
    modalities_evaluation: SubsetEvaluation | None = Field(
        description="how the model did on test patients given exactly these modalities "
                    "(stored by `cardiofusion promote`; null for a model that was not promoted)")
    clinical_values: dict[str, float | str | None] = Field(
        description="the clinical values used, raw units or category; null = unknown")
    imputed: list[str] = Field(description="clinical fields left empty and imputed (none when "
                                           "no clinical value was sent: the modality is absent)")
    pcg_padded: bool = Field(description="the recording was shorter than the model's window "
                                         "and was padded with silence")
    disclaimer: str


class ModalityContribution(_Body):
    shapley: float = Field(description="signed exact Shapley value: how far this modality moves "
                                       "the probability from an average training patient's")
    share: float = Field(description="|shapley| as a percentage of the modalities used")


class Contributions(_Body):
    method: Literal["shapley"] = "shapley"
    baseline_probability: float = Field(
        description="probability with every modality at its train-split mean embedding; the "
                    "Shapley values add up to probability - baseline_probability")
    modalities: dict[str, ModalityContribution]


class ClinicalInfluence(_Body):
    field: str
    value: float | str | None = Field(description="raw value sent; null = unknown (imputed)")
    effect: float = Field(description="probability minus the probability with this field at "
                                      "the train-split average; > 0 pushes towards abnormal")


class Confidence(_Body):
    distance_to_threshold: float = Field(description="probability - threshold")
    margin: Literal["borderline", "moderate", "clear"] = Field(
        description="|distance_to_threshold| below 0.05, below 0.15, or larger")
    unimodal_probabilities: dict[str, float] = Field(
        description="each modality's own auxiliary head, uncalibrated")
    agreeing: list[str] = Field(description="modalities whose own prediction (at 0.5) matches "
                                            "the class")
    disagreeing: list[str]
    note: str


class DetailedPrediction(Prediction):
    contributions: Contributions
    clinical_influence: list[ClinicalInfluence] = Field(
        description="the most influential clinical fields, largest |effect| first")
    confidence: Confidence


class Health(_Body):
    status: Literal["ok"] = "ok"
    model_loaded: bool
    device: str
    model_path: str
    model_id: str
    threshold: float
    temperature: float
    test_metrics: dict[str, Any] | None = Field(
        description="held-out test metrics stored by `cardiofusion promote`; null when the "
                    "served file was not promoted")
    versions: dict[str, Any]


class ProblemItem(_Body):
    field: str | None
    problem: str


class Problem(_Body):
    """Every 4xx/5xx body: what is wrong, field by field."""

    detail: list[ProblemItem]
