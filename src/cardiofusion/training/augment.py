"""Train-time augmentation and modality dropout on in-memory batches.

With about 1 healthy patient in 11, a CNN memorizes the few healthy training examples within a
few epochs and the fusion head then leans on whichever branch memorized first. Shifting the
inputs and occasionally hiding a modality from the fusion head both counter that.
"""

from __future__ import annotations

import torch

from cardiofusion.config import MODALITIES

ECG_MAX_SHIFT_PX = 8


def augment_batch(
    inputs: dict[str, torch.Tensor], generator: torch.Generator
) -> dict[str, torch.Tensor]:
    """Circularly shift each spectrogram in time (heart sounds repeat) and translate the ECG."""
    pcg = inputs["pcg"]
    frames = pcg.shape[-1]
    offsets = torch.randint(0, frames, (len(pcg), 1, 1), generator=generator).to(pcg.device)
    index = (torch.arange(frames, device=pcg.device) + offsets) % frames
    shifted_pcg = pcg.gather(2, index.expand_as(pcg))
    dy, dx = torch.randint(-ECG_MAX_SHIFT_PX, ECG_MAX_SHIFT_PX + 1, (2,), generator=generator)
    shifted_ecg = torch.roll(inputs["ecg"], shifts=(int(dy), int(dx)), dims=(1, 2))
    return {**inputs, "pcg": shifted_pcg, "ecg": shifted_ecg}


def drop_modalities(
    embeddings: dict[str, torch.Tensor], rates: dict[str, float], generator: torch.Generator
) -> dict[str, torch.Tensor]:
    """Replace each patient's embedding of modality m by the batch mean with probability
    `rates[m]`.

    The fusion head then cannot rely on one modality alone; the auxiliary heads still see the
    untouched embeddings.
    """
    if not any(rates.values()):
        return embeddings
    dropped = {}
    for m in MODALITIES:
        e = embeddings[m]
        mask = (torch.rand(len(e), 1, generator=generator) < rates[m]).to(e.device)
        dropped[m] = torch.where(mask, e.mean(0, keepdim=True).detach(), e)
    return dropped
