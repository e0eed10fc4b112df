"""Train stage: balanced multimodal training that measures every modality's contribution.

Recipe: class-balanced sampling, `main + aux_weight * (aux_ecg + aux_pcg + aux_clinical)`,
per-branch learning rates, early stopping on validation loss, and per-epoch contributions on the
validation set. `run_train` reads top to bottom: set-up, then per epoch `train_one_epoch`,
`validate_epoch`, log, keep the best, stop early; then average the best epochs' weights when
that lowers the validation loss (training/soup.py).
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from dvclive import Live
from torch.utils.data import WeightedRandomSampler
from tqdm import tqdm

from cardiofusion.config import Params, TrainParams
from cardiofusion.console import print_epoch, print_training_setup
from cardiofusion.features.dataset import FeatureSet
from cardiofusion.files import write_metrics
from cardiofusion.model.checkpoint import load_training_state, save_model, save_training_state
from cardiofusion.model.contributions import baseline_embeddings, blank_embeddings, modality_shares
from cardiofusion.model.metrics import classification_metrics, youden_threshold
from cardiofusion.model.network import MultimodalNet, fill_absent
from cardiofusion.model.splits import SplitTensors, embed_split, load_split, mean_embedding
from cardiofusion.paths import DEFAULT_PATHS, PipelinePaths
from cardiofusion.runtime import pick_device, pick_precision, seed_everything
from cardiofusion.training.augment import augment_batch, hide_modalities
from cardiofusion.training.closed_loop import (
    ModalityWeights,
    improves,
    in_band,
    made_progress,
    on_plateau,
    target_band,
)
from cardiofusion.training.distributed import Ranks, join, leave
from cardiofusion.training.mmpareto import mmpareto_backward
from cardiofusion.training.ogm_ge import modulate_gradients, ogm_coefficients
from cardiofusion.training.soup import Candidates, greedy_soup

SINGLE = Ranks()  # one process: nothing to share
TRAIN_HEADLINE = ["epoch", "val_auroc"]  # metrics/train.json; the rest in reports/training.json


def run_train(
    params: Params, resume: bool = False, paths: PipelinePaths = DEFAULT_PATHS
) -> dict[str, object]:
    """Train from scratch, or continue from the last completed epoch's checkpoint. Under
    torchrun, one data-parallel process of several (see training/distributed.py)."""
    tp = params.train
    generator = seed_everything(params.seed)
    ranks = join(pick_device(params.device))
    device = ranks.device(pick_device(params.device))
    features = FeatureSet.load(paths.features)
    train, val = load_split(features, "train", device), load_split(features, "val", device)
    model = MultimodalNet(params.model, features.clinical_features, features.modalities,
                          len(features.spec.ecg_leads)).to(device)
    ranks.share_parameters(model)
    # foreach: the arithmetic of the default per-tensor loop (bit for bit), one call per
    # operation for all of a group's tensors instead of a Python loop: ~5 ms less per CPU step
    optimizer = torch.optim.AdamW(param_groups(model, tp), lr=tp.lr, weight_decay=tp.weight_decay,
                                  foreach=True)
    reference_rows = torch.randperm(len(train), generator=generator)[
        : params.contributions.baseline_samples
    ]
    # each rank draws its own batches; one process keeps the seed's own generator
    draws = generator if ranks.world == 1 else torch.Generator().manual_seed(
        params.seed + 1000 * ranks.rank)
    sampler = make_sampler(train.labels, tp.sampler, draws, ranks)
    autocast = pick_precision(tp.precision, device)  # None: float32
    # loss scaling only for float16, whose range is too narrow for small gradients
    scaler = torch.amp.GradScaler(device.type, enabled=autocast is torch.float16)
    counts = torch.bincount(train.labels.long().cpu(), minlength=2).tolist()
    if ranks.main:
        print_training_setup(f"{device} x {ranks.world}" if ranks.world > 1 else str(device),
                             tp, counts, autocast)

    best: dict[str, Any] = {"val_loss": math.inf, "epoch": 0, "in_band": False}
    # closed_loop keeps the best epoch whose control shares are inside the criteria's range,
    # narrowed by balance_margin on each side (the test split's shares differ by a few points)
    select_in_band = tp.balance == "closed_loop" and len(model.modalities) > 1
    band = target_band(params.criteria.share_range, tp.balance_margin, len(model.modalities))
    stale_epochs, completed, lowest_loss = 0, 0, math.inf  # lowest: of any epoch, kept or not
    weights = ModalityWeights.initial(tp, model.modalities)
    candidates = Candidates(tp.average_best)  # the epochs a soup may average
    if resume:
        state = load_training_state(paths.training_state, params, model, optimizer, generator)
        best, stale_epochs, completed = state["best"], state["stale_epochs"], state["epoch"]
        lowest_loss = float(state.get("lowest_val_loss", best["val_loss"]))
        scaler.load_state_dict(state["scaler"])
        weights.load_state_dict(state["modality_weights"])
        candidates.load_state_dict(state["candidates"])
        if ranks.main:
            print(f"↩️  Resuming after epoch {completed} (best so far: epoch {best['epoch']})")
    started = time.perf_counter()
    epoch = completed
    logging = (Live(dir=str(paths.live_dir), save_dvc_exp=False, dvcyaml=None, resume=resume)
               if ranks.main else contextlib.nullcontext())
    with logging as live:
        for epoch in range(completed + 1, tp.epochs + 1):
            trained = train_one_epoch(model, optimizer, scaler, train, sampler, tp, weights,
                                      draws, autocast, ranks)
            ranks.share_parameters(model)  # BatchNorm statistics: rank 0's for everyone
            stop = decay = False
            if ranks.main:
                checked = validate_epoch(model, val, train, reference_rows, params)
                print_epoch(epoch, tp.epochs, trained, {"loss": checked.loss, **checked.metrics},
                            checked.shares)
                log_epoch(live, trained, checked, weights, optimizer)
                weights.adapt(tp, checked.control_shares, checked.unimodal_auroc, band)

                balanced = in_band(checked.control_shares, band)
                kept = improves(checked.loss, balanced, best, select_in_band)
                if kept:
                    best = {**_best_so_far(epoch, trained, checked), "in_band": balanced}
                    info = {"epoch": epoch, "val_metrics": checked.metrics,
                            "contributions": checked.shares}
                    save_model(paths.retrained_model, model, params.model, features.spec,
                               checked.reference, checked.threshold, info)
                    print("   ✅ New best model!")
                if balanced or not select_in_band:
                    candidates.offer(checked.loss, epoch, model)
                stale_epochs = 0 if made_progress(checked.loss, kept, lowest_loss) else (
                    stale_epochs + 1)
                lowest_loss = min(lowest_loss, checked.loss)
                balancing = select_in_band and not best.get("in_band", False)
                stop, decay = on_plateau(stale_epochs, tp, balancing)
                if stop:
                    print(f"\n⏹️  Early stopping: no validation-loss improvement in "
                          f"{tp.patience} epochs (best epoch {best['epoch']})")
                elif decay:
                    print(f"   📉 Learning rates x {tp.lr_decay:g} after {stale_epochs} epochs "
                          f"without progress")
            stop, decay, modality_weights = ranks.from_main((stop, decay, weights.state_dict()))
            weights.load_state_dict(modality_weights)
            if decay:
                scale_learning_rates(optimizer, tp.lr_decay)
            if ranks.main:
                save_training_state(paths.training_state, params, model, optimizer, generator,
                                    {"epoch": epoch, "best": best, "stale_epochs": stale_epochs,
                                     "lowest_val_loss": lowest_loss,
                                     "scaler": scaler.state_dict(),
                                     "modality_weights": weights.state_dict(),
                                     "candidates": candidates.state_dict()})
            if stop:
                break

    if ranks.main and len(candidates.epochs) > 1:
        best = _averaged(model, candidates, features, val, train, reference_rows, params, band,
                         select_in_band, paths, best)
    summary = {**best, "epochs_run": epoch, "stopped_early": epoch < tp.epochs}
    if ranks.main:
        write_metrics(paths.train_metrics, paths.train_details, summary, TRAIN_HEADLINE)
        print(f"\n🏁 Trained {epoch} epochs in {time.perf_counter() - started:.0f} s; best epoch "
              f"{best['epoch']} saved to {paths.retrained_model}")
    leave(ranks)
    return summary


def _averaged(
    model: MultimodalNet, candidates: Candidates, features: FeatureSet, val: SplitTensors,
    train: SplitTensors, reference_rows: torch.Tensor, params: Params,
    band: tuple[float, float], select_in_band: bool, paths: PipelinePaths, best: dict[str, Any],
) -> dict[str, Any]:
    """Replace the saved model by the greedy soup of the best epochs when it holds more than
    the best epoch alone (training/soup.py); returns what train.json reports."""
    def judge(candidate: torch.nn.Module) -> tuple[float, bool]:
        checked = validate_epoch(candidate, val, train, reference_rows, params)
        return checked.loss, in_band(checked.control_shares, band) or not select_in_band

    epochs = greedy_soup(model, candidates, judge)
    if len(epochs) == 1:
        print(f"🍲 Averaging: no other epoch lowers epoch {best['epoch']}'s validation loss")
        return best
    checked = validate_epoch(model, val, train, reference_rows, params)
    info = {"epoch": best["epoch"], "averaged_epochs": epochs, "val_metrics": checked.metrics,
            "contributions": checked.shares}
    save_model(paths.retrained_model, model, params.model, features.spec, checked.reference,
               checked.threshold, info)
    print(f"🍲 Averaged the weights of epochs {', '.join(map(str, epochs))}: validation loss "
          f"{best['val_loss']:.4f} -> {checked.loss:.4f}")
    return {**best, "val_loss": checked.loss, **{f"val_{k}": v for k, v in
            checked.metrics.items()}, "threshold": checked.threshold,
            "contributions": checked.shares, "averaged_epochs": epochs}


def train_one_epoch(
    model: MultimodalNet,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    train: SplitTensors,
    sampler: WeightedRandomSampler | range,
    tp: TrainParams,
    weights: ModalityWeights,
    generator: torch.Generator,
    autocast: torch.dtype | None,
    ranks: Ranks = SINGLE,
) -> dict[str, float]:
    """One pass over the (re-sampled) training set: `main + sum(aux_weight_m * aux_m)`, with
    OGM-GE modulating the encoder gradients, or MMPareto integrating them, when asked. Returns
    loss and accuracy."""
    model.train()
    device_type = train.labels.device.type
    loss_sum, correct = 0.0, 0
    batches = torch.tensor(list(sampler)).split(tp.batch_size)
    # a bar under the epoch lines on a terminal (rank 0 only), nothing in a log file
    for rows in tqdm(batches, desc="train", unit="batch", leave=False,
                     disable=None if ranks.main else True):
        inputs, labels = load_batch(train, rows, tp.augment, generator, model.ecg_signal)
        present = train.batch_present(rows)
        targets = smoothed(labels, tp.label_smoothing)
        with torch.autocast(device_type, autocast or torch.float32, enabled=autocast is not None):
            embeddings, present = model.embed_present(inputs, present)
            logits = model.fuse(hide_modalities(embeddings, present, weights.dropout, generator))
            loss = F.binary_cross_entropy_with_logits(logits, targets)
            unimodal = {}
            if tp.balance != "none":
                aux = model.aux_logits(embeddings)
                unimodal = {m: _present_loss(aux[m], targets, present[m]) for m in aux}
        optimizer.zero_grad(set_to_none=True)
        if tp.balance == "mmpareto":  # the paper's objective: fused + unweighted unimodal losses
            mmpareto_backward(model, scaler.scale(loss),
                              {m: scaler.scale(u) for m, u in unimodal.items()})
            loss = loss + sum(unimodal.values())
        else:
            loss = loss + sum(weights.aux[m] * unimodal[m] for m in unimodal)
            scaler.scale(loss).backward()
        if tp.balance == "ogm_ge":
            scaler.unscale_(optimizer)
            modulate_gradients(model, ogm_coefficients(aux, labels, tp.ogm_alpha), generator)
        ranks.average_gradients(model)  # after any per-rank modulation: every rank steps alike
        scaler.step(optimizer)
        scaler.update()
        loss_sum += loss.item() * len(rows)
        correct += int(((logits > 0).float() == labels).sum())
    return {"loss": loss_sum / len(sampler), "accuracy": correct / len(sampler)}


def log_epoch(
    live: Live, trained: dict[str, float], checked: EpochValidation, weights: ModalityWeights,
    optimizer: torch.optim.Optimizer,
) -> None:
    """One DVCLive step: training loss and accuracy, the fusion head's learning rate (the
    branches' are fixed multiples), validation metrics, contributions, and the per-modality
    weights the epoch trained with."""
    live.log_metric("train/loss", trained["loss"])
    live.log_metric("train/lr", optimizer.param_groups[-1]["lr"])
    live.log_metric("train/accuracy", trained["accuracy"])
    live.log_metric("val/loss", checked.loss)
    for name, value in checked.metrics.items():
        live.log_metric(f"val/{name}", value)
    for m in checked.shares:
        live.log_metric(f"contributions/{m}", checked.shares[m])
        live.log_metric(f"control_shares/{m}", checked.control_shares[m])
        live.log_metric(f"unimodal_auroc/{m}", checked.unimodal_auroc[m])
        live.log_metric(f"aux_weight/{m}", weights.aux[m])
        live.log_metric(f"modality_dropout/{m}", weights.dropout[m])
    live.next_step()


def _best_so_far(
    epoch: int, trained: dict[str, float], checked: EpochValidation
) -> dict[str, Any]:
    """What train.json reports about the saved (best) epoch."""
    return {"epoch": epoch, "val_loss": checked.loss, "train_loss": trained["loss"],
            "train_accuracy": trained["accuracy"],
            **{f"val_{k}": v for k, v in checked.metrics.items()},
            "threshold": checked.threshold, "contributions": checked.shares}


@dataclass(frozen=True)
class EpochValidation:
    loss: float  # class-balanced BCE
    metrics: dict[str, float]
    shares: dict[str, float]  # contributions (%) by params.contributions.method
    control_shares: dict[str, float]  # what closed_loop reads (train.balance_shares_on)
    unimodal_auroc: dict[str, float]  # each auxiliary head's own AUROC (NaN: not trained)
    reference: dict[str, torch.Tensor]  # train-split mean embedding, saved with the model
    threshold: float  # Youden threshold on these validation predictions


@torch.no_grad()
def validate_epoch(
    model: MultimodalNet,
    val: SplitTensors,
    train: SplitTensors,
    reference_rows: torch.Tensor,
    params: Params,
) -> EpochValidation:
    """Validation loss, metrics and tuned threshold; per-patient contributions.

    Contributions reuse the validation embeddings: only the fusion head is re-run.
    """
    reference_present = {m: p[reference_rows] for m, p in train.present.items()}
    reference_embeddings = embed_split(model, train, reference_rows)
    reference = mean_embedding(reference_embeddings, reference_present)
    reference_embeddings = fill_absent(reference_embeddings, reference_present, reference)
    val_embeddings = fill_absent(embed_split(model, val), val.present, reference)
    val_logits = model.fuse(val_embeddings)
    labels, probabilities = val.labels.cpu().numpy(), torch.sigmoid(val_logits).cpu().numpy()
    unimodal = {
        m: _present_auroc(labels, torch.sigmoid(z).cpu().numpy(), val.present[m].cpu().numpy())
        for m, z in model.aux_logits(val_embeddings).items()
    }
    kind = params.contributions.baseline
    blank = blank_embeddings(model, val.inputs) if kind == "blank" else reference

    def shares_of(embeddings: dict[str, torch.Tensor], present: dict[str, torch.Tensor]
                  ) -> dict[str, float]:
        baseline = baseline_embeddings(embeddings, kind, blank,
                                       torch.Generator().manual_seed(params.seed))
        return modality_shares(model, embeddings, params.contributions.method, baseline,
                               present)

    shares = shares_of(val_embeddings, val.present)
    control_shares = shares
    if params.train.balance_shares_on == "val_and_train":  # label-free: more patients, steadier
        control_shares = shares_of(
            {m: torch.cat([val_embeddings[m], reference_embeddings[m]]) for m in model.modalities},
            {m: torch.cat([val.present[m], reference_present[m]]) for m in model.modalities})
    return EpochValidation(
        loss=balanced_bce(val_logits, val.labels),
        metrics=classification_metrics(labels, probabilities),
        shares=shares,
        control_shares=control_shares,
        unimodal_auroc=unimodal,
        reference=reference,
        threshold=youden_threshold(labels, probabilities),
    )


def load_batch(
    split: SplitTensors, rows: torch.Tensor, augment: bool, generator: torch.Generator,
    ecg_signal: bool = False,
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """A training batch sliced from the in-memory split, augmented when asked."""
    inputs = split.batch(rows)
    augmented = augment_batch(inputs, generator, ecg_signal) if augment else inputs
    return augmented, split.labels[rows]


def _present_loss(logits: torch.Tensor, targets: torch.Tensor, present: torch.Tensor
                  ) -> torch.Tensor:
    """An auxiliary head's loss over the patients who have its modality (0 when none do)."""
    if bool(present.all()):
        return F.binary_cross_entropy_with_logits(logits, targets)
    if not bool(present.any()):
        return logits.sum() * 0.0
    return F.binary_cross_entropy_with_logits(logits[present], targets[present])


def _present_auroc(labels: np.ndarray, probabilities: np.ndarray, present: np.ndarray
                   ) -> float:
    """AUROC of an auxiliary head over the patients who have its modality (NaN: one class)."""
    having = labels[present]
    if len(np.unique(having)) < 2:
        return math.nan
    return classification_metrics(having, probabilities[present])["auroc"]


def param_groups(model: MultimodalNet, tp: TrainParams) -> list[dict[str, object]]:
    """One optimizer group per branch with its learning-rate multiplier; fusion at 1x."""
    multipliers = tp.lr_multipliers.as_dict()
    groups: list[dict[str, object]] = [
        {"params": model.branch_parameters(m), "lr": tp.lr * multipliers[m], "name": m}
        for m in model.modalities
    ]
    groups.append({"params": list(model.fusion.parameters()), "lr": tp.lr, "name": "fusion"})
    return groups


def scale_learning_rates(optimizer: torch.optim.Optimizer, factor: float) -> None:
    """Every group's rate times `factor`, keeping the branches' ratios: on a plateau a smaller
    step settles the weights the noisy batches of 16 keep moving."""
    for group in optimizer.param_groups:
        group["lr"] *= factor


def make_sampler(
    labels: torch.Tensor, kind: str, generator: torch.Generator, ranks: Ranks = SINGLE
) -> WeightedRandomSampler | range:
    """Class-balanced sampling with replacement (each rank draws its share of an epoch with its
    own generator), or the training set in order (every world-th row from the rank's own)."""
    if kind == "none":
        return range(ranks.rank, len(labels), ranks.world)
    counts = torch.bincount(labels.long().cpu(), minlength=2).float()
    weights = (1.0 / counts)[labels.long().cpu()]
    return WeightedRandomSampler(weights, math.ceil(len(labels) / ranks.world), replacement=True,
                                 generator=generator)


def smoothed(labels: torch.Tensor, epsilon: float) -> torch.Tensor:
    """Targets pulled from 0/1 toward 0.5 by epsilon/2: logits stay finite, so removing one
    modality moves a prediction by an amount that reflects that modality's weight instead of
    flipping a saturated sigmoid or leaving it untouched."""
    return labels * (1.0 - epsilon) + epsilon / 2.0


def balanced_bce(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Mean of the per-class mean losses: the objective the balanced sampler trains for."""
    losses = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    return float(torch.stack([losses[labels == c].mean() for c in (0, 1)]).mean())
