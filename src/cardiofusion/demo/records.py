"""The demo's ECG signals written as real digital records: WFDB (`.hea` + `.dat`, format 16,
the PhysioNet layout) with `wfdb`, or EDF with `pyedflib`, each file written atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import wfdb
from pyedflib import highlevel

from cardiofusion.files import atomic_path


def write_record(path: Path, signals: np.ndarray, rate: int, leads: tuple[str, ...]) -> None:
    """`signals` (leads, samples) in mV to `path` (`.hea`: WFDB, `.edf`: EDF)."""
    if path.suffix == ".hea":
        _write_wfdb(path, signals, rate, leads)
    else:
        _write_edf(path, signals, rate, leads)


def _write_wfdb(path: Path, signals: np.ndarray, rate: int, leads: tuple[str, ...]) -> None:
    """Written in a private folder, then moved: the signal file first, so a header is never
    seen without the data it names."""
    with tempfile.TemporaryDirectory(dir=path.parent) as folder:
        wfdb.wrsamp(path.stem, fs=rate, units=["mV"] * len(leads), sig_name=list(leads),
                    p_signal=signals.T, fmt=["16"] * len(leads), write_dir=folder)
        os.replace(Path(folder) / f"{path.stem}.dat", path.with_suffix(".dat"))
        os.replace(Path(folder) / f"{path.stem}.hea", path)


def _write_edf(path: Path, signals: np.ndarray, rate: int, leads: tuple[str, ...]) -> None:
    headers = [
        highlevel.make_signal_header(lead, dimension="mV", sample_frequency=rate,
                                     physical_min=float(np.floor(row.min())) - 1.0,
                                     physical_max=float(np.ceil(row.max())) + 1.0)
        for lead, row in zip(leads, signals, strict=True)
    ]
    with atomic_path(path) as tmp:
        highlevel.write_edf(str(tmp), list(signals), headers, file_type=1)  # EDF+
