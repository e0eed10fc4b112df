"""The pipeline on real files in the original data's shape: a small real composite (real
clinical rows, PhysioNet recordings and ECG scans, scans reused across rows) trains and
evaluates from params alone, keeps every row, and puts no file in two splits."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from cardiofusion.config import load_params
from cardiofusion.data.validate import run_validate
from cardiofusion.evaluation.evaluate import run_evaluate
from cardiofusion.features.featurize import run_featurize
from cardiofusion.paths import PipelinePaths
from cardiofusion.training.train import run_train

REPO = Path(__file__).resolve().parents[2]


def test_small_real_composite_trains_without_losing_or_leaking_a_row(real_data, tmp_path):
    out = tmp_path / "composite"
    subprocess.run(
        [sys.executable, str(REPO / "examples/real_composite/build.py"), "--source",
         str(real_data), "--out", str(out), "--patients", "48", "--scans", "8"],
        check=True, capture_output=True,
    )
    table = pd.read_csv(out / "metadata.csv")
    assert table["ecg_path"].nunique() == 8  # scans reused across rows, as in the original
    params = load_params(REPO / "params.yaml", [
        f"data.csv={out / 'metadata.csv'}", f"data.root={out}", "train.epochs=2",
        "featurize.n_jobs=1", f"featurize.cache_dir={tmp_path / 'cache'}",
        "evaluate.bootstrap_samples=50", "data.split={train: 0.5, val: 0.25, test: 0.25}",
    ])
    paths = PipelinePaths(tmp_path / "run")
    manifest = run_validate(params, paths)
    assert len(manifest) == len(table)  # every row kept
    for column in ("ecg_path", "pcg_path"):
        real = manifest[column].map(os.path.realpath)
        assert (manifest.groupby(real)["split"].nunique() == 1).all(), column
    assert manifest["split"].value_counts().min() > 0
    run_featurize(params, paths)
    run_train(params, paths=paths)
    evaluation = run_evaluate(params, paths)
    assert evaluation.test_patients == (manifest["split"] == "test").sum()
    assert 0 <= evaluation.auroc <= 1
