"""The train stage end to end on the tiny demo: what the recipe's switches really do."""

import shutil

import pytest
import torch

from cardiofusion.features.dataset import FeatureSet
from cardiofusion.model.checkpoint import load_model, model_id
from cardiofusion.model.network import MultimodalNet
from cardiofusion.paths import DEFAULT_PATHS
from cardiofusion.runtime import seed_everything
from cardiofusion.training.train import run_train


@pytest.fixture
def features_only(tiny_trained, tmp_path, monkeypatch):
    """A fresh working directory holding only the tiny demo's features."""
    shutil.copytree(tiny_trained / "data" / "features", tmp_path / "data" / "features")
    monkeypatch.chdir(tmp_path)


def _initial_model(params) -> MultimodalNet:
    """The weights run_train starts from: the same seed, the same construction order."""
    seed_everything(params.seed)
    return MultimodalNet(params.model, FeatureSet.load(DEFAULT_PATHS.features).clinical.shape[1])


def _changed(before: torch.nn.Module, after: torch.nn.Module) -> bool:
    return any(not torch.equal(a, b) for a, b in zip(before.state_dict().values(),
                                                    after.state_dict().values(), strict=True))


@pytest.mark.parametrize(("balance", "aux_weight", "aux_heads_trained"),
                         [("none", 0.0, False), ("aux", 0.2, True)])
def test_aux_weight_zero_leaves_the_auxiliary_heads_untouched(
    features_only, tiny_params, balance, aux_weight, aux_heads_trained
):
    train = tiny_params.train.model_copy(
        update={"balance": balance, "aux_weight": aux_weight, "epochs": 1, "patience": 0}
    )
    params = tiny_params.model_copy(update={"train": train})
    initial = _initial_model(params)
    run_train(params)
    trained = load_model(DEFAULT_PATHS.retrained_model).model
    assert _changed(initial.encoders, trained.encoders)
    assert _changed(initial.fusion, trained.fusion)
    assert _changed(initial.aux_heads, trained.aux_heads) is aux_heads_trained


def test_the_model_carries_a_threshold_tuned_on_validation(features_only, tiny_params):
    summary = run_train(tiny_params)
    loaded = load_model(DEFAULT_PATHS.retrained_model)
    assert 0.0 <= loaded.threshold <= 1.0
    assert loaded.threshold == pytest.approx(summary["threshold"])
    assert loaded.temperature == 1.0


def test_the_same_params_write_a_byte_identical_model(features_only, tiny_params):
    run_train(tiny_params)
    first = model_id(DEFAULT_PATHS.retrained_model)
    run_train(tiny_params)
    assert model_id(DEFAULT_PATHS.retrained_model) == first
