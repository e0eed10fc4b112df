"""`plots/report.md`: the evaluation written out for a reader who did not run it.

What was trained on what, the verdict check by check, whether every modality helps (both
contribution methods, every baseline, the label-signal and swap diagnostics), how far the
predictions can be trusted (metrics at both thresholds with intervals, calibration), a
Before/After table, and the figures.
"""

from __future__ import annotations

from pathlib import Path

from cardiofusion.config import MODALITIES, MODALITY_LABELS, Params
from cardiofusion.console import interval, percent, shares
from cardiofusion.evaluation.result import Evaluation
from cardiofusion.evaluation.verdict import share_checks

ENCODERS = {"ecg": "a CNN on the ECG image", "pcg": "a CNN on the PCG log-mel spectrogram",
            "clinical": "an MLP on the clinical row"}


def report_markdown(
    evaluation: Evaluation,
    training: dict,
    validation: dict,
    params: Params,
    figures: dict[str, Path],
    comparison: Evaluation | None = None,
) -> str:
    """The whole report as Markdown; `figures` maps a caption to a path relative to the report."""
    sections = [
        _header(evaluation),
        _setup(evaluation, training, validation, params),
        _verdict(evaluation),
        _modalities(evaluation),
        _robustness(evaluation),
        _trust(evaluation),
        _risk_tiers(evaluation),
        _before_after(evaluation, params, comparison),
        _figures(figures),
    ]
    return "\n\n".join(sections) + "\n"


def _header(e: Evaluation) -> str:
    return (f"# cardiofusion evaluation report\n\n"
            f"**Verdict: {e.verdict.upper()}** for model `{e.model_id}` on the held-out "
            f"test split ({e.test_patients} patients: {e.test_healthy} healthy, "
            f"{e.test_abnormal} abnormal). Balanced accuracy {percent(e.balanced_accuracy)} "
            f"(95% CI {interval(e.balanced_accuracy_ci, percent=True)}), AUROC {e.auroc:.3f} "
            f"(95% CI {interval(e.auroc_ci)}); contributions {_names(e.modalities)} "
            + shares(e.contributions.used.as_dict())
            + f" ({e.contributions.method}, {e.contributions.baseline} baseline).")


def _setup(e: Evaluation, training: dict, validation: dict, params: Params) -> str:
    counts = validation.get("class_counts", {})
    splits = "; ".join(
        f"{name} {sum(c.values())} ({c.get('0', 0)} healthy, {c.get('1', 0)} abnormal)"
        for name, c in counts.items())
    tp = params.train
    recipe = (f"sampler `{tp.sampler}`, balance `{tp.balance}`"
              + (f" (auxiliary loss weight {tp.aux_weight:g})" if tp.balance != "none" else "")
              + ", learning-rate multipliers "
              + ", ".join(f"{MODALITY_LABELS[m]} {v:g}x"
                          for m, v in tp.lr_multipliers.as_dict().items()))
    calibrated = (f"the sampler's prior undone and {e.calibration.method} scaling fitted on "
                  f"validation (probability = sigmoid(logit / {e.temperature:.3f} "
                  f"{e.logit_shift:+.3f}))" if e.calibration else "no calibration")
    return "\n".join([
        "## What was trained, on what",
        "",
        f"- **Data**: `{params.data.csv}`: {validation.get('rows_in', '?')} rows read, "
        f"{validation.get('rows_kept', '?')} kept after validation. Patient-grouped, "
        f"label-stratified split: {splits}.",
        "- **Model**: one encoder per modality the dataset has ("
        + ", ".join(ENCODERS[m] for m in e.modalities) + "), each ending in an embedding; a "
        "fusion head on the embeddings; one auxiliary head per modality. A patient without a "
        "modality enters with the train-split mean embedding in its place.",
        f"- **Training**: {recipe}; best epoch {training.get('epoch', '?')} of "
        f"{training.get('epochs_run', '?')} run (early stopping on validation loss).",
        f"- **Decision threshold**: {e.threshold:.3f}, tuned on the validation split "
        f"(Youden's J); {calibrated}.",
    ])


def _verdict(e: Evaluation) -> str:
    lines = ["## Verdict, check by check", "",
             "| check | result | 95% interval read | note |", "|---|---|---|---|"]
    for name, outcome in e.checks.items():
        shown = outcome if outcome == "pass" else f"**{outcome.upper()}**"
        lines.append(f"| `{name}` | {shown} | {e.evidence.get(name, '')} | "
                     f"{e.exempt.get(name, '')} |")
    lines.append("")
    lines.append(f"Overall: **{e.verdict.upper()}**. Shares are judged with the "
                 f"`{e.contributions.method}` method and the "
                 f"`{e.contributions.baseline}` baseline; balanced accuracy at the tuned "
                 "threshold. A check passes or fails only when the 95% interval of its figure "
                 f"clears the threshold (intervals rest on {e.test_groups} independent test "
                 "groups); otherwise it is UNCERTAIN: more test data would decide it.")
    if e.share_scale != 1:
        why = (f"The dataset has {len(e.modalities)} of the three modalities"
               if len(e.modalities) != len(MODALITIES) else "Not every modality carries label "
               "signal")
        lines.append(f"{why}: the share thresholds (written for three) were rescaled by "
                     f"{e.share_scale:g} to an equal split among the modalities with label "
                     f"signal (range {e.share_range[0]:g}-{e.share_range[1]:g}%).")
    return "\n".join(lines)


def _modalities(e: Evaluation) -> str:
    c = e.contributions
    columns = [(kind, method) for kind in c.by_baseline for method in ("ablation", "shapley")]
    header = "| modality | " + " | ".join(
        f"{method}, {kind}" + (" *" if (kind, method) == (c.baseline, c.method) else "")
        for kind, method in columns) + " |"
    lines = ["## Does every modality help?", "",
             "Contribution of each modality, % of the total (\\* = used by the verdict):", "",
             header, "|---|" + "---|" * len(columns)]
    for m in e.modalities:
        lines.append(f"| {MODALITY_LABELS[m]} | " + " | ".join(
            f"{c.by_baseline[kind][method][m]:.1f}" for kind, method in columns) + " |")
    vary = e.predictions_vary
    lines += [
        "",
        "- *ablation*: mean over patients of |p(full) - p(without the modality)|; *shapley*: "
        f"mean |exact Shapley value| over the {2 ** len(e.modalities)} coalitions of the "
        f"{len(e.modalities)} modalities. Both are taken per patient (over the patients who "
        "have the modality) before averaging, so effects in opposite directions do not "
        "cancel.",
        "- \"Without the modality\" replaces its embedding by the train-split mean embedding "
        "(*mean*), another patient's embedding (*permute*), or the embedding of an all-zero "
        "input (*blank*, the input-level blanking of the system we replace).",
        "",
        "Diagnostics per modality:",
        "",
        "| modality | unimodal AUROC on test (95% CI) | label signal | validation AUROC "
        f"(95% CI) | predictions moved > {vary.swap_delta:g} when swapped |",
        "|---|---|---|---|---|",
    ]
    for m in e.modalities:
        u = e.unimodal[m]
        signal = {True: "yes", False: "**no** (CI contains 0.5)", None: "unknown"}[
            u.label_signal]
        second = u.validation
        check = f"{second.auroc:.3f} ({interval(second.auroc_ci)})" if second else "n/a"
        lines.append(f"| {MODALITY_LABELS[m]} | {u.auroc:.3f} ({interval(u.auroc_ci)}) | "
                     f"{signal} | {check} | {percent(vary.moved_fraction[m], 0)} |")
    lines += ["", _signal_note(e), "",
              f"Predictions vary: the standard deviation of the predicted probability over the "
              f"test set is {vary.probability_std:.3f}; the last column is the share of "
              "patients whose probability moves by more than "
              f"{vary.swap_delta:g} when that modality alone is swapped with another "
              "patient's."]
    return "\n".join(lines)


def _signal_note(e: Evaluation) -> str:
    if not e.unimodal_heads_trained:
        return ("The auxiliary heads were not trained in this run (`train.balance: none`), so "
                "their AUROC says nothing about the data: no modality is exempted.")
    unimodal = e.unimodal
    silent = [MODALITY_LABELS[m] for m in e.modalities if unimodal[m].label_signal is False]
    carry = "carries" if len(silent) == 1 else "carry"
    note = (f"{', '.join(silent)} {carry} no detectable label signal on this data (test "
            "interval contains 0.5): a low contribution is then correct, and the verdict "
            "does not fail it for that." if silent else
            "Every modality carries label signal on its own (its test interval excludes 0.5), "
            "so each is expected to contribute.")
    disputed = [MODALITY_LABELS[m] for m in e.modalities if unimodal[m].validation is not None
                and unimodal[m].validation.label_signal != unimodal[m].label_signal]
    if disputed:
        note += (f" The validation split disagrees for {', '.join(disputed)}: with few healthy "
                 "patients a noise modality clears (or a weak one misses) the 95% bar on one "
                 "split in about 1 run of 20, so treat that modality's verdict as uncertain.")
    return note


def _trust(e: Evaluation) -> str:
    tuned, fixed = e.tuned_threshold, e.fixed_threshold
    rows = [("accuracy", "accuracy"), ("balanced accuracy", "balanced_accuracy"),
            ("sensitivity (abnormal found)", "sensitivity"),
            ("specificity (healthy cleared)", "specificity"),
            ("PPV (abnormal calls that are right)", "precision"),
            ("NPV (healthy calls that are right)", "npv")]
    lines = ["## Can I trust the predictions?", "",
             f"| metric | threshold {tuned.threshold:.3f} (tuned) | "
             f"threshold {fixed.threshold:.3f} (fixed) |", "|---|---|---|"]
    for name, key in rows:
        cells = []
        for block in (tuned, fixed):
            cell = percent(getattr(block, key))
            if key == "balanced_accuracy":
                cell += f" (95% CI {interval(block.balanced_accuracy_ci, percent=True)})"
            cells.append(cell)
        lines.append(f"| {name} | {cells[0]} | {cells[1]} |")
    lines.append(f"| F1 | {tuned.f1:.3f} | {fixed.f1:.3f} |")
    lines.append("| confusion [[TN, FP], [FN, TP]] | "
                 f"{tuned.confusion_matrix} | {fixed.confusion_matrix} |")
    prevalence = e.test_abnormal / e.test_patients
    lines += [
        "",
        f"Threshold-free: AUROC {e.auroc:.3f} (95% CI {interval(e.auroc_ci)}), AUPRC "
        f"{e.auprc:.3f} (chance level = the abnormal share, {prevalence:.3f}), Brier score "
        f"{e.brier:.3f}, expected calibration error {e.ece:.3f}.",
        "",
        _interval_basis(e),
        f"- The mean predicted probability of abnormal is "
        f"{e.predictions_vary.probability_mean:.3f} against an abnormal share of "
        f"{prevalence:.3f}: "
        + ("the probabilities understate the abnormal rate (class-balanced training aims at a "
           "50:50 prior). The threshold tuned on validation corrects the decisions, not the "
           "probabilities; read them as scores, not as calibrated risks (see the calibration "
           "curve)." if e.predictions_vary.probability_mean < prevalence - 0.05 else
           "see the calibration curve for how far probabilities can be read as risks."),
    ]
    if e.calibration:
        cal = e.calibration
        lines.append(
            f"- Calibration: the sampler trains for a 50:50 prior, so every logit is first "
            f"moved by {cal.prior_shift:+.3f} to the data's prior; then {cal.method} scaling "
            f"was kept (validation log-loss {cal.val_nll_before:.3f} uncalibrated, "
            f"{cal.val_nll_temperature:.3f} with temperature, {cal.val_nll_platt:.3f} with "
            f"Platt). On test: Brier {cal.brier_before:.3f} -> {e.brier:.3f}, ECE "
            f"{cal.ece_before:.3f} -> {e.ece:.3f}. Decisions at the tuned threshold are "
            "unchanged.")
    return "\n".join(lines)


def _risk_tiers(e: Evaluation) -> str:
    """Each tier's observed abnormal rate on validation (what the API shows) and on test."""
    lines = ["## Risk tiers and what was observed in them", "",
             "The advice of each tier follows from the abnormal rate observed in it on "
             "validation (95% Wilson interval over independent groups); test is the check.", "",
             "| tier | probability | validation: abnormal / patients (rate, 95% CI) | "
             "test: abnormal / patients | advice |", "|---|---|---|---|---|"]
    for val, test in zip(e.risk_tiers, e.risk_tiers_test, strict=True):
        observed = ("none" if val.observed_rate is None else
                    f"{val.abnormal} / {val.patients} ({val.observed_rate:.0%}, "
                    f"{val.rate_low:.0%}-{val.rate_high:.0%})")
        lines.append(f"| {val.name} | {val.low:g}-{val.high:g} | {observed} | "
                     f"{test.abnormal} / {test.patients} | {val.recommendation} |")
    return "\n".join(lines)


def _interval_basis(e: Evaluation) -> str:
    """What the intervals rest on: patients, or the fewer independent groups they form."""
    if e.test_groups == e.test_patients:
        return (f"- Intervals are percentile bootstrap intervals ({e.test_healthy} healthy and "
                f"{e.test_abnormal} abnormal patients resampled separately). With "
                f"{e.test_healthy} healthy test patients, differences of a few points between "
                "runs are within noise.")
    return (f"- Intervals are cluster-bootstrap intervals: the {e.test_patients} test patients "
            f"form only {e.test_groups} independent groups (rows sharing a patient or a file), "
            "and whole groups are resampled, healthy and abnormal groups separately. They rest "
            f"on {e.test_groups} pieces of evidence, not {e.test_patients}.")


def _before_after(e: Evaluation, params: Params, comparison: Evaluation | None) -> str:
    before = params.report.replaced_shares.as_dict()
    columns = [("system we replace", None)]
    if comparison is not None:
        columns.append((params.report.compare_label, comparison))
    columns.append(("this run", e))
    lines = ["## Before / after", "",
             "| | " + " | ".join(name for name, _ in columns) + " |",
             "|---|" + "---|" * len(columns)]

    def row(name: str, value) -> None:
        lines.append(f"| {name} | " + " | ".join(value(r) for _, r in columns) + " |")

    row(f"contributions {_names(e.modalities)}",
        lambda r: shares(before) if r is None else
        shares(r.contributions.used.as_dict())
        + f" ({r.contributions.method})")
    row("contributions (exact Shapley)",
        lambda r: "not measured" if r is None else shares(r.contributions.shapley.as_dict()))
    row("balanced accuracy (tuned threshold)",
        lambda r: "not reported" if r is None else percent(r.balanced_accuracy))
    row("AUROC", lambda r: "not reported" if r is None else f"{r.auroc:.3f}")
    replaced = share_checks(before, None, params.criteria)
    row("verdict", lambda r: r.verdict.upper() if r else
        f"{replaced.outcome.upper()} (contribution checks)")
    lines += ["", "The system we replace measured contributions as |mean(p_full) - "
              "mean(p_without)| per batch, where opposite effects cancel; its figures are "
              "shown as it reported them (`report.replaced_shares`)."]
    return "\n".join(lines)


def _robustness(e: Evaluation) -> str:
    lines = ["## With fewer modalities", "",
             "Test AUROC and balanced accuracy (tuned threshold) with only these modalities "
             "given; a withheld modality enters as the train-split mean embedding, exactly as "
             "an absent one does when the model is served.", "",
             "| modalities given | AUROC (95% CI) | balanced accuracy (95% CI) |", "|---|---|---|"]
    for row in e.robustness:
        lines.append(f"| {_names(row.modalities, ' + ')} | {row.auroc:.3f} "
                     f"({interval(row.auroc_ci)}) | {percent(row.balanced_accuracy)} "
                     f"({interval(row.balanced_accuracy_ci, percent=True)}) |")
    if e.absent:
        lines += ["", "Test patients who truly lack a modality (the model as served to them):",
                  "", "| lacking | patients (healthy / abnormal) | AUROC (95% CI) |",
                  "|---|---|---|"]
        for row in e.absent:
            figure = (f"{row.auroc:.3f} ({interval(row.auroc_ci)})" if row.auroc is not None
                      else "n/a (one class)")
            lines.append(f"| {MODALITY_LABELS[row.modality]} | {row.patients} ({row.healthy} / "
                         f"{row.abnormal}) | {figure} |")
    return "\n".join(lines)


def _names(modalities: list[str], separator: str = " / ") -> str:
    return separator.join(MODALITY_LABELS[m] for m in modalities)


def _figures(figures: dict[str, Path]) -> str:
    lines = ["## Figures"]
    for caption, path in figures.items():
        lines += ["", f"**{caption}**", "", f"![{caption}]({path.as_posix()})"]
    return "\n".join(lines)
