"""The two fusion heads: one over the joined embeddings, or one logit per modality summed."""

import torch

from cardiofusion.config import ModelParams
from cardiofusion.model.network import MultimodalNet

DIM = 8


def _embeddings(batch: int = 6) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return {m: torch.randn(batch, DIM, generator=generator) for m in ("ecg", "pcg", "clinical")}


def _model(fusion: str, modalities: tuple[str, ...] = ("ecg", "pcg", "clinical")
           ) -> MultimodalNet:
    torch.manual_seed(0)
    params = ModelParams(embedding_dim=DIM, fusion_hidden=4, fusion=fusion)
    return MultimodalNet(params, clinical_features=3, modalities=modalities).eval()


def test_additive_fusion_is_the_sum_of_each_modalitys_own_logit() -> None:
    model, embeddings = _model("additive"), _embeddings()
    with torch.no_grad():
        fused = model.fuse(embeddings)
        own = {m: model.fusion[m](e).squeeze(1) for m, e in embeddings.items()}
        changed = model.fuse({**embeddings, "pcg": embeddings["pcg"] + 1.0})
        own_pcg = model.fusion["pcg"](embeddings["pcg"] + 1.0).squeeze(1)
    assert torch.allclose(fused, sum(own.values()), atol=1e-6)
    # a change in one modality moves the logit by that modality's term alone
    assert torch.allclose(changed - fused, own_pcg - own["pcg"], atol=1e-5)


def test_additive_fusion_has_a_head_per_modality_the_dataset_has() -> None:
    model = _model("additive", ("ecg", "clinical"))
    assert sorted(model.fusion.keys()) == ["clinical", "ecg"]
    embeddings = {m: e for m, e in _embeddings().items() if m != "pcg"}
    assert model.fuse(embeddings).shape == (6,)


def test_mlp_fusion_mixes_modalities() -> None:
    """The joint head is not additive: the effect of one modality depends on another."""
    model, e = _model("mlp"), _embeddings()
    with torch.no_grad():
        shift = {**e, "pcg": e["pcg"] + 3.0}
        other = {**e, "ecg": -e["ecg"]}
        moved = model.fuse(shift) - model.fuse(e)
        moved_other = model.fuse({**other, "pcg": other["pcg"] + 3.0}) - model.fuse(other)
    assert not torch.allclose(moved, moved_other, atol=1e-4)
