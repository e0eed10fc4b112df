"""Closed-loop modality balancing: per-modality auxiliary weights and fusion dropout, adapted
after every epoch from the validation contributions toward an even share.

The fixed recipe (one auxiliary weight, fixed learning-rate multipliers) balances one run on one
machine and not the next: which modality leads depends on the seed. A controller that reads the
measured shares each epoch corrects whichever modality leads in this run, in the spirit of
GradNorm (Chen et al., ICML 2018), which adapts loss weights from each task's training rate:

- a modality above its even share has its fusion input replaced, with a probability that grows
  with its excess, by the batch mean of its embedding (the baseline contributions are measured
  against), so the fusion head learns to decide without it as the on-the-fly prediction
  modulation of Wei et al. (TPAMI 2024) drops the dominant modality;
- a modality below its share gets a larger auxiliary weight, so its encoder learns from its own
  loss; above, a smaller one. The weight restarts from `train.aux_weight` whenever the modality
  crosses its even share: the first epochs' shares say little (one branch starts near 0 %,
  another near 80 %), and a weight wound up on them held the early leader back and pushed the
  early laggard on for 10-15 epochs after the two had traded places. Fusion dropout keeps
  integrating: a strong modality needs it for as long as it stays strong.

A modality whose auxiliary head shows no label signal on validation (AUROC below
`train.min_signal_auroc`) is never pushed up: forcing a share onto noise would be wrong.

The controller reads an exponential moving average of the shares (half this epoch, half the
past): one validation split's shares swing by several points from epoch to epoch, and a
controller that chases each swing oscillates. Checkpoint selection then keeps, among the epochs
whose shares (`train.balance_shares_on`) lie inside the target band, the one with the lowest
validation loss (`in_band`); only while no epoch has been inside does the plain lowest loss count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from cardiofusion.config import MODALITIES, TrainParams

MAX_AUX_FACTOR = 4.0  # auxiliary weights stay within [1/4, 4] x train.aux_weight


@dataclass
class ModalityWeights:
    """What one epoch trains with: each modality's auxiliary weight and fusion-dropout rate."""

    aux: dict[str, float]
    dropout: dict[str, float]
    history: list[dict[str, dict[str, float]]] = field(default_factory=list)
    smoothed: dict[str, float] = field(default_factory=dict)  # moving average of the shares

    @classmethod
    def initial(cls, tp: TrainParams, modalities: tuple[str, ...] = MODALITIES
                ) -> ModalityWeights:
        return cls(
            aux={m: tp.aux_weight if tp.balance != "none" else 0.0 for m in modalities},
            dropout={m: tp.modality_dropout for m in modalities},
        )

    def adapt(self, tp: TrainParams, shares: dict[str, float], unimodal_auroc: dict[str, float],
              band: tuple[float, float] | None = None) -> None:
        """One controller step from this epoch's shares (percent), per balance_shares_on:
        toward the even share, or (balance_target: band) only back into `band`."""
        if tp.balance != "closed_loop":
            return
        even = 100.0 / len(self.aux)  # of the dataset's k modalities
        self.smoothed = {m: 0.5 * self.smoothed.get(m, shares[m]) + 0.5 * shares[m]
                         for m in self.aux}
        for m in self.aux:
            excess = _excess(self.smoothed[m], even, band if tp.balance_target == "band"
                             else None)  # -1 (no share) ... 2 (everything)
            has_signal = not unimodal_auroc[m] < tp.min_signal_auroc  # NaN: undecided, push
            if excess < 0 and not has_signal:
                continue
            factor = self.aux[m] / tp.aux_weight
            factor = max(factor, 1.0) if excess < 0 else min(factor, 1.0)  # no windup
            factor *= math.exp(-tp.balance_rate * excess)
            self.aux[m] = tp.aux_weight * min(max(factor, 1 / MAX_AUX_FACTOR), MAX_AUX_FACTOR)
            rate = self.dropout[m] + tp.balance_rate * excess * tp.max_modality_dropout
            self.dropout[m] = min(max(rate, tp.modality_dropout), tp.max_modality_dropout)
        self.history.append({"aux": dict(self.aux), "dropout": dict(self.dropout)})

    def state_dict(self) -> dict[str, object]:
        return {"aux": self.aux, "dropout": self.dropout, "history": self.history,
                "smoothed": self.smoothed}

    def load_state_dict(self, state: dict[str, object]) -> None:
        self.aux, self.dropout = dict(state["aux"]), dict(state["dropout"])
        self.history, self.smoothed = list(state["history"]), dict(state["smoothed"])


def _excess(share: float, even: float, band: tuple[float, float] | None) -> float:
    """How far a share is from where the controller wants it, relative to the even share:
    from the even share itself, or from the nearest edge of `band` (0 inside it)."""
    if band is None:
        return (share - even) / even
    low, high = band
    return (share - high) / even if share > high else min(share - low, 0.0) / even


def in_band(shares: dict[str, float], band: tuple[float, float]) -> bool:
    """Every modality's share inside [low, high]."""
    return all(band[0] <= share <= band[1] for share in shares.values())


def target_band(share_range: tuple[float, float], margin: float, k: int) -> tuple[float, float]:
    """The criteria's share range (written for three modalities) rescaled to k, as the verdict
    rescales it, narrowed by the margin (rescaled alike) on each side."""
    if k == 1:  # one modality holds every share: nothing to balance
        return 0.0, 100.0
    scale = len(MODALITIES) / k
    low, high = (min(100.0, v * scale) for v in share_range)
    return low + margin * scale, high - margin * scale


def improves(loss: float, balanced: bool, best: dict[str, object], select_in_band: bool) -> bool:
    """Whether this epoch replaces the saved model: lower validation loss, and, when selection
    is in-band, an in-band epoch always beats an out-of-band one and never the reverse."""
    if not select_in_band:
        return loss < float(best["val_loss"])  # type: ignore[arg-type]
    best_balanced = bool(best.get("in_band", False))
    if balanced != best_balanced:
        return balanced
    return loss < float(best["val_loss"])  # type: ignore[arg-type]


def made_progress(loss: float, kept: bool, lowest_loss: float) -> bool:
    """Whether an epoch resets early stopping's patience: it was kept, or its validation loss
    is the lowest of any epoch so far. Early stopping asks whether training still improves;
    in-band selection asks which epoch to keep. An out-of-band epoch with a new lowest loss
    cannot be kept, but says training is still improving while the controller steers: on
    300 patients its pushes moved the validation loss by 0.3-0.5 between epochs, and counting
    such epochs as stale kept epoch 7 of runs whose loss fell until epoch 20. For selection
    by loss alone this is the plain rule (a kept epoch is one with the lowest loss)."""
    return kept or loss < lowest_loss


def on_plateau(stale_epochs: int, tp: TrainParams, balancing: bool) -> tuple[bool, bool]:
    """(stop, decay): stop after `patience` epochs without progress; before that, scale every
    learning rate by `lr_decay` after each `lr_patience` of them, as Keras' ReduceLROnPlateau
    beside EarlyStopping does. Neither while the closed loop has kept no in-band epoch: stopping
    or slowing down then would keep an unbalanced model."""
    if balancing or not stale_epochs:
        return False, False
    stop = bool(tp.patience) and stale_epochs >= tp.patience
    decay = not stop and tp.lr_decay < 1 and stale_epochs % tp.lr_patience == 0
    return stop, decay
