"""The featurized dataset on disk: aligned arrays, an index and the feature spec."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import pandas as pd

from cardiofusion import __version__
from cardiofusion.config import MODALITIES
from cardiofusion.features.file_cache import FEATURE_VERSION
from cardiofusion.features.patient import FeatureSpec
from cardiofusion.files import atomic_path, write_json

DECODERS = ("numpy", "librosa", "soundfile", "Pillow")  # their versions can change the arrays


@dataclass(frozen=True)
class FeatureSet:
    """Row i of every array is row i of `index` (patient_id, group, label, split, pcg_padded,
    and `has_<modality>` for each modality the dataset has); `group` is the patient's
    independent group (rows sharing a patient or a file). A row without a modality holds zeros
    there, which the model never reads."""

    arrays: dict[str, np.ndarray]  # ecg uint8 (N, H, W), pcg float16 (N, mels, frames),
    # clinical float32 (N, D): the dataset's modalities only
    index: pd.DataFrame
    spec: FeatureSpec

    @property
    def modalities(self) -> tuple[str, ...]:
        return self.spec.modalities

    @property
    def clinical_features(self) -> int:
        """Width of the clinical vector (0 without a clinical table)."""
        return self.arrays["clinical"].shape[1] if "clinical" in self.arrays else 0

    def present(self, modality: str) -> np.ndarray:
        """Which rows have the modality (every row, for features saved before absence)."""
        column = f"has_{modality}"
        if column not in self.index:
            return np.ones(len(self.index), dtype=bool)
        return self.index[column].to_numpy(dtype=bool)

    def rows(self, split: str) -> np.ndarray:
        return np.flatnonzero(self.index["split"].to_numpy() == split)

    def save(self, directory: Path) -> None:
        for name, array in self.arrays.items():
            with atomic_path(directory / f"{name}.npy") as tmp:
                np.save(tmp, array)
        for stale in set(MODALITIES) - set(self.arrays):  # a modality the data no longer has
            (directory / f"{stale}.npy").unlink(missing_ok=True)
        with atomic_path(directory / "index.csv") as tmp:
            self.index.to_csv(tmp, index=False)
        write_json(directory / "spec.json", {
            **self.spec.to_dict(),
            "feature_version": FEATURE_VERSION,
            "versions": library_versions(),
        })

    @classmethod
    def load(cls, directory: Path) -> FeatureSet:
        """Arrays are memory-mapped: opening costs nothing until rows are read."""
        spec = FeatureSpec.from_dict(json.loads((directory / "spec.json").read_text()))
        arrays = {m: np.load(directory / f"{m}.npy", mmap_mode="r") for m in spec.modalities}
        index = pd.read_csv(directory / "index.csv", dtype={"patient_id": str, "group": str})
        return cls(arrays=arrays, index=index, spec=spec)


def library_versions() -> dict[str, str]:
    """Versions that produced the arrays, so a mismatch with the serving side can be told."""
    return {"cardiofusion": __version__, **{name: _version(name) for name in DECODERS}}


def _version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "unknown"
