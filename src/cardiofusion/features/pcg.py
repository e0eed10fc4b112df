"""Heart-sound recording → fixed-size log-mel spectrogram.

Any format soundfile reads (WAV, FLAC, OGG, MP3), any rate and channel count, is brought to one
mono rate, band-passed to the heart-sound band and cut to a fixed window, so every patient gives
an array of the same shape. Decoding goes through the input contract (cardiofusion.inputs), which
decodes only the window and its surroundings.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from librosa import power_to_db, resample
from librosa.feature import melspectrogram  # at import, not first use: forked workers share it
from scipy.signal import butter, sosfiltfilt

from cardiofusion.config import PcgParams
from cardiofusion.inputs import DEFAULT_LIMITS, InputLimits, read_recording

DEFAULT_PCG = PcgParams()
LOG_FLOOR = 1e-6  # power floor before the log: silence maps to -60 dB


def load_audio(
    source: str | Path | bytes, params: PcgParams = DEFAULT_PCG,
    limits: InputLimits = DEFAULT_LIMITS, name: str | None = None,
) -> tuple[np.ndarray, int]:
    """Mono float32 of the span `params`' window needs, within the input contract; `name` is
    what an error message calls the input."""
    recording = read_recording(source, limits, params.duration_s, params.crop, name)
    return recording.samples, recording.rate


def frame_count(params: PcgParams) -> int:
    """Spectrogram frames for one window (librosa centres frames, hence the + 1)."""
    return 1 + round(params.duration_s * params.sample_rate) // params.hop_length


def pcg_features(signal: np.ndarray, rate: int, params: PcgParams) -> tuple[np.ndarray, bool]:
    """Log-mel spectrogram (n_mels x frames, float32 dB) and whether the window was padded."""
    if rate != params.sample_rate:
        signal = resample(signal, orig_sr=rate, target_sr=params.sample_rate)
    sos = _band_pass(tuple(params.band_hz), params.sample_rate).copy()  # scipy wants it writable
    if len(signal) > 3 * 2 * len(sos):  # sosfiltfilt needs a few filter lengths of signal
        signal = sosfiltfilt(sos, signal)
    signal = signal / (np.std(signal) + 1e-8)
    window = round(params.duration_s * params.sample_rate)
    padded = len(signal) < window
    if padded:
        signal = np.pad(signal, (0, window - len(signal)))
    else:
        start = 0 if params.crop == "start" else (len(signal) - window) // 2
        signal = signal[start : start + window]
    mel = melspectrogram(
        y=signal.astype(np.float32),
        sr=params.sample_rate,
        n_fft=params.n_fft,
        hop_length=params.hop_length,
        n_mels=params.n_mels,
        fmin=params.band_hz[0],
        fmax=params.band_hz[1],
    )
    return power_to_db(mel, ref=1.0, amin=LOG_FLOOR).astype(np.float32), padded


@lru_cache(maxsize=8)
def _band_pass(band_hz: tuple[float, float], sample_rate: int) -> np.ndarray:
    """Filter design costs about as much as filtering a recording, and params rarely change."""
    sos = butter(4, band_hz, btype="bandpass", fs=sample_rate, output="sos")
    sos.setflags(write=False)  # shared between calls
    return sos
