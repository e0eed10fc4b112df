"""MMPareto: equal weights when the fused and unimodal gradients agree, a Pareto-stationary
combination when they conflict, never a smaller step than the plain sum."""

import pytest
import torch
import torch.nn.functional as F

from cardiofusion.config import MODALITIES, ModelParams
from cardiofusion.model.network import MultimodalNet
from cardiofusion.training.mmpareto import MAGNITUDE, integrate, mmpareto_backward, pareto_weights


def test_agreeing_gradients_count_equally():
    assert pareto_weights(torch.tensor([1.0, 0.2]), torch.tensor([0.5, 1.0])) == (0.5, 0.5)


def test_conflicting_gradients_get_the_min_norm_combination():
    fused, own = torch.tensor([1.0, 0.0]), torch.tensor([-0.5, 1.0])  # cosine < 0
    k_fused, k_own = pareto_weights(fused, own)
    assert k_fused + k_own == pytest.approx(1.0)
    direction = k_fused * fused + k_own * own
    # the minimum-norm point of the segment is orthogonal to it ...
    assert float(direction @ (fused - own)) == pytest.approx(0.0, abs=1e-6)
    # ... and a descent direction for both losses: neither increases to first order
    assert float(direction @ fused) > 0 and float(direction @ own) > 0


def test_the_smaller_of_two_conflicting_gradients_weighs_more():
    fused, own = torch.tensor([1.0, 0.0]), torch.tensor([-3.0, 0.1])  # own is far larger
    k_fused, k_own = pareto_weights(fused, own)
    assert k_fused > 0.5 > k_own > 0


def test_integration_never_shrinks_the_step():
    fused = [torch.tensor([1.0, 0.0]), torch.tensor([0.3])]
    own = [torch.tensor([-0.9, 0.2]), torch.tensor([-0.3])]
    combined, weights = integrate(fused, own)
    assert weights != (0.5, 0.5)
    for g_mm, g_uni, g in zip(fused, own, combined, strict=True):
        plain = torch.linalg.vector_norm(g_mm + g_uni)
        assert torch.linalg.vector_norm(g) >= MAGNITUDE * plain - 1e-6


def test_backward_sets_each_part_from_its_own_losses():
    torch.manual_seed(0)
    params = ModelParams(ecg_channels=[4], pcg_channels=[4], clinical_hidden=[8],
                         embedding_dim=4, fusion_hidden=4, dropout=0.0)
    model = MultimodalNet(params, clinical_features=5)
    inputs = {"ecg": torch.randint(0, 255, (6, 16, 16), dtype=torch.uint8),
              "pcg": torch.randn(6, 8, 8), "clinical": torch.randn(6, 5)}
    labels = torch.tensor([0.0, 1, 0, 1, 1, 0])
    embeddings = model.embed(inputs)
    fused_loss = F.binary_cross_entropy_with_logits(model.fuse(embeddings), labels)
    aux = model.aux_logits(embeddings)
    unimodal = {m: F.binary_cross_entropy_with_logits(aux[m], labels) for m in MODALITIES}
    expected_fusion = torch.autograd.grad(fused_loss, list(model.fusion.parameters()),
                                          retain_graph=True)
    expected_head = torch.autograd.grad(unimodal["ecg"], list(model.aux_heads["ecg"].parameters()),
                                        retain_graph=True)
    weights = mmpareto_backward(model, fused_loss, unimodal)
    assert set(weights) == set(MODALITIES)
    for p, g in zip(model.fusion.parameters(), expected_fusion, strict=True):
        assert torch.allclose(p.grad, g)
    for p, g in zip(model.aux_heads["ecg"].parameters(), expected_head, strict=True):
        assert torch.allclose(p.grad, g)
    assert all(p.grad is not None for m in MODALITIES for p in model.encoders[m].parameters())
