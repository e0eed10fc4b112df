"""Train-stage speed at the size of the original dataset, and the step it replaces.

Run from the repository root:
    python benchmarks/train_speed.py [--params params.yaml] [--patients 3784] [--epochs 30]
                                     [--workdir DIR] [--against key=value ...]
A demo set of --patients patients and its features are prepared in --workdir by the pipeline's own
commands in child processes (kept, so a second run starts training at once). Then the real train
stage runs in this process with early stopping off and prints:
(a) seconds per epoch and in total (target: 30 epochs at 3,784 patients within 4 minutes);
    with --against, the same training again with those params changed (e.g. the settings of
    an earlier default, `model.ecg_stem_stride=2`), and the ratio of seconds per epoch;
(b) the share of training-step time spent loading batches (target at most 10%);
(c) the peak resident memory of the training process (target at most 3 GB);
(d) one optimizer step of this model against a step done the way the replaced system did it
    (four full forward passes, three with all but one modality blanked), measured here;
(e) FLOPs per step, step time and share of the matmul peak: NCHW against channels_last layout,
    the ECG and PCG stem strides of these params against stride 2,
    float32 against bfloat16 autocast.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

import cardiofusion.training.train as train_stage
from cardiofusion.config import Params, load_params
from cardiofusion.features.dataset import FeatureSet
from cardiofusion.model.network import MultimodalNet
from cardiofusion.model.splits import SplitTensors, load_split
from cardiofusion.paths import DEFAULT_PATHS
from cardiofusion.runtime import cpu_has_native_bf16

FEATURES = DEFAULT_PATHS.features

COMPARED_STEPS = 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--patients", type=int, default=3784)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/cardiofusion-train-speed"))
    parser.add_argument("--against", nargs="+", default=[], metavar="KEY=VALUE",
                        help="also train with these params changed and print the ratio")
    args = parser.parse_args()
    params_file = Path(args.params).resolve()
    workdir = args.workdir.resolve()
    data = _prepare(params_file, workdir, args.patients)
    os.chdir(workdir)
    params = load_params(params_file, [*data, f"train.epochs={args.epochs}", "train.patience=0"])
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{args.patients} patients, {args.epochs} epochs, batch {params.train.batch_size}")

    timings = _instrument()
    total = _trained_seconds(params)
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2

    steps = sum(timings["train_phase"])
    print(f"(a) {total / args.epochs:.1f} s per epoch ({statistics.median(timings['epoch']):.1f} s "
          f"median, training steps {steps / args.epochs:.1f} s, validation and contributions "
          f"{sum(timings['validate']) / args.epochs:.1f} s); {args.epochs} epochs in "
          f"{total / 60:.1f} min, so 30 epochs in {30 * total / args.epochs / 60:.1f} min "
          f"(target: 30 epochs at 3784 patients in 4 min)")
    print(f"(b) loading batches: {sum(timings['load']) / steps:.1%} of training-step time "
          f"(target at most 10%)")
    if args.against:
        reference = load_params(params_file, [*data, f"train.epochs={args.epochs}",
                                              "train.patience=0", *args.against])
        against = _trained_seconds(reference)
        print(f"    with {' '.join(args.against)}: {against / args.epochs:.1f} s per epoch; "
              f"these params are {against / total:.2f}x as fast")
    print(f"(c) peak memory (max RSS) of the training process: {peak_gb:.2f} GB (target 3 GB)")
    ours, seed_way = _compare_steps(params)
    print(f"(d) one step of batch {params.train.batch_size}: {ours * 1000:.0f} ms here, "
          f"{seed_way * 1000:.0f} ms with four full forward passes; "
          f"{seed_way / ours:.2f}x faster (median of {COMPARED_STEPS} steps each, interleaved)")
    _precision_figures(params)


def _trained_seconds(params: Params) -> float:
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        train_stage.run_train(params)
    return time.perf_counter() - started


def _matmul_peak(dtype: torch.dtype, size: int = 2048, repeats: int = 10) -> float:
    """FLOP/s of a square matmul in `dtype`: the practical peak of this machine."""
    a, b = torch.randn(size, size).to(dtype), torch.randn(size, size).to(dtype)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * size**3 * repeats / (time.perf_counter() - start)


VARIANTS = (  # name, autocast dtype, model params changed
    ("float32 NCHW", None, {"channels_last": False}),
    ("float32 channels_last", None, {"channels_last": True}),
    ("float32 channels_last, ECG stem stride 2", None,
     {"channels_last": True, "ecg_stem_stride": 2}),
    ("float32 channels_last, PCG stem stride 2", None,
     {"channels_last": True, "pcg_stem_stride": 2}),
    ("bfloat16 channels_last", torch.bfloat16, {"channels_last": True}),
)
EMULATED_STEPS = 3  # bfloat16 without hardware support is slow: a few steps show it


def _precision_step(model: MultimodalNet, optimizer: torch.optim.Optimizer, data: SplitTensors,
                    rows: torch.Tensor, params: Params, dtype: torch.dtype | None) -> None:
    with torch.autocast("cpu", dtype or torch.float32, enabled=dtype is not None):
        _aux_head_step(model, optimizer, data, rows, params.train.aux_weight)


def _precision_figures(params: Params) -> None:
    """Model FLOPs per step (counted from the layers), step time, and the share of the matmul
    peak of that precision, for both memory layouts and bfloat16; ratios in this process."""
    features = FeatureSet.load(FEATURES)
    train = load_split(features, "train", torch.device("cpu"))
    rows = torch.randperm(len(train))[: params.train.batch_size]
    native_bf16 = cpu_has_native_bf16()
    times = {}
    for name, dtype, changed in VARIANTS:
        torch.manual_seed(params.seed)
        model = MultimodalNet(params.model.model_copy(update=changed),
                              features.clinical_features, features.modalities,
                              len(features.spec.ecg_leads))
        optimizer = torch.optim.AdamW(model.parameters(), lr=params.train.lr)
        with FlopCounterMode(display=False) as counter:
            _precision_step(model, optimizer, train, rows, params, dtype)
        flops = counter.get_total_flops()
        steps = COMPARED_STEPS if dtype is None or native_bf16 else EMULATED_STEPS
        samples = []
        for _ in range(steps):
            start = time.perf_counter()
            _precision_step(model, optimizer, train, rows, params, dtype)
            samples.append(time.perf_counter() - start)
        times[name] = statistics.median(samples)
        peak = _matmul_peak(dtype or torch.float32)
        achieved = flops / times[name]
        note = "" if dtype is None or native_bf16 else " (emulated: no AVX-512 BF16 or AMX in use)"
        print(f"(e) {name}: {flops / 1e9:.2f} GFLOP per step, {times[name] * 1000:.0f} ms, "
              f"{achieved / 1e9:.1f} GFLOP/s = {achieved / peak:.0%} of the "
              f"{peak / 1e9:.3g} GFLOP/s {str(dtype or torch.float32)[6:]} matmul peak{note}")
    base = times["float32 channels_last"]
    stems = "; ".join(
        f"{m} stem stride 2 / {getattr(params.model, f'{m.lower()}_stem_stride')}: "
        f"{times[f'float32 channels_last, {m} stem stride 2'] / base:.2f}x" for m in ("ECG", "PCG"))
    print(f"    NCHW / channels_last step time: {times['float32 NCHW'] / base:.2f}x; {stems}; "
          f"bfloat16 / float32: {times['bfloat16 channels_last'] / base:.2f}x")


def _prepare(params_file: Path, workdir: Path, patients: int) -> list[str]:
    """Demo data, validation and features in `workdir`, made by the pipeline's own commands."""
    demo = workdir / "data" / "demo"
    overrides = [f"demo.out_dir={demo}", f"demo.patients={patients}",
                 f"data.csv={demo / 'metadata.csv'}", f"data.root={demo}"]
    if not (workdir / "data" / "features" / "spec.json").is_file():
        workdir.mkdir(parents=True, exist_ok=True)
        for command in ("demo-data", "validate", "featurize"):
            print(f"preparing: cardiofusion {command} ({patients} patients)", flush=True)
            subprocess.run(
                [sys.executable, "-m", "cardiofusion.cli", command, "--params", str(params_file),
                 *[f"--set={o}" for o in overrides]],
                cwd=workdir, check=True, stdout=subprocess.DEVNULL,
            )
    return overrides


def _instrument() -> dict[str, list[float]]:
    """Wrap the train stage's batch loading, validation and checkpointing with timers."""
    timings: dict[str, list[float]] = {k: [] for k in ("load", "validate", "train_phase", "epoch")}
    marks = {"epoch_start": 0.0, "phase_start": 0.0}

    def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            if name == "load" and not marks["phase_start"]:
                marks["epoch_start"] = marks["phase_start"] = start
            if name == "validate":
                timings["train_phase"].append(start - marks["phase_start"])
            result = function(*args, **kwargs)
            end = time.perf_counter()
            if name in ("load", "validate"):
                timings[name].append(end - start)
            if name == "checkpoint":  # the last thing an epoch does
                timings["epoch"].append(end - marks["epoch_start"])
                marks["epoch_start"] = marks["phase_start"] = end
            return result

        return wrapper

    train_stage.load_batch = timed("load", train_stage.load_batch)
    train_stage.validate_epoch = timed("validate", train_stage.validate_epoch)
    train_stage.save_training_state = timed("checkpoint", train_stage.save_training_state)
    return timings


def _compare_steps(params: Params) -> tuple[float, float]:
    """Median seconds of one optimizer step: auxiliary heads on shared embeddings, and the
    replaced system's way (a full forward pass per auxiliary loss, other inputs zeroed)."""
    torch.manual_seed(params.seed)
    features = FeatureSet.load(FEATURES)
    train = load_split(features, "train", torch.device("cpu"))
    model = MultimodalNet(params.model, features.clinical_features, features.modalities,
                          len(features.spec.ecg_leads))
    optimizer = torch.optim.AdamW(model.parameters(), lr=params.train.lr)
    batches = torch.randperm(len(train)).split(params.train.batch_size)
    ours, seed_way = [], []
    for i in range(COMPARED_STEPS + 2):  # two warm-up steps each
        rows = batches[i % len(batches)]
        for step, times in ((_aux_head_step, ours), (_four_pass_step, seed_way)):
            start = time.perf_counter()
            step(model, optimizer, train, rows, params.train.aux_weight)
            if i >= 2:
                times.append(time.perf_counter() - start)
    return statistics.median(ours), statistics.median(seed_way)


def _aux_head_step(model: MultimodalNet, optimizer: torch.optim.Optimizer, data: SplitTensors,
                   rows: torch.Tensor, aux_weight: float) -> None:
    inputs, labels = data.batch(rows), data.labels[rows]
    embeddings = model.embed(inputs)
    aux = model.aux_logits(embeddings)
    loss = F.binary_cross_entropy_with_logits(model.fuse(embeddings), labels) + aux_weight * sum(
        F.binary_cross_entropy_with_logits(aux[m], labels) for m in model.modalities
    )
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def _four_pass_step(model: MultimodalNet, optimizer: torch.optim.Optimizer, data: SplitTensors,
                    rows: torch.Tensor, aux_weight: float) -> None:
    inputs, labels = data.batch(rows), data.labels[rows]
    loss = F.binary_cross_entropy_with_logits(model.fuse(model.embed(inputs)), labels)
    for kept in model.modalities:
        blanked = {m: t if m == kept else torch.zeros_like(t) for m, t in inputs.items()}
        loss = loss + aux_weight * F.binary_cross_entropy_with_logits(
            model.fuse(model.embed(blanked)), labels
        )
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


if __name__ == "__main__":
    main()
