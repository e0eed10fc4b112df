"""ECG signal → model input: resampled to `ecg.signal_rate`, band-passed (baseline wander below
the band, mains hum and muscle noise above it), cut to a fixed window the way the PCG window is
cut, and standardized (each lead alone, or the record with one scale: `ecg.signal_scale`), so
a record at 100, 500 or 2000 Hz in any unit reaches the encoder in one shape and scale."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import numpy as np
from scipy.signal import butter, resample_poly, sosfiltfilt

from cardiofusion.config import EcgParams
from cardiofusion.inputs import DEFAULT_LIMITS, InputLimits, read_signal


def window_samples(params: EcgParams) -> int:
    return math.ceil(params.signal_seconds * params.signal_rate)


def load_signal(source: str | Path, params: EcgParams, leads: list[str],
                limits: InputLimits = DEFAULT_LIMITS) -> tuple[np.ndarray, float]:
    """The span of the chosen leads the window needs, in physical units, and its rate."""
    return read_signal(source, limits, leads, params.signal_seconds, params.signal_crop)


def signal_features(samples: np.ndarray, rate: float, params: EcgParams) -> np.ndarray:
    """float32 (leads, window): resampled, band-passed, cropped or zero-padded, standardized
    per lead or over the record."""
    ratio = Fraction(params.signal_rate / rate).limit_denominator(1000)
    resampled = resample_poly(samples, ratio.numerator, ratio.denominator, axis=1)
    sos = butter(4, params.signal_band_hz, btype="bandpass", fs=params.signal_rate,
                 output="sos")
    padlen = min(resampled.shape[1] - 1, 3 * (2 * len(sos) + 1))
    filtered = sosfiltfilt(sos, resampled, axis=1, padlen=max(padlen, 0))
    window = window_samples(params)
    start = 0 if params.signal_crop == "start" else max(0, (filtered.shape[1] - window) // 2)
    cut = filtered[:, start : start + window]
    std = cut.std(axis=1, keepdims=True) if params.signal_scale == "lead" else np.asarray(cut.std())
    scaled = (cut - cut.mean(axis=1, keepdims=True)) / np.where(std > 0, std, 1.0)
    return np.pad(scaled, ((0, 0), (0, window - cut.shape[1]))).astype(np.float32)
