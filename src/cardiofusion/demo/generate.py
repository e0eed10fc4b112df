"""The built-in demo dataset: ECG printouts, heart-sound WAVs and a metadata CSV.

It is written in the same shape as a real metadata CSV (`patient_id, ecg_path, pcg_path,
<clinical...>, output` with relative paths), so the rest of the pipeline cannot tell it apart
from a user's own data. Each patient has its own seed, so the output does not depend on
`n_jobs`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
from tqdm import tqdm

from cardiofusion.config import DemoParams
from cardiofusion.demo.clinical import sample_clinical
from cardiofusion.demo.ecg import FS as ECG_RATE
from cardiofusion.demo.ecg import LEADS as ECG_LEADS
from cardiofusion.demo.ecg import lead_signals, render_ecg
from cardiofusion.demo.findings import make_rhythm
from cardiofusion.demo.latent import sample_patient
from cardiofusion.demo.pcg import synthesize_pcg
from cardiofusion.demo.records import write_record
from cardiofusion.files import atomic_path
from cardiofusion.parallel import process_map

ECG_STRIP_SECONDS = 10.0


@dataclass(frozen=True)
class _Job:
    out_dir: Path
    patient_id: str
    seed: np.random.SeedSequence
    params: DemoParams


def generate_demo(params: DemoParams, seed: int) -> Path:
    """Write `params.patients` patients under `params.out_dir`; return the metadata CSV path."""
    out_dir = params.out_dir
    (out_dir / "ecg").mkdir(parents=True, exist_ok=True)
    (out_dir / "pcg").mkdir(parents=True, exist_ok=True)
    width = max(4, len(str(params.patients)))
    seeds = np.random.SeedSequence(seed).spawn(params.patients)
    jobs = [
        _Job(out_dir, f"P{i + 1:0{width}d}", s, params)
        for i, s in enumerate(seeds)
    ]
    results = list(tqdm(process_map(_write_patient, jobs, params.n_jobs, chunksize=8),
                        total=len(jobs), desc="demo patients", disable=None))
    rows = pd.DataFrame([row for row, _ in results])
    latent = pd.DataFrame([truth for _, truth in results])
    csv_path = out_dir / "metadata.csv"
    with atomic_path(csv_path) as tmp:
        rows.to_csv(tmp, index=False)
    with atomic_path(out_dir / "latent.csv") as tmp:
        latent.to_csv(tmp, index=False)
    counts = rows["output"].value_counts().to_dict()
    print(
        f"📁 Demo dataset: {len(rows)} patients in {out_dir} "
        f"(healthy {counts.get(0, 0)} : abnormal {counts.get(1, 0)})"
    )
    return csv_path


def _write_patient(job: _Job) -> tuple[dict[str, object], dict[str, object]]:
    """Render one patient's three inputs; return its CSV row and its latent truth."""
    rng = np.random.default_rng(job.seed)
    p = job.params
    absent = absent_modalities(np.random.default_rng(job.seed.spawn(1)[0]), p)
    patient = sample_patient(rng, p.abnormal_fraction, p.signal.as_dict())
    duration = float(rng.uniform(*p.pcg_seconds))
    span = max(duration, ECG_STRIP_SECONDS)
    ecg_rhythm = make_rhythm(patient.ecg, span, rng)
    pcg_rhythm = ecg_rhythm if patient.shared_rhythm else make_rhythm(patient.pcg, span, rng)

    if p.ecg_format == "image":
        ecg_name = _write_printout(job, patient, ecg_rhythm, rng, "ecg" not in absent)
    else:
        signals = lead_signals(patient.ecg, ecg_rhythm, rng)
        ecg_name = f"ecg/{job.patient_id}" + (".hea" if p.ecg_format == "wfdb" else ".edf")
        if "ecg" not in absent:
            write_record(job.out_dir / ecg_name, signals, ECG_RATE, ECG_LEADS)

    sample_rate = 4000 if rng.random() < p.pcg_4khz_fraction else 2000
    signal = synthesize_pcg(patient.pcg, pcg_rhythm, rng, sample_rate, duration)
    if rng.random() < p.stereo_fraction:
        other = signal * rng.uniform(0.7, 1.0) + rng.normal(0, 0.003, signal.shape)
        signal = np.stack([signal, np.clip(other, -1, 1)], axis=1)
    pcg_name = f"pcg/{job.patient_id}.wav"
    if "pcg" not in absent:
        with atomic_path(job.out_dir / pcg_name) as tmp:
            sf.write(tmp, signal, sample_rate, subtype="PCM_16", format="WAV")

    clinical = sample_clinical(rng, patient.clinical_shift, p.missing_fraction)
    if "clinical" in absent:
        clinical = dict.fromkeys(clinical, float("nan"))
    row = {"patient_id": job.patient_id,
           "ecg_path": "" if "ecg" in absent else ecg_name,
           "pcg_path": "" if "pcg" in absent else pcg_name}
    row |= clinical
    row["output"] = patient.label
    truth = {"patient_id": job.patient_id, "condition": patient.condition}
    return row, truth


def _write_printout(job: _Job, patient: object, rhythm: object, rng: np.random.Generator,
                    write: bool) -> str:
    """The printout as a PNG or JPEG scan (drawn also when not written: the same draws)."""
    image = render_ecg(patient.ecg, rhythm, rng)  # type: ignore[attr-defined]
    ecg_name = f"ecg/{job.patient_id}" + (".png" if rng.random() < job.params.png_fraction
                                          else ".jpg")
    quality = 0 if ecg_name.endswith(".png") else int(rng.integers(80, 96))
    if write:
        with atomic_path(job.out_dir / ecg_name) as tmp:
            if ecg_name.endswith(".png"):
                image.save(tmp, format="PNG", compress_level=1)  # fast; 6 costs 74 ms/image
            else:
                image.save(tmp, format="JPEG", quality=quality)
    return ecg_name


def absent_modalities(rng: np.random.Generator, params: DemoParams) -> set[str]:
    """The modalities this patient lacks (`demo.missing`), never all three; drawn from a
    stream of its own, so the patient's recordings are the same with or without absences."""
    rates = params.missing.as_dict()
    absent = {m for m, rate in rates.items() if rng.random() < rate}
    return absent - {"clinical"} if len(absent) == len(rates) else absent
