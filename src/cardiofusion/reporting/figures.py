"""The report's figures: the seed's four-panel training history; the evaluation page (ROC,
precision-recall, calibration, confusion matrix); the modality page (contributions by method and
baseline, label signal, swap test).

They are drawn from the same history, plot data and metrics `dvc plots` reads, so the PNGs and
the HTML plots cannot disagree.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from cardiofusion.config import MODALITY_LABELS
from cardiofusion.console import interval
from cardiofusion.evaluation.result import (
    Contributions,
    Evaluation,
    LabelSignal,
    PredictionsVary,
    ThresholdMetrics,
)

COLORS = {"ecg": "#d62728", "pcg": "#1f77b4", "clinical": "#2ca02c"}
OPERATING_POINTS = (("tuned_threshold", "tuned on validation", "o", "#d62728"),
                    ("fixed_threshold", "fixed", "s", "#7f7f7f"))


def training_history_figure(
    history: pd.DataFrame, evaluation: Evaluation, best_epoch: int
) -> Figure:
    """Loss, accuracy, contributions over epochs (with the 33.3% line), final contributions."""
    modalities = evaluation.modalities
    figure = Figure(figsize=(13, 9), layout="constrained")
    axes = figure.subplots(2, 2)
    epochs = history.index
    contributions = evaluation.contributions
    target = _target_label(evaluation)
    low, high = evaluation.share_range

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
    for m in modalities:
        over_time.plot(epochs, history[f"contributions/{m}"], "o-", color=COLORS[m],
                       label=MODALITY_LABELS[m])
    even = 100 / len(modalities)
    over_time.axhline(even, color="gray", linestyle="--", label=f"Balanced ({even:.1f}%)")
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
    figure.suptitle(f"cardiofusion training history (model {evaluation.model_id})",
                    fontsize=14)
    return figure


def _target_label(evaluation: Evaluation) -> str:
    """The criteria's share range; rescaled when some modality carries no label signal."""
    low, high = evaluation.share_range
    if evaluation.share_scale == 1:
        return f"Target range ({low:g}-{high:g}%)"
    return f"Target range, modalities with signal ({low:g}-{high:g}%)"


def _final_contributions(
    axis, contributions: Contributions, share_range: tuple[float, float], target: str
) -> None:
    """Both methods side by side for the verdict's baseline; the verdict's method is solid."""
    modalities = list(contributions.used.as_dict())
    low, high = share_range
    axis.axhspan(low, high, color="#2ca02c", alpha=0.08, label=target)
    positions = np.arange(len(modalities))
    width = 0.38
    for offset, method in ((-width / 2, "ablation"), (width / 2, "shapley")):
        used = method == contributions.method
        values = getattr(contributions, method)
        drawn = axis.bar(positions + offset, [values[m] for m in modalities], width=width,
                         color=[COLORS[m] for m in modalities],
                         alpha=1.0 if used else 0.45, hatch=None if used else "//",
                         edgecolor="white" if used else "black", linewidth=0.5,
                         label=f"{method}{' (verdict)' if used else ''}")
        axis.bar_label(drawn, fmt="%.1f%%", fontsize=9)
    even = 100 / len(modalities)
    axis.axhline(even, color="gray", linestyle="--", label=f"Balanced ({even:.1f}%)")
    axis.set(xticks=positions, xticklabels=[MODALITY_LABELS[m] for m in modalities],
             title=f"Final modality contributions on test ({contributions.baseline} baseline)",
             ylabel="Contribution (%)", ylim=(0, 100))


def evaluation_figure(
    evaluation: Evaluation, roc: pd.DataFrame, pr: pd.DataFrame, calibration: pd.DataFrame
) -> Figure:
    """ROC, precision-recall, calibration curve and confusion matrix on the test split."""
    figure = Figure(figsize=(13, 11), layout="constrained")
    (roc_axis, pr_axis), (calibration_axis, confusion_axis) = figure.subplots(2, 2)
    _roc(roc_axis, evaluation, roc)
    _precision_recall(pr_axis, evaluation, pr)
    _calibration(calibration_axis, evaluation, calibration)
    _confusion(confusion_axis, evaluation.tuned_threshold)
    figure.suptitle(
        f"Test-set evaluation: {evaluation.test_patients} patients "
        f"({evaluation.test_healthy} healthy, {evaluation.test_abnormal} abnormal), "
        f"model {evaluation.model_id}", fontsize=14)
    return figure


def _roc(axis, evaluation: Evaluation, roc: pd.DataFrame) -> None:
    ci = evaluation.auroc_ci
    axis.plot(roc["fpr"], roc["tpr"], color="#1f77b4", linewidth=2,
              label=f"Model: AUROC {evaluation.auroc:.3f} "
                    f"(95% CI {interval(ci)})")
    axis.plot([0, 1], [0, 1], color="gray", linestyle="--", label="Chance (AUROC 0.5)")
    for key, name, marker, color in OPERATING_POINTS:
        block = getattr(evaluation, key)
        axis.plot(1 - block.specificity, block.sensitivity, marker, color=color,
                  markersize=9, label=f"Threshold {block.threshold:.3f} ({name})")
    axis.set(title="ROC curve", xlabel="False positive rate (1 - specificity)",
             ylabel="True positive rate (sensitivity)", xlim=(-0.01, 1.01), ylim=(-0.01, 1.01),
             aspect="equal")
    axis.legend(loc="lower right", fontsize=9)
    axis.grid(alpha=0.3)


def _precision_recall(axis, evaluation: Evaluation, pr: pd.DataFrame) -> None:
    prevalence = evaluation.test_abnormal / evaluation.test_patients
    axis.step(pr["recall"], pr["precision"], where="post", color="#1f77b4", linewidth=2,
              label=f"Model: AUPRC {evaluation.auprc:.3f}")
    axis.axhline(prevalence, color="gray", linestyle="--",
                 label=f"Chance (abnormal share {prevalence:.1%})")
    for key, name, marker, color in OPERATING_POINTS:
        block = getattr(evaluation, key)
        axis.plot(block.sensitivity, block.precision, marker, color=color, markersize=9,
                  label=f"Threshold {block.threshold:.3f} ({name})")
    bottom = max(0.0, np.floor((min(prevalence, pr["precision"].min()) - 0.05) * 20) / 20)
    axis.set(title="Precision-recall curve (abnormal = positive class)",
             xlabel="Recall (sensitivity)", ylabel="Precision (positive predictive value)",
             xlim=(-0.01, 1.01), ylim=(bottom, 1.005))
    if bottom > 0:
        axis.annotate(f"y axis starts at {bottom:.2f}", (0.01, 0.01), xycoords="axes fraction",
                      fontsize=8, color="gray")
    axis.legend(loc="lower left", fontsize=9, bbox_to_anchor=(0, 0.04))
    axis.grid(alpha=0.3)


def _calibration(axis, evaluation: Evaluation, table: pd.DataFrame) -> None:
    width = float((table["bin_high"] - table["bin_low"]).iloc[0])
    counts = axis.twinx()
    counts.bar(table["bin_low"] + width / 2, table["count"], width=width * 0.9, color="#bbbbbb",
               alpha=0.5, label="Patients per bin (right axis)")
    counts.set_ylabel("Patients per bin")
    counts.set_ylim(0, table["count"].max() * 3)  # bars stay in the lower third
    axis.set_zorder(counts.get_zorder() + 1)
    axis.patch.set_visible(False)
    axis.plot([0, 1], [0, 1], color="gray", linestyle="--", label="Perfectly calibrated")
    axis.plot(table["mean_predicted"], table["observed"], "o-", color="#1f77b4", linewidth=2,
              label="Model (one point per bin)")
    scaled = f", {evaluation.calibration.method} scaling" if evaluation.calibration else ""
    axis.set(title=f"Calibration: ECE {evaluation.ece:.3f}, Brier {evaluation.brier:.3f} "
                   f"({round(1 / width)} bins{scaled})",
             xlabel="Mean predicted probability of abnormal",
             ylabel="Observed share of abnormal patients", xlim=(-0.01, 1.01),
             ylim=(-0.01, 1.01))
    handles = axis.get_legend_handles_labels()
    extra = counts.get_legend_handles_labels()
    axis.legend(handles[0] + extra[0], handles[1] + extra[1], loc="upper center",
                bbox_to_anchor=(0.5, -0.1), ncol=3, fontsize=9)  # below: never over the data
    axis.grid(alpha=0.3)


def _confusion(axis, block: ThresholdMetrics) -> None:
    matrix = np.array(block.confusion_matrix)
    shares = matrix / matrix.sum(axis=1, keepdims=True)
    axis.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    names = ["healthy", "abnormal"]
    for row in range(2):
        for column in range(2):
            axis.text(column, row, f"{matrix[row, column]}\n({shares[row, column]:.1%} of row)",
                      ha="center", va="center", fontsize=13,
                      color="white" if shares[row, column] > 0.6 else "black")
    axis.set(xticks=[0, 1], yticks=[0, 1], xticklabels=names, yticklabels=names,
             xlabel="Predicted", ylabel="Actual",
             title=f"Confusion matrix at threshold {block.threshold:.3f} (tuned on validation)"
                   f"\nsensitivity {block.sensitivity:.1%}, specificity "
                   f"{block.specificity:.1%}, PPV {block.precision:.1%}, NPV {block.npv:.1%}")


def modality_figure(evaluation: Evaluation) -> Figure:
    """Does every modality help: contributions (both methods, all baselines), the label
    signal of each modality on its own, and how many predictions move when it is swapped."""
    modalities = evaluation.modalities
    figure = Figure(figsize=(17, 5.8), layout="constrained")
    shares_axis, signal_axis, swap_axis = figure.subplots(
        1, 3, gridspec_kw={"width_ratios": [1.3, 1, 1]})
    silent = [m for m in modalities if evaluation.unimodal[m].label_signal is False]
    _contribution_grid(shares_axis, evaluation.contributions, evaluation.share_range,
                       silent)
    _label_signal(signal_axis, evaluation)
    _swap(swap_axis, evaluation.predictions_vary)
    figure.suptitle(f"Does every modality help? Test split, model {evaluation.model_id}",
                    fontsize=14)
    return figure


def _contribution_grid(
    axis, contributions: Contributions, share_range: list[float], silent: list[str]
) -> None:
    """Every (method, baseline) pair: green in range, red outside, grey below the range for a
    modality without label signal (exempt, as in the verdict)."""
    modalities = list(contributions.used.as_dict())
    low, high = share_range
    rows = [(kind, method) for kind in contributions.by_baseline
            for method in ("ablation", "shapley")]
    values = np.array([[contributions.by_baseline[kind][method][m] for m in modalities]
                       for kind, method in rows])
    state = ((values >= low) & (values <= high)).astype(int)
    exempt = np.array([m in silent for m in modalities])[None, :] & (values < low)
    state[exempt] = 2
    axis.imshow(state, cmap=ListedColormap(["#f4b6b6", "#b7e1b0", "#dddddd"]), vmin=0, vmax=2,
                aspect="auto")
    for r, (kind, method) in enumerate(rows):
        used = kind == contributions.baseline and method == contributions.method
        for c in range(len(modalities)):
            axis.text(c, r, f"{values[r, c]:.1f}%", ha="center", va="center", fontsize=11,
                      fontweight="bold" if used else "normal")
    labels = [f"{method}, {kind}" + ("  (verdict)" if kind == contributions.baseline
                                     and method == contributions.method else "")
              for kind, method in rows]
    axis.set(xticks=range(len(modalities)), xticklabels=[MODALITY_LABELS[m] for m in modalities],
             yticks=range(len(rows)), yticklabels=labels,
             title=f"Contribution (%) by method and baseline\n"
                   f"green: within {low:g}-{high:g}%, red: outside"
                   + (", grey: low but no label signal" if silent else ""))
    axis.set_ylabel("Method, baseline for \"without the modality\"")


def _label_signal(axis, evaluation: Evaluation) -> None:
    unimodal = evaluation.unimodal
    modalities = evaluation.modalities
    positions = np.arange(len(modalities))
    for i, m in enumerate(modalities):
        u = unimodal[m]
        _auroc_bar(axis, i - 0.12, u, COLORS[m], hollow=False)
        verdict = {True: "signal", False: "no signal", None: "unknown"}[u.label_signal]
        axis.annotate(f"{u.auroc:.3f}\n{verdict}", (i - 0.12, u.auroc_ci.high),
                      textcoords="offset points", xytext=(0, 6), ha="center", fontsize=10)
        if u.validation is not None:
            _auroc_bar(axis, i + 0.12, u.validation, COLORS[m], hollow=True)
    axis.axhline(0.5, color="gray", linestyle="--", label="Chance (0.5)")
    axis.plot([], [], "o", color="black", label="Test split (decides the verdict)")
    axis.plot([], [], "s", color="black", markerfacecolor="white", alpha=0.7,
              label="Validation split (second opinion)")
    trained = ("" if evaluation.unimodal_heads_trained
               else "\n(heads not trained: signal untested)")
    axis.set(xticks=positions, xticklabels=[MODALITY_LABELS[m] for m in modalities],
             ylim=(0.0, 1.1),
             xlim=(-0.6, len(modalities) - 0.4), ylabel="AUROC of the modality's own head",
             title=f"Label signal: unimodal AUROC with 95% CI{trained}")
    axis.legend(loc="lower right", fontsize=9)
    axis.grid(alpha=0.3, axis="y")


def _auroc_bar(axis, x: float, u: LabelSignal, color: str, hollow: bool) -> None:
    """One AUROC with its interval: filled circle for test, hollow square for validation."""
    low, high = u.auroc_ci.low, u.auroc_ci.high
    axis.errorbar(x, u.auroc, yerr=[[u.auroc - low], [high - u.auroc]],
                  fmt="s" if hollow else "o", color=color,
                  markerfacecolor="white" if hollow else color, capsize=6, markersize=8,
                  linewidth=1.5 if hollow else 2, alpha=0.7 if hollow else 1.0)


def _swap(axis, vary: PredictionsVary) -> None:
    modalities = list(vary.moved_fraction)
    moved = [100 * vary.moved_fraction[m] for m in modalities]
    bars = axis.bar([MODALITY_LABELS[m] for m in modalities], moved,
                    color=[COLORS[m] for m in modalities])
    axis.bar_label(bars, fmt="%.0f%%")
    axis.set(ylim=(0, 105), ylabel="Patients whose prediction moved (%)",
             title=f"Swap test: patients whose probability moves\nby > {vary.swap_delta:g} "
                   "when the modality is swapped")
    axis.annotate(f"Each patient receives another patient's input\nfor that modality only. "
                  f"Probability std: {vary.probability_std:.3f}", (0.02, 0.97),
                  xycoords="axes fraction",
                  va="top", fontsize=9, color="#444444")
    axis.grid(alpha=0.3, axis="y")


def robustness_figure(evaluation: Evaluation) -> Figure:
    """Test AUROC with 95% CI for every subset of the modalities given (the rest withheld),
    and for the test patients who truly lack one."""
    rows = [(" + ".join(MODALITY_LABELS[m] for m in r.modalities), r.auroc, r.auroc_ci, "#1f77b4")
            for r in evaluation.robustness]
    rows += [(f"patients without {MODALITY_LABELS[r.modality]} (n={r.patients})", r.auroc,
              r.auroc_ci, "#ff7f0e") for r in evaluation.absent if r.auroc is not None]
    figure = Figure(figsize=(9, 1.2 + 0.45 * len(rows)), layout="constrained")
    axis = figure.subplots()
    for y, (_, auroc, ci, color) in enumerate(rows):
        axis.errorbar(auroc, y, xerr=[[auroc - ci.low], [ci.high - auroc]], fmt="o",
                      color=color, capsize=5)
        axis.annotate(f"{auroc:.3f}", (ci.high, y), textcoords="offset points", xytext=(6, -4),
                      fontsize=9)
    axis.axvline(0.5, color="gray", linestyle="--", label="Chance (0.5)")
    axis.set(yticks=range(len(rows)), yticklabels=[r[0] for r in rows], xlim=(0.0, 1.05),
             xlabel="Test AUROC (95% CI)",
             title="With fewer modalities: withheld from every test patient (blue), truly "
                   "absent (orange)")
    axis.invert_yaxis()
    axis.grid(alpha=0.3, axis="x")
    return figure
