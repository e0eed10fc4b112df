"""Synthetic phonocardiograms (heart-sound recordings) for the demo dataset.

Real stethoscope recordings are short decaying S1/S2 transients (most energy 25-400 Hz) sitting
in breathing, body and room noise, with occasional bumps of the chest piece, at whatever gain the
device chose. The synthesizer reproduces that structure from the patient's findings and the beat
timeline shared with the ECG, so preprocessing and models built on demo data carry over to real
recordings (PhysioNet 2016 style, 2 kHz mono).

Everything is vectorized: each sound is a parametric decaying oscillation ("atom") rendered for
all beats at once and scattered into the output, and noise is shaped in the frequency domain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.fft

from cardiofusion.demo.findings import CardiacFindings, Rhythm

_ATOM_SPAN = 9.0  # atoms are rendered for this many rise times (envelope has decayed to ~0.3%)
_WIDE_SPLIT_MS = 40.0  # findings.split_s2_ms at or above this is a fixed, audible split

Param = np.ndarray | float  # a per-beat array or one value shared by all beats


@dataclass(frozen=True)
class _Atoms:
    """Parameters of decaying oscillations, one entry per sound (all arrays the same length)."""

    onset_s: np.ndarray
    amp: np.ndarray
    freq_hz: np.ndarray  # frequency the oscillation settles to
    sweep_hz: np.ndarray  # extra frequency at the onset, decaying with the envelope
    rise_s: np.ndarray  # time to the envelope peak; sets both duration and bandwidth
    phase: np.ndarray

    @staticmethod
    def concat(*groups: _Atoms) -> _Atoms:
        return _Atoms(
            *(np.concatenate([getattr(g, f) for g in groups]) for f in _Atoms.__dataclass_fields__)
        )


@dataclass(frozen=True)
class _Beats:
    """Per-beat sound timing: S1 onsets and A2 onsets, with one beat of context on either side."""

    s1_s: np.ndarray
    a2_s: np.ndarray
    rr_prev_s: np.ndarray  # RR interval ending at this beat (drives systole length and S1 loudness)
    premature: np.ndarray


def synthesize_pcg(
    findings: CardiacFindings,
    rhythm: Rhythm,
    rng: np.random.Generator,
    sample_rate: int,
    duration_s: float,
) -> np.ndarray:
    """Mono float32 heart-sound recording in [-1, 1], `duration_s` long at `sample_rate`."""
    n = int(round(duration_s * sample_rate))
    # one stream per part, so e.g. adding a murmur leaves the rest of that patient's sound as is
    heart_rng, murmur_rng, noise_rng, artifact_rng, gain_rng = (
        np.random.default_rng(seed) for seed in rng.integers(0, 2**63, size=5)
    )
    resp_hz = float(heart_rng.uniform(0.2, 0.3))
    resp_phase = float(heart_rng.uniform(0, 2 * np.pi))

    def inspiration(t: np.ndarray) -> np.ndarray:
        """Depth of inspiration in [0, 1]; widens the S2 split and raises breath noise."""
        return 0.5 - 0.5 * np.cos(2 * np.pi * resp_hz * t + resp_phase)

    beats = _beat_timeline(findings, rhythm, heart_rng)
    valves, gallops = _heart_sounds(findings, beats, heart_rng, inspiration)
    heart = _render(valves, n, sample_rate)
    heart_rms = float(np.sqrt(np.mean(heart**2))) + 1e-6
    heart += _render(gallops, n, sample_rate)

    t = np.arange(n) / sample_rate
    heart += _murmurs(findings, beats, murmur_rng, t, sample_rate)
    noise = _noise(noise_rng, t, sample_rate, heart_rms, inspiration(t))
    artifacts = _render(_artifacts(artifact_rng, duration_s), n, sample_rate)
    mix = heart + noise + artifacts
    # recorders normalize very differently: many real files peak at full scale, others far below
    peak = (
        gain_rng.uniform(0.95, 0.999)
        if gain_rng.random() < 0.4
        else 10 ** gain_rng.uniform(-0.8, 0)
    )
    mix *= peak / (np.max(np.abs(mix)) + 1e-12)
    return np.clip(mix, -1.0, 1.0).astype(np.float32)


def _beat_timeline(findings: CardiacFindings, rhythm: Rhythm, rng: np.random.Generator) -> _Beats:
    """Place S1 just after each R peak and A2 at the end of systole.

    A virtual beat is added before the first and after the last so the recording can start and
    end mid-cycle. Systole follows Weissler's QS2 = 546 - 2.1 * HR ms, using the instantaneous
    rate of the preceding RR interval, and always ends well before the next beat.
    """
    r = np.asarray(rhythm.beat_times_s, dtype=float)
    premature = np.asarray(rhythm.premature, dtype=bool)
    mean_rr = 60.0 / findings.heart_rate_bpm
    r = np.concatenate([[r[0] - mean_rr], r, [r[-1] + mean_rr]])
    premature = np.concatenate([[False], premature, [False]])
    rr_prev = np.diff(r, prepend=r[0] - mean_rr)
    rr_next = np.diff(r, append=r[-1] + mean_rr)
    hr_inst = np.clip(60.0 / rr_prev, 40.0, 180.0)
    qs2 = 0.546 - 0.0021 * hr_inst - 0.04 + rng.uniform(-0.015, 0.015)  # Q onset ~40 ms before R
    s1_delay = rng.uniform(0.02, 0.05)
    a2 = r + np.minimum(qs2, 0.7 * rr_next)
    return _Beats(s1_s=r + s1_delay, a2_s=a2, rr_prev_s=rr_prev, premature=premature)


def _heart_sounds(
    findings: CardiacFindings,
    beats: _Beats,
    rng: np.random.Generator,
    inspiration: Callable[[np.ndarray], np.ndarray],
) -> tuple[_Atoms, _Atoms]:
    """Valve sounds (M1, T1, A2, P2) and gallop sounds (S3, S4) for every beat."""
    m = len(beats.s1_s)
    prem = beats.premature
    # S1 loudness: louder after short RR (leaflets still wide open), erratic in atrial fibrillation
    mean_rr = 60.0 / findings.heart_rate_bpm
    jitter = 0.3 if findings.atrial_fibrillation else 0.07
    s1_amp = (mean_rr / beats.rr_prev_s) ** 0.5 * np.exp(jitter * rng.standard_normal(m))
    s1_amp *= np.where(prem, rng.uniform(0.4, 0.9, m), 1.0)
    s1_amp /= np.median(s1_amp)
    s1_amp *= 1.0 - 0.1 * inspiration(beats.s1_s)  # lungs between heart and chest piece
    s2_amp = rng.uniform(0.5, 1.1) * np.where(prem, rng.uniform(0.2, 0.6, m), 1.0)
    s2_amp *= np.exp(0.08 * rng.standard_normal(m)) * (1.0 - 0.1 * inspiration(beats.a2_s))

    # A2-P2 split: widens on inspiration unless the split is wide and fixed
    swing_ms = 5.0 if findings.split_s2_ms >= _WIDE_SPLIT_MS else rng.uniform(15.0, 30.0)
    split_s = findings.split_s2_ms + swing_ms * (inspiration(beats.a2_s) - 0.5)
    split_s = (np.maximum(split_s, 0.0) + np.where(prem, rng.uniform(15.0, 35.0, m), 0.0)) / 1e3
    # premature beats come from an ectopic focus: their sounds are pitched differently
    pitch = np.where(prem, rng.uniform(0.8, 1.25, m), 1.0) * np.exp(0.05 * rng.standard_normal(m))
    t1_lag = rng.uniform(0.02, 0.03)

    def atoms(onset: Param, amp: Param, freq: Param, sweep: Param, rise: Param) -> _Atoms:
        ones = np.ones(m)
        return _Atoms(
            onset_s=onset,
            amp=amp * ones,
            freq_hz=freq * ones,
            sweep_hz=sweep * ones,
            rise_s=rise * ones,
            phase=rng.uniform(0, 2 * np.pi, m),
        )

    def valve(onset: Param, amp: Param, freq: Param, rise: Param) -> _Atoms:
        """A damped tone plus a weaker, quicker overtone at a random ratio and a brief snap at
        closure: real closures ring through several tissue resonances and look ragged, with a
        sharp onset that reaches the top of the band, not like a pure tone burst."""
        return _Atoms.concat(
            atoms(onset, amp, freq, rng.uniform(10.0, 40.0), rise),
            atoms(onset, amp * rng.uniform(0.15, 0.35), rng.uniform(120.0, 250.0), 0.0, 0.0015),
            atoms(
                onset + rng.uniform(0.0, 0.01, m),
                amp * rng.uniform(0.2, 0.5),
                freq * rng.uniform(1.8, 3.2),
                rng.uniform(20.0, 80.0),
                rise * rng.uniform(0.4, 0.7),
            ),
        )

    s1_freq, s1_rise = rng.uniform(25.0, 50.0), rng.uniform(0.008, 0.013)
    s2_freq, s2_rise = rng.uniform(40.0, 75.0), rng.uniform(0.005, 0.008)
    valves = _Atoms.concat(
        valve(beats.s1_s, s1_amp, s1_freq * pitch, s1_rise),
        valve(
            beats.s1_s + t1_lag,
            s1_amp * rng.uniform(0.4, 0.8),
            s1_freq * pitch * rng.uniform(0.9, 1.2),
            s1_rise,
        ),
        valve(beats.a2_s, s2_amp, s2_freq * pitch, s2_rise),
        valve(
            beats.a2_s + split_s,
            s2_amp * rng.uniform(0.3, 0.7),
            s2_freq * pitch * rng.uniform(0.8, 1.0),
            s2_rise,
        ),
    )
    gallops = _Atoms.concat(
        atoms(
            beats.a2_s + rng.uniform(0.12, 0.18, m),
            findings.s3 * s1_amp,
            rng.uniform(30.0, 60.0),
            rng.uniform(0, 20),
            rng.uniform(0.015, 0.022),
        ),
        atoms(
            beats.s1_s - rng.uniform(0.08, 0.10, m),
            findings.s4 * s1_amp,
            rng.uniform(25.0, 55.0),
            rng.uniform(0, 20),
            rng.uniform(0.012, 0.018),
        ),
    )
    return valves, gallops


def _render(atoms: _Atoms, n: int, sample_rate: int) -> np.ndarray:
    """Sum all atoms into an `n`-sample signal.

    Each atom is a gamma-shaped envelope (linear attack to a peak at `rise_s`, exponential decay)
    on a tone gliding down from `freq + sweep` to `freq`: the shape of a valve closure ringing
    through the chest wall, and a -12 dB/octave spectral roll-off like real recordings.
    """
    if atoms.amp.size == 0 or not np.any(atoms.amp):
        return np.zeros(n)
    length = int(np.ceil(_ATOM_SPAN * atoms.rise_s.max() * sample_rate))
    t = np.arange(length) / sample_rate
    rise = atoms.rise_s[:, None]
    x = t / rise
    phase = (
        2 * np.pi * (atoms.freq_hz[:, None] * t + atoms.sweep_hz[:, None] * rise * (1 - np.exp(-x)))
    )
    wave = (atoms.amp[:, None] * x * np.exp(1 - x)) * np.sin(phase + atoms.phase[:, None])
    idx = np.round(atoms.onset_s * sample_rate).astype(np.int64)[:, None] + np.arange(length)
    keep = (idx >= 0) & (idx < n)
    return np.bincount(idx[keep], weights=wave[keep], minlength=n)


def _shaped_noise(
    rng: np.random.Generator, n: int, sample_rate: int, bands: list[tuple[float, float, float]]
) -> np.ndarray:
    """Unit-RMS Gaussian noise rows, each with a Butterworth-like band (low, high, order).

    Shaping white spectra directly is cheaper than running filters and allows any band.
    """
    size = scipy.fft.next_fast_len(n, real=True)
    n_bins = size // 2 + 1
    log_f = np.log(np.maximum(np.arange(n_bins, dtype=np.float32), 0.5) * (sample_rate / size))
    low, high, order = np.array(bands, dtype=np.float32).T[:, :, None]
    below = np.exp(2 * order * (np.log(low) - log_f))  # (low / f) ** (2 * order)
    above = np.exp(2 * order * (log_f - np.log(high)))
    gain = 1 / np.sqrt((1 + below) * (1 + above))
    white = rng.standard_normal((len(bands), 2 * n_bins), dtype=np.float32).view(np.complex64)
    rows = scipy.fft.irfft(white * gain, size, axis=1)[:, :n]
    return rows / (np.sqrt(np.mean(rows**2, axis=1, keepdims=True)) + 1e-12)


def _murmurs(
    findings: CardiacFindings,
    beats: _Beats,
    rng: np.random.Generator,
    t: np.ndarray,
    sample_rate: int,
) -> np.ndarray:
    """Band-limited turbulence noise shaped by per-beat envelopes over systole and diastole."""
    if findings.systolic_murmur <= 0 and findings.diastolic_murmur <= 0:
        return np.zeros_like(t)
    holosystolic = rng.random() < 0.5
    apex = rng.uniform(0.3, 0.5)  # where an ejection murmur peaks within systole
    sys_band = (rng.uniform(80.0, 130.0), rng.uniform(300.0, 450.0), 2.0)
    dia_band = (rng.uniform(120.0, 180.0), rng.uniform(350.0, 500.0), 2.0)
    dia_decay = rng.uniform(1.5, 3.0)
    k = np.clip(np.searchsorted(beats.s1_s, t, side="right") - 1, 0, len(beats.s1_s) - 2)
    s1, a2, next_s1 = beats.s1_s[k], beats.a2_s[k], beats.s1_s[k + 1]

    # systole, measured from S1 (holosystolic) or from ejection (after S1) to A2
    start = s1 + (0.01 if holosystolic else 0.05)
    u = (t - start) / np.maximum(a2 - start, 1e-3)
    if holosystolic:
        sys_env = np.clip(np.minimum(u, 1 - u) / 0.08, 0, 1)
    else:
        sys_env = np.clip(np.minimum(u / apex, (1 - u) / (1 - apex)), 0, 1) ** 1.5
    # diastole: decrescendo from A2 until the next S1
    v = (t - a2) / np.maximum(next_s1 - a2, 1e-3)
    dia_env = np.where((v >= 0) & (v < 1), np.exp(-dia_decay * v) * np.clip(v / 0.03, 0, 1), 0.0)

    sys_noise, dia_noise = _shaped_noise(rng, t.size, sample_rate, [sys_band, dia_band])
    return (
        findings.systolic_murmur / 3 * sys_env * sys_noise
        + findings.diastolic_murmur / 3 * dia_env * dia_noise
    )


def _noise(
    rng: np.random.Generator,
    t: np.ndarray,
    sample_rate: int,
    heart_rms: float,
    inspiration: np.ndarray,
) -> np.ndarray:
    """Breathing, body/room background at a per-patient SNR, and slow baseline movement."""
    snr_db = rng.uniform(5.0, 25.0)
    breath_level = heart_rms * 10 ** rng.uniform(-1.7, -0.5)
    wander_level = heart_rms * 10 ** rng.uniform(-1.5, 0.0)
    bands = [
        (rng.uniform(20.0, 40.0), rng.uniform(60.0, 200.0), 1.5),  # breath sounds
        (rng.uniform(3.0, 10.0), rng.uniform(20.0, 50.0), rng.uniform(1.5, 2.5)),  # background
        (3.0, rng.uniform(10.0, 20.0), 2.0),  # baseline movement
    ]
    breath, background, wander = _shaped_noise(rng, t.size, sample_rate, bands)
    return (
        breath_level * inspiration**2 * breath
        + heart_rms * 10 ** (-snr_db / 20) * background
        + wander_level * wander
    )


def _artifacts(rng: np.random.Generator, duration_s: float) -> _Atoms:
    """Stethoscope bumps (big low-frequency thuds) and friction (bursts of short clicks)."""
    rate = 0.0 if rng.random() < 0.4 else 10 ** rng.uniform(-2.0, -0.7)
    n_bumps, n_bursts = rng.poisson(rate * duration_s, 2)
    bursts = rng.uniform(0, duration_s, n_bursts)
    clicks_per_burst = 12
    n_clicks = n_bursts * clicks_per_burst
    return _Atoms(
        onset_s=np.concatenate(
            [
                rng.uniform(0, duration_s, n_bumps),
                np.repeat(bursts, clicks_per_burst) + rng.uniform(0, 0.15, n_clicks),
            ]
        ),
        amp=np.concatenate(
            [
                rng.uniform(0.5, 2.5, n_bumps),
                rng.uniform(0.1, 0.5, n_clicks),
            ]
        ),
        freq_hz=np.concatenate(
            [rng.uniform(5.0, 25.0, n_bumps), rng.uniform(150.0, 500.0, n_clicks)]
        ),
        sweep_hz=np.concatenate([rng.uniform(0, 30, n_bumps), rng.uniform(0, 200, n_clicks)]),
        rise_s=np.concatenate(
            [rng.uniform(0.02, 0.05, n_bumps), rng.uniform(0.001, 0.004, n_clicks)]
        ),
        phase=rng.uniform(0, 2 * np.pi, n_bumps + n_clicks),
    )
