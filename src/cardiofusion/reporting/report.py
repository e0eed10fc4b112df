"""Report stage: the seed's four-panel training figure, the evaluation and modality figures, and
`plots/report.md` tying them to the verdict, all drawn from the logged history, the metrics and
the plot data the earlier stages wrote."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from cardiofusion.config import MODALITIES, MODALITY_LABELS, Params
from cardiofusion.errors import CardiofusionError
from cardiofusion.files import atomic_path, write_text
from cardiofusion.paths import DEFAULT_PATHS, PipelinePaths
from cardiofusion.reporting.figures import COLORS, evaluation_figure, modality_figure
from cardiofusion.reporting.markdown import report_markdown


def read_history(live_dir: Path) -> pd.DataFrame:
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


def run_report(params: Params, paths: PipelinePaths = DEFAULT_PATHS) -> Path:
    evaluation = _read_json(paths.eval_metrics, "run the evaluate stage")
    training = _read_json(paths.train_metrics, "run the train stage")
    validation = _read_json(paths.validation_metrics, "run the validate stage")
    comparison = _comparison(params)
    figures = {
        paths.history_figure: training_history_figure(read_history(paths.live_dir), evaluation,
                                                int(training["epoch"])),
        paths.evaluation_figure: evaluation_figure(
            evaluation, pd.read_csv(paths.roc), pd.read_csv(paths.precision_recall),
            pd.read_csv(paths.calibration)),
        paths.modality_figure: modality_figure(evaluation),
    }
    for path, figure in figures.items():
        with atomic_path(path) as tmp:
            figure.savefig(tmp, dpi=110)
        print(f"🖼️  Wrote {path}")
    captions = {
        "Training history: loss, accuracy, contributions per epoch, final contributions":
            paths.history_figure,
        "Test-set evaluation: ROC, precision-recall, calibration, confusion matrix":
            paths.evaluation_figure,
        "Modalities: contributions by method and baseline, label signal, swap test":
            paths.modality_figure,
    }
    relative = {caption: path.relative_to(paths.report.parent) for caption, path in
                captions.items()}
    write_text(paths.report, report_markdown(evaluation, training, validation, params, relative,
                                            comparison))
    print(f"📝 Wrote {paths.report} (verdict {evaluation['verdict'].upper()})")
    return paths.report


def training_history_figure(
    history: pd.DataFrame, evaluation: dict, best_epoch: int
) -> Figure:
    """Loss, accuracy, contributions over epochs (with the 33.3% line), final contributions."""
    figure = Figure(figsize=(13, 9), layout="constrained")
    axes = figure.subplots(2, 2)
    epochs = history.index
    contributions = evaluation["contributions"]
    target = _target_label(evaluation)
    low, high = evaluation["share_range"]

    loss = axes[0, 0]
    loss.plot(epochs, history["train/loss"], "o-", label="Train (incl. auxiliary losses)")
    loss.plot(epochs, history["val/loss"], "s-", label="Validation (class-balanced BCE)")
    loss.set(title="Loss", xlabel="Epoch", ylabel="Binary cross-entropy")

    accuracy = axes[0, 1]
    accuracy.plot(epochs, 100 * history["train/accuracy"], "o-", label="Train accuracy")
    accuracy.plot(epochs, 100 * history["val/accuracy"], "s-", label="Validation accuracy")
    accuracy.plot(epochs, 100 * history["val/balanced_accuracy"], "^-",
                  label="Validation balanced accuracy")
    accuracy.set(title="Accuracy", xlabel="Epoch", ylabel="Accuracy (%)", ylim=(0, 102))

    over_time = axes[1, 0]
    over_time.axhspan(low, high, color="#2ca02c", alpha=0.08,
                      label=target)
    for m in MODALITIES:
        over_time.plot(epochs, history[f"contributions/{m}"], "o-", color=COLORS[m],
                       label=MODALITY_LABELS[m])
    over_time.axhline(100 / 3, color="gray", linestyle="--", label="Balanced (33.3%)")
    over_time.set(title="Modality contributions on validation, per epoch",
                  xlabel="Epoch", ylabel="Contribution (%)", ylim=(0, 100))

    for axis in (loss, accuracy, over_time):
        axis.axvline(best_epoch, color="black", linestyle=":", alpha=0.7,
                     label=f"Saved model (epoch {best_epoch})")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))

    bars = axes[1, 1]
    _final_contributions(bars, contributions, (low, high), target)

    for axis in axes.flat:
        axis.grid(alpha=0.3)
    for axis in (loss, accuracy):
        axis.legend(loc="best", fontsize=9)
    for axis in (over_time, bars):  # below the panel: curves and bars can reach any height
        axis.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3, fontsize=9)
    figure.suptitle(f"cardiofusion training history (model {evaluation['model_id']})",
                    fontsize=14)
    return figure


def _target_label(evaluation: dict) -> str:
    """The criteria's share range; rescaled when some modality carries no label signal."""
    low, high = evaluation["share_range"]
    if evaluation["share_scale"] == 1:
        return f"Target range ({low:g}-{high:g}%)"
    return f"Target range, modalities with signal ({low:g}-{high:g}%)"


def _final_contributions(
    axis, contributions: dict, share_range: tuple[float, float], target: str
) -> None:
    """Both methods side by side for the verdict's baseline; the verdict's method is solid."""
    low, high = share_range
    axis.axhspan(low, high, color="#2ca02c", alpha=0.08, label=target)
    positions = np.arange(len(MODALITIES))
    width = 0.38
    for offset, method in ((-width / 2, "ablation"), (width / 2, "shapley")):
        used = method == contributions["method"]
        drawn = axis.bar(positions + offset, [contributions[method][m] for m in MODALITIES],
                         width=width, color=[COLORS[m] for m in MODALITIES],
                         alpha=1.0 if used else 0.45, hatch=None if used else "//",
                         edgecolor="white" if used else "black", linewidth=0.5,
                         label=f"{method}{' (verdict)' if used else ''}")
        axis.bar_label(drawn, fmt="%.1f%%", fontsize=9)
    axis.axhline(100 / 3, color="gray", linestyle="--", label="Balanced (33.3%)")
    axis.set(xticks=positions, xticklabels=[MODALITY_LABELS[m] for m in MODALITIES],
             title=f"Final modality contributions on test ({contributions['baseline']} baseline)",
             ylabel="Contribution (%)", ylim=(0, 100))


def _read_json(path: Path, remedy: str) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise CardiofusionError(f"{path}: missing; {remedy} first (or `dvc repro`)") from None


def _comparison(params: Params) -> dict | None:
    """The evaluation named by `report.compare_with`, checked for the fields the table uses."""
    path = params.report.compare_with
    if path is None:
        return None
    if not Path(path).is_file():
        raise CardiofusionError(f"report.compare_with: {path} does not exist; save a run's "
                                "metrics/eval.json there or set it to null")
    try:
        other = json.loads(Path(path).read_text())
        contributions = other["contributions"]
        numbers = [contributions[key][m] for key in (contributions["method"], "shapley")
                   for m in MODALITIES] + [other["balanced_accuracy"], other["auroc"]]
        valid = other["verdict"] in ("pass", "fail") and all(
            isinstance(v, int | float) for v in numbers)
    except (json.JSONDecodeError, KeyError, TypeError):
        valid = False
    if not valid:
        raise CardiofusionError(
            f"report.compare_with: {path} is not an evaluation written by `cardiofusion "
            "evaluate` (contributions, balanced_accuracy, auroc, verdict); re-run evaluate "
            "for that model and save its metrics/eval.json")
    return other
