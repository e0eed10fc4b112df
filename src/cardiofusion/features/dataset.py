"""The featurized dataset on disk: aligned arrays, an index and the feature spec."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import pandas as pd

from cardiofusion import __version__
from cardiofusion.features.file_cache import FEATURE_VERSION
from cardiofusion.features.patient import FeatureSpec
from cardiofusion.files import atomic_path, write_json

DECODERS = ("numpy", "librosa", "soundfile", "Pillow")  # their versions can change the arrays


@dataclass(frozen=True)
class FeatureSet:
    """Row i of every array is row i of `index` (patient_id, group, label, split, pcg_padded);
    `group` is the patient's independent group (rows sharing a patient or a file)."""

    ecg: np.ndarray  # uint8 (N, H, W)
    pcg: np.ndarray  # float16 (N, n_mels, frames)
    clinical: np.ndarray  # float32 (N, D)
    index: pd.DataFrame
    spec: FeatureSpec

    def rows(self, split: str) -> np.ndarray:
        return np.flatnonzero(self.index["split"].to_numpy() == split)

    def save(self, directory: Path) -> None:
        for name in ("ecg", "pcg", "clinical"):
            with atomic_path(directory / f"{name}.npy") as tmp:
                np.save(tmp, getattr(self, name))
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
        arrays = {
            name: np.load(directory / f"{name}.npy", mmap_mode="r")
            for name in ("ecg", "pcg", "clinical")
        }
        index = pd.read_csv(directory / "index.csv", dtype={"patient_id": str, "group": str})
        spec = FeatureSpec.from_dict(json.loads((directory / "spec.json").read_text()))
        return cls(index=index, spec=spec, **arrays)


def library_versions() -> dict[str, str]:
    """Versions that produced the arrays, so a mismatch with the serving side can be told."""
    return {"cardiofusion": __version__, **{name: _version(name) for name in DECODERS}}


def _version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "unknown"
