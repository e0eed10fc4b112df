"""The multimodal network: three encoders, a fusion head and one auxiliary head per modality.

The auxiliary heads sit on the embeddings, so the auxiliary losses cost one encoder pass per
modality per step, and the fusion head alone can be re-run cheaply with a modality's embedding
replaced when contributions are measured.
"""

from __future__ import annotations

import torch
from torch import nn

from cardiofusion.config import MODALITIES, ModelParams


class ConvEncoder(nn.Module):
    """A compact 2-D CNN: strided conv blocks, global average pooling, a linear embedding.

    In `channels_last` layout the same convolutions run through faster oneDNN kernels on CPU
    (the first, one-channel convolution of a full-size ECG page about 4x faster);
    `benchmarks/train_speed.py` measures both layouts.
    """

    def __init__(self, channels: list[int], embedding_dim: int, channels_last: bool = True,
                 stem_stride: int = 2) -> None:
        """`stem_stride`: the first convolution's stride (kernel one wider, so it still sees
        every pixel); 4 on a full ECG page costs a quarter of 2 in every later layer."""
        super().__init__()
        self.layout = torch.channels_last if channels_last else torch.contiguous_format
        layers: list[nn.Module] = [nn.BatchNorm2d(1)]  # learns the input's scale
        previous = 1
        for i, width in enumerate(channels):
            stride = stem_stride if i == 0 else 2
            layers += [
                nn.Conv2d(previous, width, kernel_size=stride + 1, stride=stride,
                          padding=stride // 2, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
            ]
            previous = width
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(previous, embedding_dim)]
        self.net = nn.Sequential(*layers).to(memory_format=self.layout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.unsqueeze(1).contiguous(memory_format=self.layout))


class SignalEncoder(nn.Module):
    """A compact 1-D CNN for ECG signals (leads x samples): strided conv blocks, global average
    pooling, a linear embedding of the image encoder's size. A 10 s window at 250 Hz is 2,500
    samples: four stride-2 blocks see about 0.5 s of context each, a beat, at a few million
    multiply-adds per record.

    `per_lead`: one conv stack shared by every lead, each lead read as a one-channel signal and
    the leads' pooled features joined in lead order (which lead shows what is kept). Each
    filter then learns from every lead of every record, twelve times the examples of a
    12-lead set, at twelve times the multiply-adds from the second block on."""

    def __init__(self, leads: int, channels: list[int], embedding_dim: int,
                 per_lead: bool = False) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.BatchNorm1d(leads)]  # learns each lead's scale
        if per_lead:
            layers.append(nn.Unflatten(1, (leads, 1)))  # (batch, leads, 1, samples)
            layers.append(nn.Flatten(0, 1))  # (batch x leads, 1, samples)
        previous = 1 if per_lead else leads
        for i, width in enumerate(channels):
            kernel = 7 if i == 0 else 5
            layers += [
                nn.Conv1d(previous, width, kernel_size=kernel, stride=2, padding=kernel // 2,
                          bias=False),
                nn.BatchNorm1d(width),
                nn.ReLU(inplace=True),
            ]
            previous = width
        layers += [nn.AdaptiveAvgPool1d(1), nn.Flatten()]
        if per_lead:
            layers.append(nn.Unflatten(0, (-1, leads)))  # (batch, leads, features)
            layers.append(nn.Flatten())
            previous *= leads
        layers.append(nn.Linear(previous, embedding_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class TabularEncoder(nn.Module):
    """An MLP for the standardized clinical vector."""

    def __init__(self, in_features: int, hidden: list[int], embedding_dim: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        previous = in_features
        for width in hidden:
            layers += [nn.Linear(previous, width), nn.ReLU(inplace=True)]
            previous = width
        layers.append(nn.Linear(previous, embedding_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class MultimodalNet(nn.Module):
    """ECG image, PCG spectrogram and clinical vector (the ones the dataset has) → one logit of
    "abnormal"."""

    def __init__(self, params: ModelParams, clinical_features: int,
                 modalities: tuple[str, ...] = MODALITIES, ecg_leads: int = 0) -> None:
        """`ecg_leads`: 0 for ECG images (the 2-D encoder), the lead count of ECG signals (the
        1-D encoder)."""
        super().__init__()
        self.modalities = tuple(m for m in MODALITIES if m in modalities)
        self.ecg_signal = ecg_leads > 0
        dim = params.embedding_dim
        builders = {
            "ecg": (lambda: SignalEncoder(ecg_leads, params.ecg_signal_channels, dim,
                                          params.ecg_signal_per_lead))
            if self.ecg_signal else
            (lambda: ConvEncoder(params.ecg_channels, dim, params.channels_last,
                                 params.ecg_stem_stride)),
            "pcg": lambda: ConvEncoder(params.pcg_channels, dim, params.channels_last,
                                       params.pcg_stem_stride),
            "clinical": lambda: TabularEncoder(clinical_features, params.clinical_hidden, dim),
        }
        self.encoders = nn.ModuleDict({m: builders[m]() for m in self.modalities})
        self.aux_heads = nn.ModuleDict({m: nn.Linear(dim, 1) for m in self.modalities})
        self.additive = params.fusion == "additive"
        self.fusion = (nn.ModuleDict({m: _fusion_head(dim, params) for m in self.modalities})
                       if self.additive else _fusion_head(dim * len(self.modalities), params))

    def embed(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """One encoder pass per modality given (all of a batch; a served patient's may be
        fewer); ECG images arrive as uint8 and are scaled here, signals as standardized
        float32."""
        floats = {m: inputs[m].float() for m in self.modalities if m in inputs}
        if "ecg" in floats and not self.ecg_signal:
            floats["ecg"] = floats["ecg"] / 255.0
        return {m: self.encoders[m](x) for m, x in floats.items()}

    def embed_present(self, inputs: dict[str, torch.Tensor], present: dict[str, torch.Tensor]
                      ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """Like `embed`, but each encoder sees only the patients who have its modality, so
        an absent input (zeros: a black page, a silent spectrogram) never enters the batch
        statistics of its BatchNorm layers. Absent rows get a zero embedding, to be replaced
        (`fill_absent`, fusion dropout). Fewer than two patients with a modality in a training
        batch count as none (BatchNorm needs two). Returns the embeddings and the mask used."""
        embeddings, used = {}, {}
        for m in self.modalities:
            having = present[m]
            if bool(having.all()):
                embeddings[m] = self.embed({m: inputs[m]})[m]
                used[m] = having
                continue
            if int(having.sum()) < 2:
                having = torch.zeros_like(having)
                embeddings[m] = torch.zeros(len(having), self.aux_heads[m].in_features,
                                            device=inputs[m].device)
            else:
                part = self.embed({m: inputs[m][having]})[m]
                embeddings[m] = part.new_zeros(len(having), part.shape[1])
                embeddings[m][having] = part
            used[m] = having
        return embeddings, used

    def fuse(self, embeddings: dict[str, torch.Tensor]) -> torch.Tensor:
        """Fusion-head logits (batch,) from the modalities' embeddings: one head over all of
        them, or (additive) the sum of one head's logit per modality, which cannot model
        interactions between modalities but adds up the evidence of each."""
        if self.additive:
            return sum(self.fusion[m](embeddings[m]) for m in self.modalities).squeeze(1)
        return self.fusion(torch.cat([embeddings[m] for m in self.modalities], dim=1)).squeeze(1)

    def aux_logits(self, embeddings: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Each modality's own prediction, from its embedding alone."""
        return {m: self.aux_heads[m](embeddings[m]).squeeze(1) for m in self.modalities}

    def branch_parameters(self, modality: str) -> list[nn.Parameter]:
        """A modality's encoder and auxiliary head: one optimizer group per branch."""
        return [*self.encoders[modality].parameters(), *self.aux_heads[modality].parameters()]


def _fusion_head(in_features: int, params: ModelParams) -> nn.Sequential:
    """Embeddings (joined, or one modality's) → one logit, through one hidden layer."""
    return nn.Sequential(
        nn.ReLU(),
        nn.Dropout(params.dropout),
        nn.Linear(in_features, params.fusion_hidden),
        nn.ReLU(inplace=True),
        nn.Dropout(params.dropout),
        nn.Linear(params.fusion_hidden, 1),
    )


def fill_absent(
    embeddings: dict[str, torch.Tensor], present: dict[str, torch.Tensor],
    substitute: dict[str, torch.Tensor],
) -> dict[str, torch.Tensor]:
    """Each absent modality's embedding replaced by `substitute` (the train-split mean
    embedding): what the fusion head learned to decide without, never the encoding of an
    all-zero input it has never seen."""
    return {m: torch.where(present[m][:, None], e, substitute[m].expand_as(e))
            if not bool(present[m].all()) else e for m, e in embeddings.items()}
