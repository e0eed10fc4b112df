"""The train stage end to end on the tiny demo: what the recipe's switches really do."""

import shutil

import pytest
import torch

from cardiofusion.evaluation.evaluate import run_evaluate
from cardiofusion.features.dataset import FeatureSet
from cardiofusion.model.checkpoint import load_model, load_payload, model_id
from cardiofusion.model.network import MultimodalNet
from cardiofusion.model.splits import embed_split, load_split
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
    features = FeatureSet.load(DEFAULT_PATHS.features)
    return MultimodalNet(params.model, features.clinical_features, features.modalities)


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


def _logged(metric: str) -> list[float]:
    rows = (DEFAULT_PATHS.live_dir / "plots" / "metrics" / f"{metric}.tsv").read_text()
    return [float(line.split("\t")[-1]) for line in rows.splitlines()[1:]]


@pytest.mark.parametrize("shares_on", ["val", "val_and_train"])
def test_closed_loop_reads_the_shares_it_is_told_to(features_only, tiny_params, shares_on):
    train = tiny_params.train.model_copy(
        update={"balance": "closed_loop", "balance_shares_on": shares_on, "epochs": 2,
                "patience": 0}
    )
    run_train(tiny_params.model_copy(update={"train": train}))
    validation, control = _logged("contributions/ecg"), _logged("control_shares/ecg")
    assert len(validation) == len(control) == 2
    assert (validation == control) is (shares_on == "val")


def test_label_smoothing_keeps_logits_smaller(features_only, tiny_params):
    """Read on the last epoch's weights: the saved best epoch of a few epochs on 28 training
    patients may be the first, before either run has fitted anything."""
    sizes = {}
    for epsilon in (0.0, 0.4):
        train = tiny_params.train.model_copy(update={
            "label_smoothing": epsilon, "epochs": 8, "patience": 0, "lr": 1e-2,
            "balance": "aux"})
        params = tiny_params.model_copy(update={"train": train})
        run_train(params)
        model = _initial_model(params)
        model.load_state_dict(load_payload(DEFAULT_PATHS.training_state)["model"])
        model.eval()
        train_split = load_split(FeatureSet.load(DEFAULT_PATHS.features), "train",
                                 torch.device("cpu"))
        with torch.no_grad():
            sizes[epsilon] = float(model.fuse(embed_split(model, train_split)).abs().mean())
    assert sizes[0.4] < sizes[0.0]


def test_the_saved_model_is_never_worse_on_validation_than_the_best_epoch(
    features_only, tiny_params
):
    """The saved model is the best epoch, or a soup of it with others that lowers the loss."""
    train = tiny_params.train.model_copy(update={
        "balance": "none", "aux_weight": 0.0, "epochs": 6, "patience": 0, "average_best": 5})
    summary = run_train(tiny_params.model_copy(update={"train": train}))
    losses = _logged("val/loss")
    info = load_payload(DEFAULT_PATHS.retrained_model, "cpu", "model")["info"]
    assert summary["epoch"] == info["epoch"] == losses.index(min(losses)) + 1
    if "averaged_epochs" not in summary:
        assert summary["val_loss"] == pytest.approx(min(losses))
        return
    epochs = summary["averaged_epochs"]
    assert epochs[0] == summary["epoch"] and 1 < len(epochs) <= 5
    assert info["averaged_epochs"] == epochs
    assert summary["val_loss"] < min(losses)


def test_an_additive_fusion_trains_each_modalitys_head_and_evaluates(features_only, tiny_params):
    params = tiny_params.model_copy(update={
        "model": tiny_params.model.model_copy(update={"fusion": "additive"}),
        "train": tiny_params.train.model_copy(update={"epochs": 2, "patience": 0}),
    })
    initial = _initial_model(params)
    run_train(params)
    trained = load_model(DEFAULT_PATHS.retrained_model).model
    assert trained.additive
    assert all(_changed(initial.fusion[m], trained.fusion[m]) for m in trained.modalities)
    evaluation = run_evaluate(params)
    shares = evaluation.contributions.ablation.as_dict()
    assert sum(shares.values()) == pytest.approx(100.0)
