"""Train-time augmentation and modality dropout on in-memory batches.

With about 1 healthy patient in 11, a CNN memorizes the few healthy training examples within a
few epochs and the fusion head then leans on whichever branch memorized first. Shifting the
inputs and occasionally hiding a modality from the fusion head both counter that.
"""

from __future__ import annotations

import torch

ECG_MAX_SHIFT_PX = 8


def augment_batch(
    inputs: dict[str, torch.Tensor], generator: torch.Generator, ecg_signal: bool = False
) -> dict[str, torch.Tensor]:
    """Circularly shift each spectrogram in time (heart sounds repeat) and translate the ECG
    page, or shift the ECG signal in time like the spectrogram (the ones the dataset has)."""
    augmented = dict(inputs)
    if "pcg" in inputs:
        augmented["pcg"] = _shift_in_time(inputs["pcg"], generator)
    if "ecg" in inputs and ecg_signal:
        augmented["ecg"] = _shift_in_time(inputs["ecg"], generator)
    elif "ecg" in inputs:
        dy, dx = torch.randint(-ECG_MAX_SHIFT_PX, ECG_MAX_SHIFT_PX + 1, (2,), generator=generator)
        augmented["ecg"] = torch.roll(inputs["ecg"], shifts=(int(dy), int(dx)), dims=(1, 2))
    return augmented


def _shift_in_time(pcg: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    frames = pcg.shape[-1]
    offsets = torch.randint(0, frames, (len(pcg), 1, 1), generator=generator).to(pcg.device)
    index = (torch.arange(frames, device=pcg.device) + offsets) % frames
    return pcg.gather(2, index.expand_as(pcg))


def hide_modalities(
    embeddings: dict[str, torch.Tensor], present: dict[str, torch.Tensor],
    rates: dict[str, float], generator: torch.Generator,
) -> dict[str, torch.Tensor]:
    """What the fusion head sees: each patient's embedding of modality m replaced by the batch
    mean (over the patients who have m) when the patient lacks m, and otherwise with
    probability `rates[m]` (fusion dropout).

    The head then learns to decide without a modality, the way it will meet a patient who has
    none; the auxiliary heads still see the untouched embeddings.
    """
    draw = any(rates.values())
    hidden = {}
    for m, e in embeddings.items():
        having = present[m]
        mask = ~having[:, None]
        if draw:
            mask = mask | (torch.rand(len(e), 1, generator=generator) < rates[m]).to(e.device)
        if not bool(mask.any()):
            hidden[m] = e
            continue
        among = e[having] if bool(having.any()) else e
        hidden[m] = torch.where(mask, among.mean(0, keepdim=True).detach(), e)
    return hidden
