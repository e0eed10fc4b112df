"""The image encoders' first stride: a cheaper model by choice, and models saved before it was a
param still load as the model they were."""

import torch

from cardiofusion.config import ModelParams
from cardiofusion.model.checkpoint import load_model
from cardiofusion.model.network import MultimodalNet


def test_a_stride_4_stem_sees_every_pixel_and_quarters_the_first_feature_map() -> None:
    page = torch.zeros(1, 192, 352, dtype=torch.uint8)
    page[0, 101, 203] = 255  # one bright pixel
    encoder = MultimodalNet(ModelParams(ecg_stem_stride=4), 3).encoders["ecg"].net.eval()
    with torch.no_grad():
        stem = encoder[1](encoder[0](page.float().unsqueeze(1) / 255))
    assert stem.shape[-2:] == (48, 88)
    assert encoder[1].kernel_size == (5, 5)
    touched = (stem - stem[..., :1, :1]).abs().sum(dim=1)[0].nonzero()
    assert len(touched) and all(abs(int(r) * 4 - 101) <= 2 and abs(int(c) * 4 - 203) <= 2
                                for r, c in touched)


def test_a_model_saved_before_the_stem_strides_loads_with_stride_2_stems(model_path, tmp_path
                                                                         ) -> None:
    payload = torch.load(model_path, weights_only=False)
    saved = ModelParams.model_validate(payload["model_params"])
    old = MultimodalNet(saved.model_copy(update={"ecg_stem_stride": 2, "pcg_stem_stride": 2}),
                        int(payload["clinical_features"]), tuple(payload["modalities"]))
    payload["state_dict"] = old.state_dict()
    payload["model_params"] = {k: v for k, v in payload["model_params"].items()
                               if not k.endswith("_stem_stride")}
    torch.save(payload, tmp_path / "old.pth")
    loaded = load_model(tmp_path / "old.pth")
    assert loaded.model.encoders["ecg"].net[1].kernel_size == (3, 3)
    assert loaded.model.encoders["ecg"].net[1].stride == (2, 2)
