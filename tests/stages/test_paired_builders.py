"""The builders of the real paired sets, on a slice of the shared folders: the CSV and params
they write run validate, featurize, train and evaluate with no other edit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from cardiofusion.config import load_params
from cardiofusion.data.validate import run_validate
from cardiofusion.evaluation.evaluate import run_evaluate
from cardiofusion.features.featurize import run_featurize
from cardiofusion.paths import PipelinePaths
from cardiofusion.training.train import run_train

REPO = Path(__file__).resolve().parents[2]


def _build(script: str, source: Path, out: Path) -> str:
    done = subprocess.run([sys.executable, str(REPO / "examples" / script / "build.py"),
                           "--source", str(source), "--out", str(out)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _run_pipeline(out: Path, workdir: Path):
    params = load_params(out / "params.yaml", ["train.epochs=3", "evaluate.bootstrap_samples=50",
                                               f"featurize.cache_dir={workdir}/cache"])
    paths = PipelinePaths(workdir)
    manifest = run_validate(params, paths)
    run_featurize(params, paths)
    run_train(params, paths=paths)
    return params, manifest, run_evaluate(params, paths)


@pytest.fixture
def training_a_slice(real_paired, tmp_path) -> Path:
    """60 records of training-a, the 4 without ECG among them, in a folder of links."""
    source = real_paired / "physionet2016-a"
    reference = pd.read_csv(source / "REFERENCE.csv", header=None)
    without_ecg = reference[reference[0].isin(["a0041", "a0117", "a0220", "a0233"])]
    chosen = pd.concat([reference.groupby(1).head(28), without_ecg]).drop_duplicates()
    folder = tmp_path / "training-a"
    folder.mkdir()
    chosen.to_csv(folder / "REFERENCE.csv", header=False, index=False)
    for record in chosen[0]:
        for file in source.glob(f"{record}.*"):
            os.symlink(file, folder / file.name)
    return folder


def test_the_training_a_builder_keeps_records_without_ecg_as_rows_without_ecg(
    training_a_slice, tmp_path
):
    out = tmp_path / "built"
    printed = _build("physionet2016", training_a_slice, out)
    assert "4 without ECG" in printed
    table = pd.read_csv(out / "metadata.csv", keep_default_na=False)
    assert set(table["output"]) == {0, 1} and (table["ecg_path"] == "").sum() == 4
    params, manifest, evaluation = _run_pipeline(out, tmp_path / "run")
    assert len(manifest) == len(table)  # every labelled row with a modality is kept
    assert evaluation.modalities == ["ecg", "pcg"]
    assert params.data.group_column is None  # no patient ids are published


@pytest.fixture
def ptbxl_slice(real_paired, tmp_path) -> Path:
    source = real_paired / "ptbxl"
    folder = tmp_path / "ptbxl"
    folder.mkdir()
    pd.read_csv(source / "ptbxl_database.csv").head(90).to_csv(
        folder / "ptbxl_database.csv", index=False)
    for name in ("scp_statements.csv", "records500", "records100"):
        os.symlink(source / name, folder / name)
    return folder


def test_the_ptbxl_builder_groups_by_patient_and_keeps_no_leaking_column(ptbxl_slice, tmp_path):
    out = tmp_path / "built"
    _build("ptbxl", ptbxl_slice, out)
    table = pd.read_csv(out / "metadata.csv")
    assert list(table.columns) == ["ecg_id", "patient", "ecg_path", "age", "sex", "height",
                                   "weight", "output"]
    assert set(table["sex"]) <= {"male", "female"} and table["age"].max() <= 90
    params, manifest, evaluation = _run_pipeline(out, tmp_path / "run")
    assert len(manifest) == len(table)
    assert manifest.groupby("group")["split"].nunique().max() == 1  # no patient in two splits
    assert evaluation.modalities == ["ecg", "clinical"]
    assert params.data.group_column == "patient"
