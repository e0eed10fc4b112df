"""Report stage: the seed's four-panel training figure, drawn from the logged history."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from cardiofusion.config import MODALITIES, Params
from cardiofusion.evaluate import METRICS_PATH as EVAL_METRICS_PATH
from cardiofusion.io import atomic_path
from cardiofusion.train import LIVE_DIR

HISTORY_FIGURE = Path("plots/training_history.png")
COLORS = {"ecg": "#d62728", "pcg": "#1f77b4", "clinical": "#2ca02c"}
LABELS = {"ecg": "ECG", "pcg": "PCG", "clinical": "Clinical"}


def read_history(live_dir: Path = LIVE_DIR) -> pd.DataFrame:
    """Per-epoch metrics logged by DVCLive, one column per metric (e.g. `val/loss`)."""
    root = live_dir / "plots" / "metrics"
    columns = {}
    for tsv in sorted(root.rglob("*.tsv")):
        name = tsv.relative_to(root).with_suffix("").as_posix()
        frame = pd.read_csv(tsv, sep="\t")
        columns[name] = frame.set_index("step")[frame.columns[-1]]
    history = pd.DataFrame(columns)
    history.index = history.index + 1  # DVCLive counts steps from 0; epochs from 1
    return history


def run_report(params: Params) -> Path:
    history = read_history()
    evaluation = json.loads(EVAL_METRICS_PATH.read_text())
    method = evaluation["contributions"]["method"]
    final = evaluation["contributions"][method]
    figure = training_history_figure(history, final, method)
    with atomic_path(HISTORY_FIGURE) as tmp:
        figure.savefig(tmp, dpi=120)
    print(f"🖼️  Wrote {HISTORY_FIGURE}")
    return HISTORY_FIGURE


def training_history_figure(
    history: pd.DataFrame, final_shares: dict[str, float], method: str
) -> Figure:
    """Loss, accuracy, contributions over epochs (with the 33.3% line), final contributions."""
    figure = Figure(figsize=(13, 9), layout="tight")
    axes = figure.subplots(2, 2)
    epochs = history.index

    loss = axes[0, 0]
    loss.plot(epochs, history["train/loss"], "o-", label="Train (incl. auxiliary losses)")
    loss.plot(epochs, history["val/loss"], "s-", label="Validation (class-balanced BCE)")
    loss.set(title="Loss", xlabel="Epoch", ylabel="Loss")

    accuracy = axes[0, 1]
    accuracy.plot(epochs, 100 * history["train/accuracy"], "o-", label="Train accuracy")
    accuracy.plot(epochs, 100 * history["val/accuracy"], "s-", label="Validation accuracy")
    accuracy.plot(epochs, 100 * history["val/balanced_accuracy"], "^-",
                  label="Validation balanced accuracy")
    accuracy.set(title="Accuracy", xlabel="Epoch", ylabel="Accuracy (%)", ylim=(0, 102))

    over_time = axes[1, 0]
    for m in MODALITIES:
        over_time.plot(epochs, history[f"contributions/{m}"], "o-", color=COLORS[m],
                       label=LABELS[m])
    over_time.axhline(100 / 3, color="gray", linestyle="--", label="Balanced (33.3%)")
    over_time.set(title="Modality contributions on validation", xlabel="Epoch",
                  ylabel="Contribution (%)", ylim=(0, 100))

    bars = axes[1, 1]
    values = [final_shares[m] for m in MODALITIES]
    drawn = bars.bar([LABELS[m] for m in MODALITIES], values,
                     color=[COLORS[m] for m in MODALITIES])
    bars.bar_label(drawn, fmt="%.1f%%")
    bars.axhline(100 / 3, color="gray", linestyle="--", label="Balanced (33.3%)")
    bars.set(title=f"Final modality contributions on test ({method})",
             ylabel="Contribution (%)", ylim=(0, 100))

    for axis in axes.flat:
        axis.grid(alpha=0.3)
        if axis is not bars:
            axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.legend(loc="best", fontsize=9)
    figure.suptitle("cardiofusion training history", fontsize=14)
    return figure
