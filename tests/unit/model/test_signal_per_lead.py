"""The 1-D ECG signal encoder: one conv stack shared by every lead (the default), or the leads as
the first convolution's channels."""

import torch

from cardiofusion.config import ModelParams
from cardiofusion.model.network import MultimodalNet

LEADS, SAMPLES = 12, 2500


def _encoder(per_lead: bool, leads: int = LEADS) -> torch.nn.Module:
    torch.manual_seed(0)
    params = ModelParams(ecg_signal_per_lead=per_lead)
    return MultimodalNet(params, 3, ("ecg", "clinical"), ecg_leads=leads).encoders["ecg"].eval()


def test_each_leads_features_come_from_that_lead_alone_through_the_same_filters() -> None:
    features = _encoder(per_lead=True).net[:-1]  # the leads' pooled features, joined
    record = torch.randn(2, LEADS, SAMPLES)
    edited = record.clone()
    edited[0, 3] = torch.randn(SAMPLES)  # one lead of one record changes
    with torch.no_grad():
        before, after = features(record), features(edited)
    per_lead = before.shape[1] // LEADS
    changed = (before - after).abs().reshape(2, LEADS, per_lead).amax(dim=2) > 1e-6
    assert changed[0].nonzero().flatten().tolist() == [3]
    assert not changed[1].any()  # the other record is untouched
    swapped = record.clone()
    swapped[0, [3, 7]] = record[0, [7, 3]]  # two leads' signals swap places ...
    with torch.no_grad():
        blocks = features(swapped).reshape(2, LEADS, per_lead)
    reference = before.reshape(2, LEADS, per_lead)  # ... and so do their features
    assert torch.allclose(blocks[0, 3], reference[0, 7], atol=1e-5)
    assert torch.allclose(blocks[0, 7], reference[0, 3], atol=1e-5)


def test_the_joint_encoder_mixes_every_lead_in_its_first_convolution() -> None:
    first = _encoder(per_lead=False).net[1]
    assert first.in_channels == LEADS
    assert _encoder(per_lead=True).net[3].in_channels == 1


def test_with_one_lead_both_encoders_are_the_same_model() -> None:
    record = torch.randn(4, 1, SAMPLES)
    shared, joint = _encoder(True, leads=1), _encoder(False, leads=1)
    with torch.no_grad():
        assert torch.equal(shared(record), joint(record))
