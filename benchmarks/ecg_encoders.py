"""The two ECG encoders side by side: one training step of the whole model with the 2-D image
encoder (a 192 x 352 page) and with the 1-D signal encoder (12 leads x 2,500 samples), in this
process, alternating, so the ratio holds whatever else the machine does.

Run from the repository root:
    python benchmarks/ecg_encoders.py [--params params.yaml] [--steps 30] [--threads 2]
Prints the median milliseconds per step (batch train.batch_size) and per patient of each, the
ECG encoder's share of it, and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from cardiofusion.config import ModelParams, Params, load_params
from cardiofusion.features.ecg_signal import window_samples
from cardiofusion.model.network import MultimodalNet
from cardiofusion.training.train import param_groups

CLINICAL_FEATURES = 40
LEADS = 12


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    params = load_params(args.params)
    batch = params.train.batch_size
    inputs = {
        "image": torch.randint(0, 256, (batch, params.ecg.height, params.ecg.width),
                               dtype=torch.uint8),
        "signal": torch.randn(batch, LEADS, window_samples(params.ecg)),
    }
    models = {"image": _model(params.model, 0), "signal": _model(params.model, LEADS)}
    shared = {"pcg": torch.randn(batch, params.pcg.n_mels, 501),
              "clinical": torch.randn(batch, CLINICAL_FEATURES)}
    labels = torch.randint(0, 2, (batch,)).float()
    optimizers = {k: torch.optim.AdamW(param_groups(m, params.train), lr=params.train.lr)
                  for k, m in models.items()}
    step_ms: dict[str, list[float]] = {k: [] for k in models}
    encoder_ms: dict[str, list[float]] = {k: [] for k in models}
    for i in range(args.steps + 3):  # three warm-up rounds
        for kind, model in models.items():
            batch_inputs = {"ecg": inputs[kind], **shared}
            started = time.perf_counter()
            _step(model, optimizers[kind], batch_inputs, labels, params)
            total = time.perf_counter() - started
            started = time.perf_counter()
            model.encoders["ecg"](_scaled(inputs[kind], kind)).sum().backward()
            alone = time.perf_counter() - started
            if i >= 3:
                step_ms[kind].append(1000 * total)
                encoder_ms[kind].append(1000 * alone)
    for kind in models:
        step, encoder = statistics.median(step_ms[kind]), statistics.median(encoder_ms[kind])
        print(f"{kind:>6} ECG: {step:6.1f} ms per step of {batch} ({step / batch:.2f} ms per "
              f"patient); the ECG encoder alone (forward + backward) {encoder:.1f} ms")
    ratio = statistics.median(step_ms["image"]) / statistics.median(step_ms["signal"])
    print(f"signal against image: a training step {ratio:.2f}x as fast "
          f"({args.threads} threads, {args.steps} steps each, alternating)")


def _model(model_params: ModelParams, leads: int) -> MultimodalNet:
    torch.manual_seed(0)
    return MultimodalNet(model_params, CLINICAL_FEATURES, ecg_leads=leads).train()


def _scaled(ecg: torch.Tensor, kind: str) -> torch.Tensor:
    return ecg.float() / 255.0 if kind == "image" else ecg


def _step(model: MultimodalNet, optimizer: torch.optim.Optimizer,
          inputs: dict[str, torch.Tensor], labels: torch.Tensor, params: Params) -> None:
    """The train stage's objective: fused loss plus the weighted auxiliary losses."""
    embeddings = model.embed(inputs)
    aux = model.aux_logits(embeddings)
    loss = F.binary_cross_entropy_with_logits(model.fuse(embeddings), labels)
    loss = loss + params.train.aux_weight * sum(
        F.binary_cross_entropy_with_logits(a, labels) for a in aux.values())
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


if __name__ == "__main__":
    main()
