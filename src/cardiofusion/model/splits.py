"""Moving a split of the cached features onto the device and running the model over it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from cardiofusion.config import MODALITIES
from cardiofusion.features.dataset import FeatureSet
from cardiofusion.model.network import MultimodalNet

EVAL_CHUNK = 32  # patients per forward pass without gradients: 3x faster than 128 on CPU (cache)


@dataclass(frozen=True)
class SplitTensors:
    """One split held in memory: inputs keyed by modality, labels as float (0/1), and each
    patient's independent group (intervals resample groups, not rows)."""

    inputs: dict[str, torch.Tensor]
    labels: torch.Tensor
    patient_ids: list[str]
    groups: list[str]

    def __len__(self) -> int:
        return len(self.labels)

    def batch(self, rows: torch.Tensor) -> dict[str, torch.Tensor]:
        return {m: self.inputs[m][rows] for m in MODALITIES}


def load_split(features: FeatureSet, split: str, device: torch.device) -> SplitTensors:
    """Read a split's rows out of the memory-mapped arrays once; batches are then slices."""
    rows = features.rows(split)
    inputs = {
        "ecg": torch.from_numpy(np.ascontiguousarray(features.ecg[rows])),
        "pcg": torch.from_numpy(np.asarray(features.pcg[rows], dtype=np.float32)),
        "clinical": torch.from_numpy(np.ascontiguousarray(features.clinical[rows])),
    }
    labels = torch.from_numpy(features.index["label"].to_numpy()[rows].astype(np.float32))
    ids = features.index["patient_id"].astype(str).to_numpy()[rows].tolist()
    groups = features.index.get("group", features.index["patient_id"]).astype(str)
    return SplitTensors({m: t.to(device) for m, t in inputs.items()}, labels.to(device), ids,
                        groups.to_numpy()[rows].tolist())


@torch.no_grad()
def embed_split(
    model: MultimodalNet, data: SplitTensors, rows: torch.Tensor | None = None
) -> dict[str, torch.Tensor]:
    """Embeddings of (a subset of) a split, in eval mode, chunk by chunk."""
    model.eval()
    rows = torch.arange(len(data)) if rows is None else rows
    chunks = [model.embed(data.batch(part)) for part in rows.split(EVAL_CHUNK)]
    return {m: torch.cat([c[m] for c in chunks]) for m in MODALITIES}
