"""Behaviour of the synthetic heart-sound recordings used for the demo dataset."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import signal

from cardiofusion.demo.findings import CardiacFindings, Rhythm, make_rhythm
from cardiofusion.demo.pcg import synthesize_pcg

NORMAL = CardiacFindings(
    heart_rate_bpm=72.0,
    rr_variability=0.03,
    atrial_fibrillation=False,
    premature_beat_rate=0.0,
    st_shift_mv=0.0,
    t_inversion=False,
    pathological_q=False,
    qrs_ms=90.0,
    systolic_murmur=0.0,
    diastolic_murmur=0.0,
    s3=0.0,
    s4=0.0,
    split_s2_ms=20.0,
)


def _record(
    findings: CardiacFindings = NORMAL,
    seed: int = 0,
    sample_rate: int = 2000,
    duration_s: float = 20.0,
) -> tuple[np.ndarray, Rhythm]:
    rng = np.random.default_rng(seed)
    rhythm = make_rhythm(findings, duration_s, rng)
    return synthesize_pcg(findings, rhythm, rng, sample_rate, duration_s), rhythm


def _frame_power(x: np.ndarray, sample_rate: int, hop_s: float = 0.01) -> np.ndarray:
    """Mean power per `hop_s` frame: a coarse envelope of the recording."""
    hop = int(hop_s * sample_rate)
    frames = x[: len(x) // hop * hop].astype(np.float64).reshape(-1, hop)
    return np.mean(frames**2, axis=1)


def _window_power(x: np.ndarray, sample_rate: int, starts_s: np.ndarray, length_s: float) -> float:
    """Mean power over windows starting at `starts_s` that lie inside the recording."""
    length = int(length_s * sample_rate)
    starts = np.round(starts_s * sample_rate).astype(int)
    starts = starts[(starts >= 0) & (starts + length <= len(x))]
    idx = starts[:, None] + np.arange(length)
    return float(np.mean(x[idx].astype(np.float64) ** 2))


@pytest.mark.parametrize("sample_rate", [2000, 4000])
@pytest.mark.parametrize("duration_s", [5.0, 7.3333, 30.0])
def test_length_dtype_and_range(sample_rate: int, duration_s: float) -> None:
    findings = dataclasses.replace(NORMAL, systolic_murmur=0.6, s3=0.6, premature_beat_rate=0.2)
    x, _ = _record(findings, sample_rate=sample_rate, duration_s=duration_s)
    assert x.shape == (round(duration_s * sample_rate),)
    assert x.dtype == np.float32
    assert np.all(np.isfinite(x))
    assert np.max(np.abs(x)) <= 1.0
    assert np.std(x) > 0.005


def test_same_seed_is_identical_and_seeds_differ() -> None:
    a, _ = _record(seed=3)
    b, _ = _record(seed=3)
    c, _ = _record(seed=4)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


@pytest.mark.parametrize("sample_rate", [2000, 4000])
@pytest.mark.parametrize("seed", range(4))
def test_most_energy_is_in_the_heart_sound_band(sample_rate: int, seed: int) -> None:
    x, _ = _record(seed=seed, sample_rate=sample_rate)
    power = np.abs(np.fft.rfft(x.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1.0 / sample_rate)
    in_band = power[(freqs >= 25) & (freqs <= 400)].sum() / power.sum()
    assert in_band > 0.5


@pytest.mark.parametrize("heart_rate_bpm", [55.0, 72.0, 110.0])
def test_envelope_repeats_at_the_heart_rate(heart_rate_bpm: float) -> None:
    findings = dataclasses.replace(NORMAL, heart_rate_bpm=heart_rate_bpm)
    x, _ = _record(findings, seed=1, duration_s=30.0)
    env = _frame_power(x, 2000)
    env = env - env.mean()
    acf = np.correlate(env, env, mode="full")[len(env) - 1 :]
    lags_s = np.arange(len(acf)) * 0.01
    search = (lags_s >= 0.25) & (lags_s <= 2.0)
    period_s = lags_s[search][np.argmax(acf[search])]
    assert period_s == pytest.approx(60.0 / heart_rate_bpm, rel=0.1)


def test_loudest_moments_follow_the_beat_times() -> None:
    x, rhythm = _record(seed=2)
    beats = rhythm.beat_times_s
    after_r = _window_power(x, 2000, beats, 0.15)
    mid_diastole = _window_power(x, 2000, beats + 0.5 * np.median(np.diff(beats)), 0.15)
    assert after_r > 3 * mid_diastole


@pytest.mark.parametrize(
    ("finding", "window_start_s"),
    [("systolic_murmur", 0.12), ("diastolic_murmur", 0.45)],
)
@pytest.mark.parametrize("seed", range(3))
def test_murmur_adds_energy_in_its_phase_of_the_cycle(
    finding: str, window_start_s: float, seed: int
) -> None:
    """Same patient and rhythm, with and without the murmur, in the murmur band (100-400 Hz)."""
    quiet, rhythm = _record(seed=seed)
    murmur, same_rhythm = _record(dataclasses.replace(NORMAL, **{finding: 0.3}), seed=seed)
    np.testing.assert_array_equal(rhythm.beat_times_s, same_rhythm.beat_times_s)
    band = signal.butter(4, [100, 400], btype="bandpass", fs=2000, output="sos")
    quiet, murmur = (signal.sosfiltfilt(band, x) for x in (quiet, murmur))
    # at 72 bpm S1 ends ~0.12 s and S2 starts ~0.35 s after R; diastole is quiet from ~0.45 s
    beats = rhythm.beat_times_s
    starts = beats + window_start_s

    def phase_vs_s1(x: np.ndarray) -> float:
        return _window_power(x, 2000, starts, 0.15) / _window_power(x, 2000, beats, 0.12)

    assert phase_vs_s1(murmur) > 2 * phase_vs_s1(quiet)
