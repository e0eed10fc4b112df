"""Build a multimodal CSV from real single-modality files: the shape of the original metadata.

Each patient is a real clinical row of the original metadata CSV (the UCI heart-disease rows,
deduplicated: the original repeats them across 3,784 rows), paired with a real PhysioNet 2016
recording and a real 12-lead ECG scan of the same label. There are far fewer scans than patients,
so scans are reused across rows exactly as in the original data; recordings are reused only when
a class has more patients than recordings. The three sources are different people: the result
exercises real formats and the pipeline, it supports no clinical claim.

    python examples/real_composite/build.py --source ../shared/data/real --out data/real_composite

The folders `ecg/` and `pcg/` of the output are symlinks to the source, as a dataset kept on
another disk is usually linked under a project; the CSV names files through them.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import pandas as pd

CLINICAL = ["age", "sex", "cp", "trtbps", "chol", "fbs", "restecg", "thalachh", "exng",
            "oldpeak", "slp", "caa", "thall"]
LABELS = {"normal": 0, "abnormal": 1}


def clinical_patients(metadata: Path) -> pd.DataFrame:
    """One row per distinct real clinical record with a 0/1 label (the imputed rows go)."""
    table = pd.read_csv(metadata)
    labelled = table[table["output"].isin([0, 1])].dropna(subset=CLINICAL)
    patients = labelled.drop_duplicates(subset=CLINICAL).reset_index(drop=True)
    return patients[[*CLINICAL, "98.6", "output"]].astype({"output": int})


def file_labels(labels_csv: Path, name_column: str, suffix: str) -> pd.DataFrame:
    table = pd.read_csv(labels_csv)
    names = table[name_column].astype(str)
    return pd.DataFrame({
        "file": [n if n.endswith(suffix) else n + suffix for n in names],
        "label": table["label"].map(LABELS),
    })


def pick(files: pd.DataFrame, label: int, count: int, limit: int | None,
         rng: np.random.Generator) -> list[str]:
    """`count` files of one label, cycling through a shuffled pool of at most `limit` files."""
    pool = files.loc[files["label"] == label, "file"].to_numpy().copy()
    rng.shuffle(pool)
    pool = pool[:limit] if limit else pool
    return [pool[i % len(pool)] for i in range(count)]


def build(source: Path, out: Path, patients: int | None, scans: int | None, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    table = clinical_patients(source / "multimodal_metadata_clean.csv")
    if patients:  # a stratified subset, for quick runs
        share = patients / len(table)
        table = pd.concat(
            group.sample(max(3, round(len(group) * share)), random_state=seed)
            for _, group in table.groupby("output")
        )
    table = table.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    recordings = file_labels(source / "pcg/labels.csv", "recording", ".wav")
    images = file_labels(source / "ecg/labels.csv", "file", ".jpg")
    ecg, pcg = np.empty(len(table), dtype=object), np.empty(len(table), dtype=object)
    for label in (0, 1):
        rows = np.flatnonzero(table["output"].to_numpy() == label)
        per_label = None if scans is None else max(1, scans // 2)
        ecg[rows] = [f"ecg/{f}" for f in pick(images, label, len(rows), per_label, rng)]
        pcg[rows] = [f"pcg/{f}" for f in pick(recordings, label, len(rows), None, rng)]
    out.mkdir(parents=True, exist_ok=True)
    for folder in ("ecg", "pcg"):
        link = out / folder
        if link.is_symlink() or link.exists():
            link.unlink()
        os.symlink((source / folder).resolve(), link, target_is_directory=True)
    composite = pd.concat(
        [pd.DataFrame({"patient_id": [f"C{i:04d}" for i in range(len(table))],
                       "ecg_path": ecg, "pcg_path": pcg}), table],
        axis=1,
    )
    csv = out / "metadata.csv"
    composite.to_csv(csv, index=False)
    return csv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=Path("../shared/data/real"),
                        help="folder with multimodal_metadata_clean.csv, pcg/ and ecg/")
    parser.add_argument("--out", type=Path, default=Path("data/real_composite"))
    parser.add_argument("--patients", type=int, help="a stratified subset of this size")
    parser.add_argument("--scans", type=int, help="use at most this many distinct scans")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    csv = build(args.source, args.out, args.patients, args.scans, args.seed)
    table = pd.read_csv(csv)
    print(f"{csv}: {len(table)} patients (healthy {int((table.output == 0).sum())}, abnormal "
          f"{int((table.output == 1).sum())}), {table.ecg_path.nunique()} distinct scans, "
          f"{table.pcg_path.nunique()} distinct recordings")


if __name__ == "__main__":
    main()
