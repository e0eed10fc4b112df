"""One patient's inputs → model-ready arrays: the single path shared by featurize and the API."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cardiofusion.config import MODALITIES, EcgParams, PcgParams
from cardiofusion.features.clinical import ClinicalEncoder
from cardiofusion.features.ecg import ecg_features, load_image
from cardiofusion.features.ecg_signal import load_signal, signal_features
from cardiofusion.features.pcg import load_audio, pcg_features
from cardiofusion.inputs import DEFAULT_LIMITS, InputLimits


@dataclass(frozen=True)
class FeatureSpec:
    """Everything needed to preprocess an input exactly as the training data was."""

    pcg: PcgParams
    ecg: EcgParams
    clinical: ClinicalEncoder
    modalities: tuple[str, ...] = MODALITIES  # what the dataset has, in MODALITIES order
    ecg_leads: tuple[str, ...] = ()  # the leads of a signal ECG, in order; () for images

    @property
    def ecg_kind(self) -> str:
        """"signal" (WFDB, EDF records) or "image" (printout scans)."""
        return "signal" if self.ecg_leads else "image"

    def to_dict(self) -> dict[str, object]:
        return {
            "pcg": self.pcg.model_dump(mode="json"),
            "ecg": self.ecg.model_dump(mode="json"),
            "clinical": self.clinical.to_dict(),
            "modalities": list(self.modalities),
            "ecg_leads": list(self.ecg_leads),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> FeatureSpec:
        """Specs saved before a dataset could lack a modality have all three."""
        modalities = tuple(data.get("modalities", MODALITIES))  # type: ignore[arg-type]
        if not modalities or not set(modalities) <= set(MODALITIES):
            raise ValueError(f"unknown modalities {modalities!r}")
        return cls(
            pcg=PcgParams.model_validate(data["pcg"]),
            ecg=EcgParams.model_validate(data["ecg"]),
            clinical=ClinicalEncoder.from_dict(data["clinical"]),  # type: ignore[arg-type]
            modalities=tuple(m for m in MODALITIES if m in modalities),
            ecg_leads=tuple(str(lead) for lead in data.get("ecg_leads") or ()),  # type: ignore[union-attr]
        )


@dataclass(frozen=True)
class PatientFeatures:
    """One patient's model inputs, for the modalities sent (the others are absent)."""

    arrays: dict[str, np.ndarray]  # ecg uint8 (height, width), pcg float32 (mels, frames),
    # clinical float32 (features,)
    pcg_padded: bool


def ecg_array(source: str | Path | bytes, params: EcgParams,
              limits: InputLimits = DEFAULT_LIMITS) -> np.ndarray:
    """One ECG scan → uint8 (height, width); alone so a cache can decode one modality only."""
    return ecg_features(load_image(source, limits=limits), params)


def signal_array(source: str | Path, params: EcgParams, leads: list[str],
                 limits: InputLimits = DEFAULT_LIMITS) -> np.ndarray:
    """One ECG record (WFDB header or EDF file) → float32 (leads, samples)."""
    samples, rate = load_signal(source, params, leads, limits)
    return signal_features(samples, rate, params)


def pcg_array(source: str | Path | bytes, params: PcgParams,
              limits: InputLimits = DEFAULT_LIMITS) -> tuple[np.ndarray, bool]:
    """One recording → float32 (n_mels, frames) and whether it was padded."""
    signal, rate = load_audio(source, params, limits)
    return pcg_features(signal, rate, params)


def featurize_patient(
    ecg_source: str | Path | bytes | None,
    pcg_source: str | Path | bytes | None,
    clinical: Mapping[str, float | str | None] | None,
    spec: FeatureSpec,
    limits: InputLimits,
) -> PatientFeatures:
    """Paths or raw bytes plus raw clinical values in (None: the patient has none of that
    modality), model-ready arrays out; every file is held to the input contract (`limits`)
    before anything is decoded."""
    arrays: dict[str, np.ndarray] = {}
    padded = False
    if pcg_source is not None:
        arrays["pcg"], padded = pcg_array(pcg_source, spec.pcg, limits)
    if ecg_source is not None and spec.ecg_kind == "signal":
        arrays["ecg"] = signal_array(ecg_source, spec.ecg, list(spec.ecg_leads), limits)
    elif ecg_source is not None:
        arrays["ecg"] = ecg_array(ecg_source, spec.ecg, limits)
    if clinical is not None:
        arrays["clinical"] = spec.clinical.transform_row(clinical)
    return PatientFeatures(arrays, padded)
