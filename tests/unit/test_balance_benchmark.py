"""The balance benchmark's data handling: a variant that changes the dataset or its features
never trains on the seed's shared ones, and a folder prepared with other data options is
refused rather than reused."""

import json
from pathlib import Path

import pytest

from cardiofusion.config import load_params
from cardiofusion.paths import PipelinePaths

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def balance(load_benchmark):
    return load_benchmark("balance")


def test_only_settings_that_change_the_data_or_its_features_count(balance):
    overrides = ["train.epochs=3", "ecg.height=96", "demo.n_jobs=1", "model.fusion=additive",
                 "demo.patients=60", "featurize.n_jobs=2", "pcg.n_mels=32"]
    assert balance.data_overrides(overrides) == ["demo.patients=60", "ecg.height=96",
                                                 "pcg.n_mels=32"]
    assert balance.data_overrides(["train.lr=0.01", "aux_weight=0.5"]) == []


def test_a_folder_prepared_with_other_data_options_is_refused(balance, tmp_path):
    shared = PipelinePaths(tmp_path / "seed42")
    shared.features.mkdir(parents=True)
    (shared.features / "spec.json").write_text("{}")
    (shared.root / "prepared_with.json").write_text(json.dumps(["demo.patients=60"]))
    params = load_params(REPO / "params.yaml")

    balance.prepare(params, shared, ["demo.patients=60", "demo.n_jobs=1"])  # same data: reused
    with pytest.raises(SystemExit, match=r"prepared with \['demo.patients=60'\], this run asks "
                                         r"for \['demo.patients=80'\]"):
        balance.prepare(params, shared, ["demo.patients=80"])
