"""One latent diagnosis per demo patient, turned into what each modality shows.

The diagnosis drives all three modalities coherently, but each modality shows it only with a
probability set by its signal strength, so some abnormal patients are visible in one or two
modalities only and fusing beats any single one. Healthy patients sometimes carry benign
look-alike findings, so no modality is a perfect detector on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from cardiofusion.demo.findings import CardiacFindings

CONDITIONS = ("coronary", "arrhythmia", "valvular", "heart_failure", "conduction")
CONDITION_WEIGHTS = (0.35, 0.15, 0.2, 0.15, 0.15)
SHOW_PROBABILITY = 0.65  # chance a modality shows the diagnosis at signal strength 1.0
MIMIC_PROBABILITY = 0.1  # chance a healthy patient shows a benign look-alike in a modality


@dataclass(frozen=True)
class DemoPatient:
    """The latent truth behind one demo row and what each modality was allowed to show."""

    label: int  # 0 healthy, 1 abnormal
    condition: str  # "healthy" or one of CONDITIONS
    ecg: CardiacFindings  # findings the ECG renderer draws
    pcg: CardiacFindings  # findings the PCG renderer draws
    shared_rhythm: bool  # ECG and PCG follow the same beat timeline
    clinical_shift: float  # 0 = healthy-like clinical values, 1 = fully disease-like


def normal_findings(rng: np.random.Generator) -> CardiacFindings:
    """A healthy heart with ordinary person-to-person variation."""
    return CardiacFindings(
        heart_rate_bpm=float(np.clip(rng.normal(72, 10), 52, 98)),
        rr_variability=float(rng.uniform(0.02, 0.07)),
        atrial_fibrillation=False,
        premature_beat_rate=0.0,
        st_shift_mv=0.0,
        t_inversion=False,
        pathological_q=False,
        qrs_ms=float(rng.uniform(80, 100)),
        systolic_murmur=0.0,
        diastolic_murmur=0.0,
        s3=0.0,
        s4=0.0,
        split_s2_ms=float(rng.uniform(10, 30)),
    )


def sample_patient(
    rng: np.random.Generator, abnormal_fraction: float, signal: dict[str, float]
) -> DemoPatient:
    """Draw a diagnosis and what the ECG, PCG and clinical table show of it."""
    base = normal_findings(rng)
    shows = {m: rng.random() < min(1.0, SHOW_PROBABILITY * s) for m, s in signal.items()}
    if rng.random() >= abnormal_fraction:
        ecg, pcg = base, base
        if rng.random() < MIMIC_PROBABILITY:
            ecg = replace(ecg, st_shift_mv=-float(rng.uniform(0.05, 0.1)))
        if rng.random() < MIMIC_PROBABILITY:
            pcg = replace(pcg, systolic_murmur=float(rng.uniform(0.08, 0.18)))
        mimic_clinical = rng.random() < MIMIC_PROBABILITY
        shift = float(rng.uniform(0.3, 0.7)) if mimic_clinical else 0.0
        return _with_noise_modalities(rng, DemoPatient(0, "healthy", ecg, pcg, True, shift), signal)

    condition = str(rng.choice(CONDITIONS, p=CONDITION_WEIGHTS))
    rhythm = _rhythm_findings(condition, base, rng)
    ecg = _ecg_findings(condition, rhythm, rng) if shows["ecg"] else rhythm
    pcg = _pcg_findings(condition, rhythm, rng) if shows["pcg"] else rhythm
    shift = float(rng.uniform(0.6, 1.0)) if shows["clinical"] else 0.0
    patient = DemoPatient(1, condition, ecg, pcg, True, shift)
    return _with_noise_modalities(rng, patient, signal)


def _with_noise_modalities(
    rng: np.random.Generator, patient: DemoPatient, signal: dict[str, float]
) -> DemoPatient:
    """A modality with signal strength 0 shows an unrelated healthy heart: no label signal."""
    if signal["ecg"] == 0:
        patient = replace(patient, ecg=normal_findings(rng), shared_rhythm=False)
    if signal["pcg"] == 0:
        patient = replace(patient, pcg=normal_findings(rng), shared_rhythm=False)
    if signal["clinical"] == 0:
        patient = replace(patient, clinical_shift=0.0)
    return patient


def _rhythm_findings(
    condition: str, base: CardiacFindings, rng: np.random.Generator
) -> CardiacFindings:
    """Rate and rhythm belong to the heart, so both ECG and PCG show them."""
    if condition == "arrhythmia":
        if rng.random() < 0.6:
            rate = float(rng.uniform(85, 140))
            return replace(base, atrial_fibrillation=True, heart_rate_bpm=rate)
        return replace(base, premature_beat_rate=float(rng.uniform(0.12, 0.3)))
    if condition == "heart_failure" and rng.random() < 0.5:
        return replace(base, heart_rate_bpm=float(rng.uniform(100, 130)))
    if condition == "conduction" and rng.random() < 0.5:
        return replace(base, heart_rate_bpm=float(rng.uniform(38, 52)))
    return base


def _ecg_findings(
    condition: str, base: CardiacFindings, rng: np.random.Generator
) -> CardiacFindings:
    if condition == "coronary":
        elevation = rng.random() < 0.5
        st = rng.uniform(0.15, 0.35) if elevation else -rng.uniform(0.12, 0.25)
        return replace(
            base,
            st_shift_mv=float(st),
            pathological_q=bool(rng.random() < 0.6),
            t_inversion=bool(rng.random() < 0.5),
        )
    if condition == "valvular":
        return replace(base, st_shift_mv=-float(rng.uniform(0.1, 0.2)), t_inversion=True)
    if condition == "heart_failure":
        return replace(base, qrs_ms=float(rng.uniform(125, 160)), t_inversion=rng.random() < 0.5)
    if condition == "conduction":
        return replace(base, qrs_ms=float(rng.uniform(130, 170)))
    # arrhythmia: frequent premature beats on top of the rhythm
    return replace(base, premature_beat_rate=max(base.premature_beat_rate, 0.15))


def _pcg_findings(
    condition: str, base: CardiacFindings, rng: np.random.Generator
) -> CardiacFindings:
    if condition == "coronary":
        return replace(
            base,
            s4=float(rng.uniform(0.3, 0.6)),
            systolic_murmur=float(rng.uniform(0.2, 0.4)) if rng.random() < 0.4 else 0.0,
        )
    if condition == "valvular":
        if rng.random() < 0.7:
            return replace(base, systolic_murmur=float(rng.uniform(0.25, 0.6)))
        return replace(base, diastolic_murmur=float(rng.uniform(0.2, 0.5)))
    if condition == "heart_failure":
        return replace(
            base,
            s3=float(rng.uniform(0.3, 0.6)),
            systolic_murmur=float(rng.uniform(0.2, 0.35)) if rng.random() < 0.5 else 0.0,
        )
    if condition == "conduction":
        return replace(base, split_s2_ms=float(rng.uniform(45, 80)))
    # arrhythmia: the irregular rhythm is heard; a murmur of atrial enlargement sometimes
    murmur = float(rng.uniform(0.2, 0.3)) if rng.random() < 0.3 else 0.0
    return replace(base, systolic_murmur=murmur)
