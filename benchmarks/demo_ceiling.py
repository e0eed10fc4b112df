"""The demo's ceiling: the AUROC a model could reach if it perceived each patient's findings
perfectly, or only whether each recording looks abnormal at all.

Run from the repository root:
    python benchmarks/demo_ceiling.py [--params params.yaml] [--set demo.missing.ecg=0 ...]
                                      [--seeds 42 1 2 3 4] [--large 40000] [--bar 0.93]

No image or sound is rendered: patients are drawn from the demo's own latent model (diagnosis,
what each modality shows, look-alike findings in healthy patients, the clinical row, the
absences of `demo.missing`), with the demo's parameters. A gradient-boosted classifier
(scikit-learn's, which reads a missing value as such) is fitted on what each level of
perception sees:
- findings: every number the renderers draw from (ST shift, QRS width, murmur amplitudes,
  rate, rhythm) and the clinical row; a perfect encoder's input;
- looks abnormal: per recording only whether it shows any finding, a healthy patient's benign
  look-alike (a small ST depression, a faint murmur) indistinguishable from disease; with the
  clinical row;
- one modality alone, at the findings level.
Each is fitted once on `--large` patients (the ceiling of that information) and, at each seed,
on as many patients as the demo's train and validation splits hold (what that information
allows from the demo's data), and scored on another `--large` patients. Last, the spread of a
test split the demo's size: the AUROC of the demo-size model on random test splits of that
size, and how often the median of five such splits reaches `--bar`.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import astuple, fields
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

from cardiofusion.config import DemoParams, load_params
from cardiofusion.demo.clinical import CLINICAL_COLUMNS, sample_clinical
from cardiofusion.demo.findings import CardiacFindings
from cardiofusion.demo.generate import absent_modalities
from cardiofusion.demo.latent import sample_patient
from cardiofusion.reporting.results_file import results_record, write_results

NO_FINDINGS = [float("nan")] * len(fields(CardiacFindings))  # an absent recording's row
LEVELS = ("findings", "looks abnormal", "ECG alone", "PCG alone", "clinical alone")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="a params override, e.g. demo.missing.ecg=0")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 1, 2, 3, 4])
    parser.add_argument("--large", type=int, default=40_000)
    parser.add_argument("--bar", type=float, default=0.93)
    parser.add_argument("--results", type=Path, help="also write the table here (JSON)")
    args = parser.parse_args()
    params = load_params(args.params, args.overrides)
    demo, split = params.demo, params.data.split
    fitted = round(demo.patients * (split.train + split.val))
    tested = demo.patients - fitted

    test = draw(demo, args.large, np.random.default_rng(0))
    large = draw(demo, args.large, np.random.default_rng(1))
    small = {seed: draw(demo, fitted, np.random.default_rng([2, seed])) for seed in args.seeds}
    header = ["perception", f"AUROC, {args.large:,} patients fitted",
              f"AUROC, {fitted:,} patients fitted: mean [range] over seeds"]
    print("| " + " | ".join(header) + " |\n" + "|---" * len(header) + "|")
    rows, raw = [], {}
    for level in LEVELS:
        ceiling = score(large, test, level)[0]
        per_seed = [score(small[seed], test, level) for seed in args.seeds]
        aurocs = [auroc for auroc, _ in per_seed]
        raw[level] = {"large": ceiling, "per_seed": aurocs}
        rows.append([level, f"{ceiling:.3f}",
                     f"{np.mean(aurocs):.3f} [{min(aurocs):.3f}, {max(aurocs):.3f}]"])
        print("| " + " | ".join(rows[-1]) + " |", flush=True)
        if level in ("findings", "looks abnormal"):
            raw[level]["test_split"] = spread(test["label"], per_seed[0][1], tested, args.bar)
    print(f"A test split of {tested} patients (seed {args.seeds[0]}'s demo-size model):")
    for level in ("findings", "looks abnormal"):
        s = raw[level]["test_split"]
        print(f"  {level}: AUROC 90% range [{s['p5']:.3f}, {s['p95']:.3f}]; median of five "
              f"splits >= {args.bar}: {s['median_of_5_reaches_bar']:.0%}")
    if args.results:
        write_results(args.results, results_record(
            "demo_ceiling", header, rows, raw, seeds=args.seeds, fitted=fitted, tested=tested,
            large=args.large, bar=args.bar))


def draw(demo: DemoParams, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """`n` demo patients' latent findings, look-alike flags, clinical rows and labels; an
    absent modality's values are NaN."""
    columns: dict[str, list] = {"ECG": [], "PCG": [], "clinical": [], "flags": [], "label": []}
    for _ in range(n):
        absent = absent_modalities(rng, demo)
        patient = sample_patient(rng, demo.abnormal_fraction, demo.signal.as_dict())
        row = sample_clinical(rng, patient.clinical_shift, demo.missing_fraction)
        nan = float("nan")
        columns["ECG"].append(_numbers(patient.ecg) if "ecg" not in absent else NO_FINDINGS)
        columns["PCG"].append(_numbers(patient.pcg) if "pcg" not in absent else NO_FINDINGS)
        columns["clinical"].append([nan if "clinical" in absent else row[c]
                                    for c in CLINICAL_COLUMNS])
        columns["flags"].append([nan if m in absent else float(_looks_abnormal(findings))
                                 for m, findings in (("ecg", patient.ecg), ("pcg", patient.pcg))])
        columns["label"].append(patient.label)
    return {name: np.asarray(values, dtype=float) for name, values in columns.items()}


def score(fit_on: dict[str, np.ndarray], test: dict[str, np.ndarray],
          level: str) -> tuple[float, np.ndarray]:
    """Test AUROC of a classifier fitted on what `level` perceives, and its test scores."""
    model = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, max_leaf_nodes=15,
                                           l2_regularization=1.0, random_state=0)
    model.fit(_inputs(fit_on, level), fit_on["label"])
    scores = model.predict_proba(_inputs(test, level))[:, 1]
    return float(roc_auc_score(test["label"], scores)), scores


def spread(labels: np.ndarray, scores: np.ndarray, size: int, bar: float) -> dict[str, float]:
    """AUROC over random test splits of `size` patients, stratified like the demo's."""
    rng = np.random.default_rng(3)
    healthy, abnormal = np.flatnonzero(labels == 0), np.flatnonzero(labels == 1)
    n_healthy = max(1, round(size * len(healthy) / len(labels)))
    aurocs = np.asarray([
        roc_auc_score(labels[rows], scores[rows])
        for rows in (np.r_[rng.choice(healthy, n_healthy, replace=False),
                           rng.choice(abnormal, size - n_healthy, replace=False)]
                     for _ in range(2000))
    ])
    medians = np.median(rng.choice(aurocs, (2000, 5)), axis=1)
    return {"p5": float(np.percentile(aurocs, 5)), "p95": float(np.percentile(aurocs, 95)),
            "median_of_5_reaches_bar": float(np.mean(medians >= bar))}


def _inputs(patients: dict[str, np.ndarray], level: str) -> np.ndarray:
    if level == "findings":
        return np.hstack([patients["ECG"], patients["PCG"], patients["clinical"]])
    if level == "looks abnormal":
        return np.hstack([patients["flags"], patients["clinical"]])
    return patients[level.removesuffix(" alone")]


def _numbers(findings: CardiacFindings) -> list[float]:
    return [float(v) for v in astuple(findings)]


def _looks_abnormal(f: CardiacFindings) -> bool:
    """Anything a reader would call abnormal in a recording: a finding, a rate outside the
    healthy range the demo draws (52-98 bpm) or an irregular rhythm."""
    return bool(f.st_shift_mv or f.t_inversion or f.pathological_q or f.qrs_ms > 110
                or f.atrial_fibrillation or f.premature_beat_rate or f.systolic_murmur
                or f.diastolic_murmur or f.s3 or f.s4 or f.split_s2_ms > 35
                or not 52 <= f.heart_rate_bpm <= 98)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
