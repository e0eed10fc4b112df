import math

import pytest
import torch
from torch import nn

from cardiofusion.config import ModelParams, TrainParams
from cardiofusion.model.contributions import ablation_effects, shapley_effects, shares
from cardiofusion.model.network import MultimodalNet
from cardiofusion.training.augment import augment_batch, hide_modalities
from cardiofusion.training.ogm_ge import modulate_gradients, ogm_coefficients
from cardiofusion.training.train import balanced_bce, make_sampler, param_groups

SMALL = ModelParams(ecg_channels=[4], pcg_channels=[4], clinical_hidden=[8], embedding_dim=2,
                    fusion_hidden=4)


def test_weighted_sampler_balances_classes_in_expectation():
    labels = torch.tensor([0.0] * 10 + [1.0] * 100)
    sampler = make_sampler(labels, "weighted", torch.Generator().manual_seed(0))
    drawn = labels[torch.tensor([i for _ in range(50) for i in sampler])]
    assert abs(drawn.mean().item() - 0.5) < 0.03


def test_learning_rate_groups_carry_the_branch_multipliers():
    model = MultimodalNet(SMALL, clinical_features=5)
    groups = param_groups(model, TrainParams(lr=1e-3))
    lrs = {g["name"]: g["lr"] for g in groups}
    assert lrs == {"ecg": 1e-3, "pcg": 2e-3, "clinical": 5e-4, "fusion": 1e-3}
    grouped = sum(len(g["params"]) for g in groups)
    assert grouped == len(list(model.parameters()))


def test_balanced_loss_weighs_both_classes_equally():
    logits = torch.tensor([0.0, 5.0, 5.0, 5.0])
    labels = torch.tensor([0.0, 1.0, 1.0, 1.0])
    expected = (torch.log(torch.tensor(2.0)) + torch.log1p(torch.exp(torch.tensor(-5.0)))) / 2
    assert abs(balanced_bce(logits, labels) - expected.item()) < 1e-6


class _LinearFusion(MultimodalNet):
    """A fusion head we can compute by hand: logit = sum of the first embedding unit."""

    def fuse(self, embeddings):
        return sum(embeddings[m][:, 0] for m in ("ecg", "pcg", "clinical"))


def _hand_model() -> MultimodalNet:
    return _LinearFusion(SMALL, clinical_features=1)


def test_ablation_does_not_cancel_opposite_effects():
    """ECG pushes half the patients up and half down: the per-patient measure sees it."""
    model = _hand_model()
    n = 10
    ecg = torch.zeros(n, 2)
    ecg[: n // 2, 0], ecg[n // 2 :, 0] = 3.0, -3.0
    embeddings = {"ecg": ecg, "pcg": torch.zeros(n, 2), "clinical": torch.zeros(n, 2)}
    baseline = {m: torch.zeros(n, 2) for m in embeddings}
    result = shares(ablation_effects(model, embeddings, baseline))
    assert result["ecg"] == 100.0
    full = torch.sigmoid(model.fuse(embeddings))
    assert abs(full.mean().item() - 0.5) < 1e-6  # the seed's |mean - mean| would give 0


def test_shapley_matches_values_computed_by_hand():
    model = _hand_model()
    embeddings = {"ecg": torch.tensor([[1.0, 0]]), "pcg": torch.tensor([[2.0, 0]]),
                  "clinical": torch.tensor([[0.5, 0]])}
    baseline = {m: torch.zeros(1, 2) for m in embeddings}
    s = torch.sigmoid
    values = {"": s(torch.tensor(0.0)), "e": s(torch.tensor(1.0)), "p": s(torch.tensor(2.0)),
              "c": s(torch.tensor(0.5)), "ep": s(torch.tensor(3.0)), "ec": s(torch.tensor(1.5)),
              "pc": s(torch.tensor(2.5)), "epc": s(torch.tensor(3.5))}
    phi_ecg = (values["e"] - values[""]) / 3 + (values["ep"] - values["p"]) / 6 \
        + (values["ec"] - values["c"]) / 6 + (values["epc"] - values["pc"]) / 3
    effects = shapley_effects(model, embeddings, baseline)
    assert torch.allclose(effects["ecg"], phi_ecg.abs().reshape(1), atol=1e-6)
    total = sum(effects[m] for m in embeddings)
    assert torch.allclose(total, (values["epc"] - values[""]).reshape(1), atol=1e-6)


def test_without_auxiliary_loss_the_auxiliary_heads_get_no_gradient():
    model = MultimodalNet(SMALL, clinical_features=3)
    inputs = {"ecg": torch.randint(0, 255, (4, 32, 32), dtype=torch.uint8),
              "pcg": torch.randn(4, 16, 20), "clinical": torch.randn(4, 3)}
    labels = torch.tensor([0.0, 1.0, 1.0, 0.0])
    logits = model.fuse(model.embed(inputs))
    nn.functional.binary_cross_entropy_with_logits(logits, labels).backward()
    assert all(p.grad is None for p in model.aux_heads.parameters())
    assert any(p.grad is not None for p in model.encoders["ecg"].parameters())


def test_augmentation_shifts_but_keeps_content():
    generator = torch.Generator().manual_seed(0)
    inputs = {"ecg": torch.randint(0, 255, (3, 40, 60), dtype=torch.uint8),
              "pcg": torch.randn(3, 8, 50), "clinical": torch.randn(3, 4)}
    out = augment_batch(inputs, generator)
    assert {k: v.shape for k, v in out.items()} == {k: v.shape for k, v in inputs.items()}
    for i in range(3):  # each spectrogram is a circular shift of its own frames
        assert any(torch.equal(out["pcg"][i], inputs["pcg"][i].roll(s, dims=1))
                   for s in range(50))
    assert torch.equal(out["ecg"].flatten().sort().values, inputs["ecg"].flatten().sort().values)
    assert torch.equal(out["clinical"], inputs["clinical"])


def test_modality_dropout_hides_about_the_requested_share():
    generator = torch.Generator().manual_seed(0)
    embeddings = {m: torch.randn(2000, 3) for m in ("ecg", "pcg", "clinical")}
    everyone = {m: torch.ones(2000, dtype=torch.bool) for m in embeddings}
    assert hide_modalities(embeddings, everyone, dict.fromkeys(embeddings, 0.0),
                           generator) == embeddings
    rates = {"ecg": 0.3, "pcg": 0.0, "clinical": 0.5}
    dropped = hide_modalities(embeddings, everyone, rates, generator)
    for m, e in embeddings.items():
        replaced = (dropped[m] != e).any(dim=1).float().mean().item()
        assert abs(replaced - rates[m]) < 0.04


def test_an_absent_modality_reaches_the_head_as_the_mean_of_the_patients_who_have_it():
    generator = torch.Generator().manual_seed(0)
    embeddings = {"ecg": torch.tensor([[1.0, 1.0], [3.0, 3.0], [100.0, -100.0]]),
                  "clinical": torch.tensor([[5.0, 5.0], [6.0, 6.0], [7.0, 7.0]])}
    present = {"ecg": torch.tensor([True, True, False]),
               "clinical": torch.tensor([True, True, True])}
    seen = hide_modalities(embeddings, present, {"ecg": 0.0, "clinical": 0.0}, generator)
    assert seen["ecg"].tolist() == [[1.0, 1.0], [3.0, 3.0], [2.0, 2.0]]  # not the zeros' code
    assert seen["clinical"] is embeddings["clinical"]


def test_ogm_ge_slows_only_the_modality_ahead_of_the_others():
    labels = torch.tensor([1.0, 1.0, 0.0, 0.0])
    aux = {"ecg": torch.tensor([4.0, 4.0, -4.0, -4.0]),  # confident and right
           "pcg": torch.zeros(4), "clinical": torch.zeros(4)}  # 0.5 each
    k = ogm_coefficients(aux, labels, alpha=0.5)
    ratio = torch.sigmoid(torch.tensor(4.0)).item() / 0.5
    assert k["ecg"] == pytest.approx(1 - math.tanh(0.5 * (ratio - 1)))
    assert k["pcg"] == k["clinical"] == 1.0


def test_modulated_gradients_shrink_for_the_slowed_encoder():
    model = MultimodalNet(SMALL, clinical_features=3)
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    modulate_gradients(model, {"ecg": 0.0, "pcg": 1.0, "clinical": 1.0},
                       torch.Generator().manual_seed(0))
    ecg_grads = [p.grad for p in model.encoders["ecg"].parameters() if p.numel() > 1]
    assert all(g.abs().max() < 1e-6 for g in ecg_grads)  # scaled to 0; std of ones is 0
    assert all(torch.equal(p.grad, torch.ones_like(p)) for p in model.encoders["pcg"].parameters())


def test_an_absent_input_never_reaches_its_encoders_batch_statistics():
    torch.manual_seed(0)
    model = MultimodalNet(SMALL, clinical_features=3)
    model.train()
    inputs = {"ecg": torch.full((4, 32, 32), 200, dtype=torch.uint8),
              "pcg": torch.randn(4, 8, 16), "clinical": torch.randn(4, 3)}
    present = {"ecg": torch.tensor([True, True, True, False]),
               "pcg": torch.ones(4, dtype=torch.bool), "clinical": torch.ones(4, dtype=torch.bool)}
    inputs["ecg"][3] = 0  # the zeros of an absent scan: a black page
    embeddings, used = model.embed_present(inputs, present)
    first_norm = model.encoders["ecg"].net[0]
    with_absent = first_norm.running_mean.clone()
    torch.manual_seed(0)
    clean = MultimodalNet(SMALL, clinical_features=3)
    clean.train()
    clean.embed({"ecg": inputs["ecg"][:3]})
    assert torch.equal(with_absent, clean.encoders["ecg"].net[0].running_mean)
    assert embeddings["ecg"][3].abs().sum() == 0 and used["ecg"].tolist() == [1, 1, 1, 0]
    one = {**present, "ecg": torch.tensor([True, False, False, False])}
    _, used = model.embed_present(inputs, one)  # one patient cannot make a BatchNorm batch
    assert not used["ecg"].any()
