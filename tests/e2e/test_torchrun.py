"""Data-parallel training: two CPU processes under torchrun (gloo) train one model that loads
and evaluates like a single-process one."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cardiofusion.evaluation.evaluate import run_evaluate
from cardiofusion.model.checkpoint import load_model
from cardiofusion.paths import PipelinePaths

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def test_two_processes_train_a_model_that_evaluates(tiny_trained, tiny_params, tmp_path):
    workdir = tmp_path / "project"
    shutil.copytree(tiny_trained, workdir)
    (workdir / "models/best_multimodal_model_retrained.pth").unlink()
    params = tiny_params.model_copy(update={
        "train": tiny_params.train.model_copy(update={"epochs": 2, "balance": "closed_loop"}),
        "evaluate": tiny_params.evaluate.model_copy(update={"bootstrap_samples": 50}),
    })
    (workdir / "params.yaml").write_text(
        yaml.safe_dump(params.model_dump(mode="json", by_alias=True)))
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         str(REPO / "stages/train.py"), "--params", "params.yaml"],
        cwd=workdir, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "cpu x 2" in done.stdout  # rank 0 speaks for both
    assert done.stdout.count("🏁 Trained") == 1
    assert json.loads((workdir / "reports/training.json").read_text())["epochs_run"] == 2
    load_model(workdir / "models/best_multimodal_model_retrained.pth")
    evaluation = run_evaluate(params, PipelinePaths(workdir))
    assert 0 <= evaluation.auroc <= 1
