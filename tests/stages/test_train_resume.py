"""Killing training mid-run and resuming gives the same result as never stopping."""

import json
from pathlib import Path

import pytest

import cardiofusion.training.train as train_module
from cardiofusion.data.validate import run_validate
from cardiofusion.errors import CardiofusionError
from cardiofusion.features.featurize import run_featurize
from cardiofusion.training.train import run_train


@pytest.fixture
def featurized(tiny_params, tiny_demo, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    train = tiny_params.train.model_copy(update={"epochs": 4, "patience": 0})
    params = tiny_params.model_copy(update={"train": train})
    run_validate(params)
    run_featurize(params)
    return params


def _history() -> str:
    return Path("dvclive/train/plots/metrics/val/loss.tsv").read_text()


def test_resumed_run_matches_an_uninterrupted_one(featurized, monkeypatch):
    uninterrupted = run_train(featurized)
    losses = [line.split("\t")[-1] for line in _history().splitlines()]

    original = train_module.save_training_state

    def save_then_stop(*args, **kwargs):
        original(*args, **kwargs)
        if args[-1]["epoch"] == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "save_training_state", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        run_train(featurized)
    monkeypatch.setattr(train_module, "save_training_state", original)
    resumed = run_train(featurized, resume=True)

    assert resumed == uninterrupted
    assert json.loads(Path("reports/training.json").read_text()) == uninterrupted
    assert [line.split("\t")[-1] for line in _history().splitlines()] == losses


def test_resume_refuses_other_params(featurized):
    run_train(featurized)
    other = featurized.model_copy(
        update={"train": featurized.train.model_copy(update={"lr": 1e-2})}
    )
    with pytest.raises(CardiofusionError, match="written with other params"):
        run_train(other, resume=True)
