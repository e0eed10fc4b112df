"""What one demo patient's heart does, shared by the ECG and PCG renderers.

A latent diagnosis is turned into findings once; both renderers draw from the same findings and
the same beat timeline, so an irregular rhythm on the ECG strip is also heard in the recording.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CardiacFindings:
    """Per-patient physiology; zero/False everywhere means a normal heart."""

    heart_rate_bpm: float
    rr_variability: float  # SD of RR intervals / mean RR for sinus rhythm (0.02-0.08 is normal)
    atrial_fibrillation: bool  # irregularly irregular RR, no P waves, fibrillatory baseline
    premature_beat_rate: float  # probability that a beat is a premature ventricular beat
    # ECG findings
    st_shift_mv: float  # ST segment shift in the affected leads: + elevation, - depression
    t_inversion: bool  # inverted T waves in the affected leads
    pathological_q: bool  # deep, wide Q waves in the affected leads
    qrs_ms: float  # QRS duration: 80-100 normal, >= 120 wide (bundle-branch block)
    # PCG findings (amplitudes relative to S1)
    systolic_murmur: float  # holo/mid-systolic noise between S1 and S2; 0 = none
    diastolic_murmur: float  # decrescendo noise after S2; 0 = none
    s3: float  # early diastolic low-frequency sound (ventricular gallop); 0 = none
    s4: float  # late diastolic low-frequency sound just before S1 (atrial gallop); 0 = none
    split_s2_ms: float  # A2-P2 interval: < 30 normal, >= 40 audibly split


@dataclass(frozen=True)
class Rhythm:
    """The beat timeline both renderers share: R-peak / S1 times from t = 0."""

    beat_times_s: np.ndarray  # float, increasing, covers at least the longest rendering
    premature: np.ndarray  # bool, same length: beat is a premature ventricular beat


def make_rhythm(findings: CardiacFindings, duration_s: float, rng: np.random.Generator) -> Rhythm:
    """Draw beat times covering `duration_s` (+ one beat) for the given findings."""
    mean_rr = 60.0 / findings.heart_rate_bpm
    times: list[float] = []
    premature: list[bool] = []
    t = float(rng.uniform(0.05, mean_rr))
    while t < duration_s + mean_rr:
        is_premature = bool(times) and bool(rng.random() < findings.premature_beat_rate)
        if is_premature:
            # the premature beat comes early; a compensatory pause follows it
            t = times[-1] + mean_rr * rng.uniform(0.55, 0.7)
        times.append(t)
        premature.append(is_premature)
        if findings.atrial_fibrillation:
            rr = mean_rr * rng.uniform(0.6, 1.4)
        else:
            rr = mean_rr * (1.0 + findings.rr_variability * rng.standard_normal())
            rr = max(rr, 0.5 * mean_rr)
        if is_premature:
            rr = mean_rr * rng.uniform(1.3, 1.5)
        t = times[-1] + rr
    return Rhythm(beat_times_s=np.asarray(times), premature=np.asarray(premature, dtype=bool))
