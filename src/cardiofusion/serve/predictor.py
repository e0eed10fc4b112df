"""One patient through the served model: featurize, predict, and explain the prediction.

The model is loaded once (weights_only) and shared by request threads; inference runs in eval
mode without gradients, which is safe to call concurrently. Preprocessing is
`featurize_patient`, the function the featurize stage uses, so serving sees what training saw.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from PIL import Image

from cardiofusion.errors import CardiofusionError
from cardiofusion.features.ecg_signal import window_samples
from cardiofusion.features.patient import PatientFeatures, featurize_patient
from cardiofusion.inputs import InputLimits, InputRejected
from cardiofusion.model.checkpoint import CLASS_NAMES, load_model, model_id
from cardiofusion.model.contributions import shapley_values
from cardiofusion.serve.clinical_form import ClinicalForm
from cardiofusion.serve.errors import InputError
from cardiofusion.serve.risk import DISCLAIMER, risk_tier, served_tiers
from cardiofusion.serve.schemas import (
    ClinicalInfluence,
    Confidence,
    Contributions,
    DetailedPrediction,
    ModalityContribution,
    Prediction,
    RiskLevel,
    SubsetEvaluation,
)
from cardiofusion.serve.uploads import rejection

TOP_CLINICAL = 5  # clinical fields listed by /predict/detailed
MAX_Z = 1000.0  # standardized clinical values beyond this are refused
MODALITY_NAMES = {"ecg": "ECG", "pcg": "PCG", "clinical": "clinical"}
NEEDED = {"ecg": "an ECG (ecg_image or ecg_record)", "pcg": "a heart-sound recording (pcg_audio)",
          "clinical": "a clinical value"}


@dataclass(frozen=True)
class _Pass:
    """One forward pass of one patient, kept for the explanation."""

    features: PatientFeatures
    embeddings: dict[str, torch.Tensor]
    prediction: Prediction


class _CalibratedFusion:
    """The fusion head on the served (calibrated) scale; Shapley only calls `fuse`."""

    def __init__(self, fuse: Callable[[dict[str, torch.Tensor]], torch.Tensor],
                 temperature: float, shift: float) -> None:
        self._fuse = fuse
        self._temperature = temperature
        self._shift = shift

    def fuse(self, embeddings: dict[str, torch.Tensor]) -> torch.Tensor:
        return self._fuse(embeddings) / self._temperature + self._shift


class Predictor:
    def __init__(self, path: Path, device: torch.device, limits: InputLimits) -> None:
        if not Path(path).is_file():
            raise CardiofusionError(
                f"{path}: no model to serve; run `dvc repro` then `cardiofusion promote`, or "
                "pass --model models/best_multimodal_model_retrained.pth")
        self.path = Path(path)
        self.device = device
        self.limits = limits
        self.loaded = load_model(self.path, device)
        self.model_id = model_id(self.path)
        self.form = ClinicalForm(self.loaded.spec.clinical)
        # probability = sigmoid(logit / temperature + logit_shift), fitted by evaluate
        self.temperature = self.loaded.temperature
        self.logit_shift = self.loaded.logit_shift
        self.tiers = served_tiers(self.loaded.risk_tiers)
        self._threshold_logit = _logit(self.loaded.threshold)
        # the stored threshold is on the uncalibrated scale; map it so decisions do not move
        self.threshold = _sigmoid(self._threshold_logit / self.temperature + self.logit_shift)
        self._field_columns = _field_columns(self.loaded.spec.clinical.feature_names,
                                             self.form.names)
        self._warm_up()

    @property
    def modalities(self) -> tuple[str, ...]:
        """The modalities the served model was trained with."""
        return self.loaded.model.modalities

    def predict(self, ecg: bytes | Path | None, pcg: bytes | None,
                clinical: dict[str, float | str | None]) -> Prediction:
        return self._run(ecg, pcg, clinical).prediction

    @torch.no_grad()
    def explain(
        self, ecg: bytes | Path | None, pcg: bytes | None,
        clinical: dict[str, float | str | None],
    ) -> DetailedPrediction:
        """The prediction plus why: modality Shapley values, clinical fields, agreement, over
        the modalities used."""
        run = self._run(ecg, pcg, clinical)
        prediction = run.prediction
        return DetailedPrediction(
            **prediction.model_dump(),
            contributions=self._contributions(run.embeddings, prediction.modalities_used),
            clinical_influence=self._clinical_influence(run),
            confidence=self._confidence(run.embeddings, prediction),
        )

    def used_modalities(self, ecg: bytes | Path | None, pcg: bytes | None,
                        clinical: dict[str, float | str | None]) -> list[str]:
        """What this request gives the model; a request with nothing is refused (422)."""
        given = {"ecg": ecg is not None, "pcg": pcg is not None,
                 "clinical": any(v is not None for v in clinical.values())}
        used = [m for m in self.modalities if given[m]]
        if not used:
            needed = [NEEDED[m] for m in self.modalities]
            raise InputError.one(None, "no input: send at least one of " + ", ".join(needed))
        return used

    @torch.no_grad()
    def _run(self, ecg: bytes | Path | None, pcg: bytes | None,
             clinical: dict[str, float | str | None]) -> _Pass:
        used = self.used_modalities(ecg, pcg, clinical)
        try:
            features = featurize_patient(ecg, pcg, clinical if "clinical" in used else None,
                                         self.loaded.spec, self.limits)
        except InputRejected as exc:
            raise rejection(exc) from None
        if "clinical" in used:
            self._check_clinical(features.arrays["clinical"])
        inputs = {m: torch.from_numpy(a)[None].to(self.device)
                  for m, a in features.arrays.items()}
        given = self.loaded.model.embed(inputs)
        embeddings = {m: given.get(m, self.loaded.baseline[m]) for m in self.modalities}
        logit = float(self.loaded.model.fuse(embeddings)[0])
        if math.isnan(logit):
            raise InputError.one(None, "these inputs give no finite prediction; check the "
                                       "clinical values' units")
        probability = _sigmoid(logit / self.temperature + self.logit_shift)
        tier = risk_tier(probability, self.tiers)
        prediction = Prediction(
            model_id=self.model_id,
            probability=probability,
            predicted_class=CLASS_NAMES[int(logit >= self._threshold_logit)],
            threshold=self.threshold,
            risk_level=RiskLevel.model_validate(asdict(tier)),
            modalities_used=used,
            modalities_evaluation=self._evaluation_of(used),
            clinical_values=clinical,
            imputed=[name for name, value in clinical.items()
                     if value is None and "clinical" in used],
            pcg_padded=features.pcg_padded,
            disclaimer=DISCLAIMER,
        )
        return _Pass(features, embeddings, prediction)

    def _check_clinical(self, standardized: np.ndarray) -> None:
        """Refuse values further than MAX_Z standard deviations from the training mean: a model
        saved without training ranges would otherwise extrapolate to any finite number."""
        far = [name for name, columns in self._field_columns.items()
               if columns and not (np.abs(standardized[columns]) <= MAX_Z).all()]
        if far:
            raise InputError([(name, f"more than {MAX_Z:g} standard deviations from the "
                                     "training mean; check the unit") for name in far])

    def _evaluation_of(self, used: list[str]) -> SubsetEvaluation | None:
        """The promoted evaluation's figures for exactly this subset of modalities."""
        for row in self.loaded.robustness or []:
            if sorted(row.get("modalities", [])) == sorted(used):
                return SubsetEvaluation(
                    auroc=row["auroc"], auroc_low=row["auroc_ci"]["low"],
                    auroc_high=row["auroc_ci"]["high"],
                    balanced_accuracy=row["balanced_accuracy"], test_patients=row["patients"])
        return None

    def _contributions(self, embeddings: dict[str, torch.Tensor], used: list[str]
                       ) -> Contributions:
        """Shapley values of the modalities used (an absent one sits at the baseline, so its
        value is exactly 0 and it is left out)."""
        calibrated = _CalibratedFusion(self.loaded.model.fuse, self.temperature,
                                       self.logit_shift)
        baseline = {m: self.loaded.baseline[m].reshape(1, -1) for m in self.modalities}
        values = shapley_values(calibrated, embeddings, baseline)  # type: ignore[arg-type]
        phis = {m: float(v[0]) for m, v in values.items() if m in used}
        total = sum(abs(v) for v in phis.values()) or 1.0
        return Contributions(
            baseline_probability=float(torch.sigmoid(calibrated.fuse(baseline))[0]),
            modalities={m: ModalityContribution(shapley=phi, share=100 * abs(phi) / total)
                        for m, phi in phis.items()},
        )

    def _clinical_influence(self, run: _Pass) -> list[ClinicalInfluence]:
        """Per field: the probability minus the one with that field at its training average
        (0 after standardization), all fields in one batch through the clinical encoder."""
        names = list(self._field_columns)
        if not names or "clinical" not in run.prediction.modalities_used:
            return []
        standardized = torch.from_numpy(run.features.arrays["clinical"]).to(self.device)
        batch = standardized.repeat(len(names), 1)
        for row, name in enumerate(names):
            batch[row, self._field_columns[name]] = 0.0
        model = self.loaded.model
        mixed = {m: run.embeddings[m].expand(len(names), -1) for m in self.modalities
                 if m != "clinical"}
        mixed["clinical"] = model.encoders["clinical"](batch)
        without = torch.sigmoid(model.fuse(mixed) / self.temperature + self.logit_shift)
        without = without.cpu().numpy()
        effects = run.prediction.probability - without
        order = np.argsort(-np.abs(effects))[:TOP_CLINICAL]
        values = run.prediction.clinical_values
        return [ClinicalInfluence(field=names[i], value=values.get(names[i]),
                                  effect=float(effects[i])) for i in order]

    def _confidence(
        self, embeddings: dict[str, torch.Tensor], prediction: Prediction
    ) -> Confidence:
        aux = self.loaded.model.aux_logits(embeddings)
        used = prediction.modalities_used
        unimodal = {m: float(torch.sigmoid(aux[m])[0]) for m in used}
        abnormal = prediction.predicted_class == "abnormal"
        agreeing = [m for m in used if (unimodal[m] >= 0.5) == abnormal]
        disagreeing = [m for m in used if m not in agreeing]
        distance = prediction.probability - prediction.threshold
        margin = ("borderline" if abs(distance) < 0.05
                  else "moderate" if abs(distance) < 0.15 else "clear")
        return Confidence(
            distance_to_threshold=distance, margin=margin, unimodal_probabilities=unimodal,
            agreeing=agreeing, disagreeing=disagreeing,
            note=_note(prediction, distance, margin, agreeing, disagreeing),
        )

    def _warm_up(self) -> None:
        """One synthetic patient, so the first real request does not pay for lazy setup."""
        clinical: dict[str, float | str | None] = dict.fromkeys(self.form.names)
        if self.form.fields:  # one value, so the clinical branch runs too
            first = self.form.fields[0]
            clinical[first.name] = first.categories[0] if first.categories else first.median
        image = "ecg" in self.modalities and self.loaded.spec.ecg_kind == "image"
        self.explain(_blank_png() if image else None,
                     _quiet_wav(self.loaded.spec.pcg.sample_rate)
                     if "pcg" in self.modalities else None, clinical)
        if "ecg" in self.modalities and not image:  # the 1-D encoder, on a window of zeros
            leads, samples = len(self.loaded.spec.ecg_leads), window_samples(
                self.loaded.spec.ecg)
            self.loaded.model.embed({"ecg": torch.zeros(1, leads, samples, device=self.device)})


def _note(
    prediction: Prediction, distance: float, margin: str, agreeing: list[str],
    disagreeing: list[str],
) -> str:
    side = "above" if distance >= 0 else "below"
    text = (f"Probability {prediction.probability:.2f} is {abs(distance):.2f} {side} the "
            f"decision threshold {prediction.threshold:.2f} ({margin} margin). ")
    decided = prediction.predicted_class
    if not disagreeing:
        return text + f"Each modality alone also points to {decided}."
    other = "healthy" if decided == "abnormal" else "abnormal"
    if not agreeing:
        return text + (f"Each modality alone points to {other}; only their combination "
                       f"points to {decided}.")
    return text + f"{_point(agreeing)} to {decided}; {_point(disagreeing)} to {other}."


def _point(modalities: list[str]) -> str:
    """'ECG alone points' / 'ECG and PCG alone point'."""
    names = " and ".join(MODALITY_NAMES[m] for m in modalities)
    return f"{names} alone {'points' if len(modalities) == 1 else 'point'}"


def _field_columns(feature_names: list[str], fields: list[str]) -> dict[str, list[int]]:
    """Encoded columns of each raw field: the value or one-hot columns and the missing flag."""
    return {
        field: [i for i, name in enumerate(feature_names)
                if name in (field, f"{field}_missing") or name.startswith(f"{field}=")]
        for field in fields
    }


def _logit(probability: float) -> float:
    if probability <= 0.0:
        return -math.inf
    if probability >= 1.0:
        return math.inf
    return math.log(probability / (1.0 - probability))


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _blank_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (940, 540), "white").save(buffer, format="PNG")
    return buffer.getvalue()


def _quiet_wav(rate: int) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, np.zeros(rate * 10, dtype=np.float32), rate, format="WAV")
    return buffer.getvalue()
