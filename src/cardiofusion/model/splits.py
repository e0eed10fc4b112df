"""Moving a split of the cached features onto the device and running the model over it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from cardiofusion.features.dataset import FeatureSet
from cardiofusion.model.network import MultimodalNet

EVAL_CHUNK = 32  # patients per forward pass without gradients: 3x faster than 128 on CPU (cache)


@dataclass(frozen=True)
class SplitTensors:
    """One split held in memory: inputs keyed by modality, which patients have each modality,
    labels as float (0/1), and each patient's independent group (intervals resample groups,
    not rows)."""

    inputs: dict[str, torch.Tensor]
    present: dict[str, torch.Tensor]  # bool (patients,) per modality
    labels: torch.Tensor
    patient_ids: list[str]
    groups: list[str]

    def __len__(self) -> int:
        return len(self.labels)

    def batch(self, rows: torch.Tensor) -> dict[str, torch.Tensor]:
        return {m: t[rows] for m, t in self.inputs.items()}

    def batch_present(self, rows: torch.Tensor) -> dict[str, torch.Tensor]:
        return {m: t[rows] for m, t in self.present.items()}


def load_split(features: FeatureSet, split: str, device: torch.device) -> SplitTensors:
    """Read a split's rows out of the memory-mapped arrays once; batches are then slices."""
    rows = features.rows(split)
    dtypes = {"pcg": np.float32}  # stored as float16; the ECG stays uint8 until embedded
    inputs = {m: torch.from_numpy(np.ascontiguousarray(array[rows], dtype=dtypes.get(m)))
              for m, array in features.arrays.items()}
    present = {m: torch.from_numpy(features.present(m)[rows]) for m in features.modalities}
    labels = torch.from_numpy(features.index["label"].to_numpy()[rows].astype(np.float32))
    ids = features.index["patient_id"].astype(str).to_numpy()[rows].tolist()
    groups = features.index.get("group", features.index["patient_id"]).astype(str)
    return SplitTensors({m: t.to(device) for m, t in inputs.items()},
                        {m: t.to(device) for m, t in present.items()}, labels.to(device), ids,
                        groups.to_numpy()[rows].tolist())


@torch.no_grad()
def embed_split(
    model: MultimodalNet, data: SplitTensors, rows: torch.Tensor | None = None
) -> dict[str, torch.Tensor]:
    """Embeddings of (a subset of) a split, in eval mode, chunk by chunk; rows without a
    modality hold the encoding of zeros there (fill them with `fill_absent`)."""
    model.eval()
    rows = torch.arange(len(data)) if rows is None else rows
    chunks = [model.embed(data.batch(part)) for part in rows.split(EVAL_CHUNK)]
    return {m: torch.cat([c[m] for c in chunks]) for m in model.modalities}


def mean_embedding(embeddings: dict[str, torch.Tensor], present: dict[str, torch.Tensor]
                   ) -> dict[str, torch.Tensor]:
    """(1, dim) mean embedding of each modality over the patients who have it (over all when
    none of them has it: a placeholder the head never sees on real input)."""
    means = {}
    for m, e in embeddings.items():
        having = present[m]
        means[m] = (e[having] if bool(having.any()) else e).mean(0, keepdim=True)
    return means
