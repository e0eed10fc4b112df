"""The conv encoders' memory layout is a speed choice, not a different model."""

import torch

from cardiofusion.config import ModelParams
from cardiofusion.model.network import MultimodalNet

CLINICAL = 5


def _inputs(batch: int = 4) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return {
        "ecg": torch.randint(0, 256, (batch, 48, 88), generator=generator, dtype=torch.uint8),
        "pcg": torch.randn(batch, 32, 60, generator=generator),
        "clinical": torch.randn(batch, CLINICAL, generator=generator),
    }


def _pair() -> tuple[MultimodalNet, MultimodalNet]:
    torch.manual_seed(0)
    nchw = MultimodalNet(ModelParams(channels_last=False), CLINICAL).eval()
    channels_last = MultimodalNet(ModelParams(channels_last=True), CLINICAL).eval()
    channels_last.load_state_dict(nchw.state_dict())
    return nchw, channels_last


def test_both_layouts_compute_the_same_predictions() -> None:
    nchw, channels_last = _pair()
    inputs = _inputs()
    with torch.no_grad():
        expected = nchw.fuse(nchw.embed(inputs))
        got = channels_last.fuse(channels_last.embed(inputs))
    assert torch.allclose(expected, got, atol=1e-5)


def test_channels_last_weights_survive_a_state_dict_round_trip() -> None:
    _, channels_last = _pair()
    conv = channels_last.encoders["ecg"].net[1]
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    reloaded = MultimodalNet(ModelParams(channels_last=True), CLINICAL)
    reloaded.load_state_dict(channels_last.state_dict())
    assert reloaded.encoders["ecg"].net[1].weight.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(reloaded.encoders["ecg"].net[1].weight, conv.weight)


def test_gradients_match_between_layouts() -> None:
    nchw, channels_last = _pair()
    inputs = _inputs()
    for model in (nchw, channels_last):
        model.train()
        torch.manual_seed(1)  # the same dropout masks
        embeddings = model.embed(inputs)
        (model.fuse(embeddings).sum() + sum(model.aux_logits(embeddings).values()).sum()).backward()
    for (name, a), (_, b) in zip(nchw.named_parameters(), channels_last.named_parameters(),
                                 strict=True):
        assert torch.allclose(a.grad, b.grad, atol=1e-4, rtol=1e-3), name
