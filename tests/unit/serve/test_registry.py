"""The GTO model registry: promote registers a version and assigns prod, serve --stage serves
what the stage points at, and assigning an older version rolls back."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cardiofusion.errors import CardiofusionError
from cardiofusion.model.checkpoint import load_payload, model_id, save_payload
from cardiofusion.serve.promote import run_promote
from cardiofusion.serve.registry import ARTIFACT, model_at_stage

MODEL = Path("models/best_multimodal_model_retrained.pth")
DVC_YAML = f"""stages:
  train:
    cmd: "true"
    outs:
      - {MODEL}
artifacts:
  {ARTIFACT}:
    path: {MODEL}
    type: model
"""


def _run(*args: str) -> str:
    env = os.environ | {"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
                        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _commit_model(payload: dict, message: str) -> str:
    """A retrained model and its passing evaluation, recorded by DVC and committed."""
    save_payload(MODEL, payload)
    evaluation = {"model_id": model_id(MODEL), "verdict": "pass", "temperature": 1.0,
                  "auroc": 0.9, "checks": {"balanced_accuracy_at_least_0.7": "pass"}}
    Path("reports").mkdir(exist_ok=True)
    Path("reports/evaluation.json").write_text(json.dumps(evaluation))
    _run("dvc", "commit", "-f", "-q", "train")
    _run("git", "add", "-A")
    _run("git", "commit", "-qm", message)
    return model_id(MODEL)


@pytest.fixture
def project(tiny_trained, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_AUTHOR_NAME", "t")  # gto writes annotated tags
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "t@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "t")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "t@example.com")
    _run("git", "init", "-q")
    _run("dvc", "init", "-q")
    Path("dvc.yaml").write_text(DVC_YAML)
    Path("models").mkdir()
    Path(".gitignore").write_text("/models/best_multimodal_model.pth\n/models/registry/\n")
    shutil.copy(tiny_trained / MODEL, MODEL)
    return load_payload(MODEL)


def _served_threshold(stage: str) -> float:
    return load_payload(model_at_stage(stage))["threshold"]


def test_promote_registers_versions_and_an_older_one_can_be_served_again(project, tiny_params):
    from gto import api

    first = {**project, "threshold": 0.25}
    _commit_model(first, "first model")
    assert run_promote(tiny_params, stage="prod").version == "v0.0.1"
    time.sleep(1.1)  # GTO orders stage events by tag time, which git keeps to the second
    _commit_model({**project, "threshold": 0.75}, "second model")
    assert run_promote(tiny_params, stage="prod").version == "v0.0.2"
    tags = _run("git", "tag").split()
    assert {f"{ARTIFACT}@v0.0.1", f"{ARTIFACT}@v0.0.2", f"{ARTIFACT}#prod#1",
            f"{ARTIFACT}#prod#2"} <= set(tags)
    assert _served_threshold("prod") == 0.75
    served = load_payload(model_at_stage("prod"))
    assert served["info"]["registry"]["version"] == "v0.0.2"
    assert served["info"]["test_metrics"]["auroc"] == 0.9

    # the rollback: `gto deprecate cardiofusion v0.0.2 prod` takes v0.0.2 out of prod
    api.unassign(".", ARTIFACT, version="v0.0.2", stage="prod", message="rollback")
    assert _served_threshold("prod") == 0.25
    time.sleep(1.1)
    assert run_promote(tiny_params, stage="prod").version == "v0.0.2"  # promoted again
    assert _served_threshold("prod") == 0.75
    assert run_promote(tiny_params, stage="prod").version == "v0.0.2"  # already there: no-op


def test_promote_refuses_a_model_that_is_not_committed(project, tiny_params):
    _commit_model(project, "a model")
    save_payload(MODEL, {**project, "threshold": 0.6})  # retrained since the commit
    Path("reports/evaluation.json").write_text(json.dumps(
        {"model_id": model_id(MODEL), "verdict": "pass"}))
    with pytest.raises(CardiofusionError, match="commit the pipeline results"):
        run_promote(tiny_params, stage="prod")
    assert not Path(tiny_params.serve.model).exists()
    assert _run("git", "tag") == ""


def test_serving_a_stage_nobody_assigned_says_how_to_promote(project):
    _commit_model(project, "a model")
    with pytest.raises(CardiofusionError, match="cardiofusion promote"):
        model_at_stage("prod")


def _served_bytes(tiny_params) -> bytes | None:
    target = Path(tiny_params.serve.model)
    return target.read_bytes() if target.exists() else None


@pytest.mark.parametrize("stage", ["a b", "prod#1", "prod\n", "-prod"])
def test_a_stage_the_registry_refuses_changes_nothing(project, tiny_params, stage):
    _commit_model(project, "a model")
    with pytest.raises(CardiofusionError, match="not a stage name the registry accepts"):
        run_promote(tiny_params, stage=stage)
    assert _served_bytes(tiny_params) is None
    assert _run("git", "tag") == ""


def test_a_tag_in_the_way_is_one_line_and_the_served_model_is_kept(project, tiny_params):
    _commit_model({**project, "threshold": 0.25}, "first model")
    run_promote(tiny_params, stage="prod")
    served = _served_bytes(tiny_params)
    time.sleep(1.1)
    _commit_model({**project, "threshold": 0.75}, "second model")
    _run("git", "tag", f"{ARTIFACT}@v0.0.2")  # lightweight: GTO does not count it
    with pytest.raises(CardiofusionError) as refused:
        run_promote(tiny_params, stage="prod")
    message = str(refused.value)
    assert "already exists" in message and f"git tag -d {ARTIFACT}@v0.0.2" in message
    assert "\n" not in message
    assert _served_bytes(tiny_params) == served


def test_serving_a_stage_whose_model_left_the_cache_says_to_pull(project, tiny_params):
    _commit_model(project, "a model")
    run_promote(tiny_params, stage="prod")
    shutil.rmtree(".dvc/cache")
    Path(MODEL).unlink()
    with pytest.raises(CardiofusionError) as refused:
        model_at_stage("prod")
    assert "dvc pull" in str(refused.value) and "\n" not in str(refused.value)
    assert not list(Path("models/registry").glob("*.pth"))
