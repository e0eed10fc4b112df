"""What the stages print, and the one way figures are written for people.

Stages compute and return; the lines a user reads while a stage runs are drawn here, so wording
and number formats stay the same across validate, train, evaluate, promote and report.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cardiofusion.config import MODALITIES, MODALITY_LABELS, TrainParams
from cardiofusion.quoting import shown

if TYPE_CHECKING:  # only for annotations: printing never imports a stage
    from pathlib import Path

    from cardiofusion.data.table_checks import Problem
    from cardiofusion.evaluation.result import Evaluation, Interval
    from cardiofusion.serve.promote import Promotion


def interval(ci: Interval | Mapping[str, float], percent: bool = False) -> str:
    """'0.844-0.947', or '70.9-87.9%' for a proportion shown in percent."""
    low, high = (ci.low, ci.high) if hasattr(ci, "low") else (ci["low"], ci["high"])
    return f"{100 * low:.1f}-{100 * high:.1f}%" if percent else f"{low:.3f}-{high:.3f}"


def shares(
    values: Mapping[str, float], digits: int = 1, sep: str = " / ", labelled: bool = False
) -> str:
    """Contributions in modality order: '24.9 / 37.4 / 37.7 %' or, labelled,
    'ECG=24.9%, PCG=37.4%, Clinical=37.7%'."""
    present = [m for m in MODALITIES if m in values]
    if labelled:
        return ", ".join(f"{MODALITY_LABELS[m]}={values[m]:.{digits}f}%" for m in present)
    return sep.join(f"{values[m]:.{digits}f}" for m in present) + " %"


def percent(value: float, digits: int = 1) -> str:
    return f"{100 * value:.{digits}f}%"


# validate


def print_validation(report: Mapping[str, Any], problems: list[Problem], examples: int) -> None:
    """Rows kept and dropped, each reason with its first `examples` rows, and the findings
    about the table that are not row problems."""
    print(f"🔎 Validated {report['rows_in']} rows: kept {report['rows_kept']}, "
          f"dropped {report['rows_dropped']}")
    for reason, count in report["problems_by_reason"].items():
        of_reason = [p for p in problems if p.reason == reason]
        print(f"  {reason}: {count} in {len({p.line for p in of_reason})} rows")
        print("\n".join(f"    {p}" for p in of_reason[:examples]))
    for header in report["headers_that_look_like_values"]:
        print(f"  ⚠️  column header {shown(header)} looks like a value, not a name: was the "
              "header row shifted or a data row used as header? (it is treated as a clinical "
              "column)")
    for column in report["constant_clinical_columns"]:
        print(f"  ⚠️  clinical column {shown(column)} is constant: it carries no information")
    if report["rows_with_missing_clinical"]:
        print(f"  ⚠️  {report['rows_with_missing_clinical']} rows have missing clinical values "
              f"(imputed from the train split): {report['missing_clinical_values']}")
    complete, distinct = report["complete_clinical_rows"], report["distinct_clinical_vectors"]
    if complete and distinct < 0.5 * complete:
        print(f"  ⚠️  only {distinct} distinct clinical vectors among {complete} complete rows; "
              f"{report['rows_sharing_a_clinical_vector']} rows share theirs with another row: "
              "copies of imputed records teach the model nothing new")
    for column, pattern in report["label_leak_columns"].items():
        print(f"  ⚠️  column {shown(column)} separates the labels alone ({pattern}): a label leak, "
              "left out of the inputs. To use it anyway, list it in data.clinical_columns; to "
              "silence this, list it in data.ignore_columns")
    for column, pattern in report["label_leaks_kept"].items():
        print(f"  ⚠️  clinical column {shown(column)} separates the labels alone ({pattern}): kept "
              "because data.clinical_columns lists it, but the model may learn the bookkeeping "
              "instead of the heart")
    for column, distinct in report["free_text_columns"].items():
        print(f"  ⚠️  column {shown(column)} is free text ({distinct} distinct values), not a "
              "category: left out of the inputs (list it in data.ignore_columns to silence "
              "this)")
    kinds = report["clinical_column_kinds"]
    categorical = [c for c, kind in kinds.items() if kind == "categorical"]
    if categorical:
        print(f"  Text clinical columns, used as categories: {', '.join(categorical)}")
    print("  Modalities: " + ", ".join(
        f"{m} in {n} rows" for m, n in report["rows_with_modality"].items()))
    if len(report["modality_combinations"]) > 1:
        print("  Combinations: " + ", ".join(
            f"{name} {n:,}" for name, n in report["modality_combinations"].items()))
    for column, agreement in report["label_agreement"].items():
        print(f"  ⚠️  {column} disagrees with the target in {agreement['disagree']} of "
              f"{agreement['compared']} rows (excluded from the inputs):")
        for value, counts in agreement["table"].items():
            print(f"       {value}: " + ", ".join(f"{k} {n}" for k, n in counts.items()))


def print_shared_files(summary: Mapping[str, Any]) -> None:
    """How many rows share a file, and the groups the split keeps together."""
    if not summary["rows_sharing_a_file"]:
        return
    files = "; ".join(
        f"{column}: {f['distinct']} distinct files, "
        f"{f['shared_by_several_rows']} used by several rows"
        for column, f in summary["files"].items()
    )
    print(f"  🔗 {summary['rows_sharing_a_file']} rows share a file with another row ({files}); "
          f"kept together in {summary['groups']} groups, the largest {summary['largest_group']} "
          "rows: no file is in two splits")


def print_class_counts(class_counts: Mapping[str, Mapping[str, int]]) -> None:
    for name, counts in class_counts.items():
        print(f"   {name}: healthy {counts.get('0', 0)}, abnormal {counts.get('1', 0)}")


# train


def print_training_setup(
    device: str, tp: TrainParams, counts: list[int], autocast: object
) -> None:
    """Device, batch, class distribution and the balancing recipe, before the first epoch."""
    precision = str(autocast).removeprefix("torch.") if autocast else "float32"
    print(f"🖥️  Device: {device} ({precision}) | "
          f"Batch size: {tp.batch_size} | Epochs: {tp.epochs}")
    print(f"⚖️  Train class distribution: healthy {counts[0]} : abnormal {counts[1]}")
    if tp.sampler == "weighted":
        print(f"   Sampler weights: healthy {1 / counts[0]:.4f}, abnormal {1 / counts[1]:.4f}")
    print(f"   Balance: {tp.balance} | Auxiliary weight: "
          f"{tp.aux_weight if tp.balance != 'none' else 0} | LR multipliers: "
          + ", ".join(f"{m}={v:g}x" for m, v in tp.lr_multipliers.as_dict().items()))


def print_epoch(
    epoch: int, epochs: int, trained: Mapping[str, float], validated: Mapping[str, float],
    contributions: Mapping[str, float],
) -> None:
    print(f"\n📊 Epoch {epoch}/{epochs}")
    print(f"   Train Loss: {trained['loss']:.4f} | Train Acc: {trained['accuracy']:.2%}")
    print(f"   Val Loss: {validated['loss']:.4f} | Val Acc: {validated['accuracy']:.2%} | "
          f"Val Balanced Acc: {validated['balanced_accuracy']:.2%} | "
          f"Val AUROC: {validated['auroc']:.3f}")
    print(f"   Modality Contributions: {shares(contributions, labelled=True)}")


# evaluate


def print_evaluation(e: Evaluation) -> None:
    """The evaluation in plain console lines: metrics, contributions, diagnostics, verdict."""
    print(f"🧪 Test set: {e.test_patients} patients ({e.test_healthy} healthy, "
          f"{e.test_abnormal} abnormal) | model {e.model_id}")
    if e.calibration is not None:
        print(f"   Calibrated on validation ({e.calibration.method}, prior undone): "
              f"p = sigmoid(logit / {e.temperature:.3f} {e.logit_shift:+.3f})")
    for name, block in (("tuned on validation", e.tuned_threshold), ("fixed", e.fixed_threshold)):
        print(f"   Threshold {block.threshold:.3f} ({name}): Acc {block.accuracy:.1%} | "
              f"Balanced Acc {block.balanced_accuracy:.1%} "
              f"(95% CI {interval(block.balanced_accuracy_ci, percent=True)}) | "
              f"Sens {block.sensitivity:.1%} | Spec {block.specificity:.1%} | "
              f"PPV {block.precision:.1%} | NPV {block.npv:.1%} | F1 {block.f1:.3f}")
    print(f"   AUROC {e.auroc:.3f} (95% CI {interval(e.auroc_ci)}) | AUPRC {e.auprc:.3f} | "
          f"Brier {e.brier:.3f} | ECE {e.ece:.3f}")
    c = e.contributions
    for kind, methods in c.by_baseline.items():
        for method in ("ablation", "shapley"):
            used = kind == c.baseline and method == c.method
            print(f"   Modality Contributions ({method}, {kind} baseline): "
                  + shares(getattr(methods, method).as_dict(), labelled=True)
                  + ("   <- verdict" if used else ""))
    heads = "" if e.unimodal_heads_trained else " (heads not trained: signal unknown)"
    print(f"   Unimodal AUROC of the auxiliary heads{heads}:")
    words = {True: "label signal", False: "NO label signal (CI contains 0.5)", None: "unknown"}
    for m, u in e.unimodal.items():
        second = u.validation
        check = (f" | validation {second.auroc:.3f} (95% CI {interval(second.auroc_ci)})"
                 + (" <- the splits disagree" if second.label_signal != u.label_signal else "")
                 if second else "")
        print(f"      {MODALITY_LABELS[m]}: {u.auroc:.3f} (95% CI {interval(u.auroc_ci)}) "
              f"{words[u.label_signal]}{check}")
    vary = e.predictions_vary
    print(f"   Predictions vary: probability std {vary.probability_std:.3f}; moved by more "
          f"than {vary.swap_delta:g} when the modality is swapped with another patient's: "
          + ", ".join(f"{MODALITY_LABELS[m]} {v:.0%}" for m, v in vary.moved_fraction.items()))
    print_robustness(e)
    if e.share_scale != 1:
        print(f"   Share criteria rescaled by {e.share_scale:g} (written for three modalities; "
              f"{len(e.modalities)} in the data) to {e.share_range[0]:g}-"
              f"{e.share_range[1]:g}% per modality with label signal")
    marks = {"pass": "✅", "fail": "❌", "uncertain": "❔"}
    for name, outcome in e.checks.items():
        note = f" (exempt: {e.exempt[name]})" if name in e.exempt else ""
        read = f" [{e.evidence[name]}]" if outcome != "pass" and name in e.evidence else ""
        print(f"   {marks[outcome]} {name}{read}{note}")
    print(f"   Verdict: {e.verdict.upper()}")


def print_robustness(e: Evaluation) -> None:
    """AUROC with each subset of the modalities given, and on patients who truly lack one."""
    if len(e.robustness) > 1:
        print("   Robustness (test AUROC, 95% CI, with only these modalities given):")
        for row in e.robustness:
            names = " + ".join(MODALITY_LABELS[m] for m in row.modalities)
            print(f"      {names}: {row.auroc:.3f} ({interval(row.auroc_ci)}) | balanced acc "
                  f"{row.balanced_accuracy:.1%}")
    for row in e.absent:
        figures = (f"AUROC {row.auroc:.3f} ({interval(row.auroc_ci)})" if row.auroc is not None
                   else "AUROC not measurable (one class)")
        print(f"   Test patients without {MODALITY_LABELS[row.modality]}: {row.patients} "
              f"({row.healthy} healthy, {row.abnormal} abnormal), {figures}")


def print_crossval(summary: Mapping[str, Any]) -> None:
    """Pooled out-of-fold figures with intervals, shares over folds, and the verdict."""
    pooled = summary["pooled"]
    print(f"🔁 Cross-validation, {summary['folds']} folds: {summary['patients']} patients in "
          f"{summary['groups']} independent groups, each tested once")
    print("   Pooled out of fold: " + " | ".join(
        f"{name} {f['value']:.3f} ({f['low']:.3f}-{f['high']:.3f})" for name, f in pooled.items()))
    print("   Contributions over folds (mean, 95% CI): " + ", ".join(
        f"{MODALITY_LABELS[m]} {c['mean']:.1f}% ({c['low']:.1f}-{c['high']:.1f})"
        for m, c in summary["contributions"].items()))
    robustness = summary.get("robustness", {})
    if len(robustness) > 1:
        print("   Pooled AUROC with only these modalities given: " + " | ".join(
            f"{' + '.join(MODALITY_LABELS[m] for m in key.split('+'))} {f['value']:.3f} "
            f"({f['low']:.3f}-{f['high']:.3f})" for key, f in robustness.items()))
    for m, lacking in summary.get("absent", {}).items():
        auroc = lacking.get("auroc")
        shown = (f"AUROC {auroc['value']:.3f} ({auroc['low']:.3f}-{auroc['high']:.3f})"
                 if auroc else "AUROC not measurable (one class)")
        print(f"   Patients without {MODALITY_LABELS[m]}: {lacking['patients']}, {shown}")
    marks = {"pass": "✅", "fail": "❌", "uncertain": "❔"}
    for name, outcome in summary["checks"].items():
        read = f" [{summary['evidence'][name]}]" if outcome != "pass" else ""
        print(f"   {marks[outcome]} {name}{read}")
    print(f"   Verdict over the folds: {summary['verdict'].upper()}")


# promote


def print_promotion(promotion: Promotion, source: Path, temperature: float) -> None:
    """What was promoted, its registry version, and the served metrics old -> new."""
    for problem in promotion.forced_past:
        print(f"⚠️  --force: {problem}")
    print(f"✅ Promoted {source} (model {promotion.source_id}) → "
          f"{promotion.target} (model {promotion.target_id})")
    if promotion.version is not None:
        print(f"   Registered as {promotion.version}, stage {promotion.stage} "
              "(`gto show`; earlier versions stay registered for a rollback)")
    if promotion.old_metrics is None:
        print("   No model was promoted before")
    old, new = promotion.old_metrics or {}, promotion.new_metrics
    for key, label in (("auroc", "AUROC"), ("auprc", "AUPRC"),
                       ("balanced_accuracy", "Balanced accuracy")):
        print(f"   {label}: {_number(old.get(key))} → {_number(new.get(key))}")
    print(f"   Contributions: {_stored_shares(old.get('contributions'))} → "
          f"{_stored_shares(new.get('contributions'))}")
    print(f"   Verdict: {str(old.get('verdict', 'n/a')).upper()} → "
          f"{str(new.get('verdict', 'n/a')).upper()}")
    print(f"   Temperature: {temperature:g}")


def _number(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else "n/a"


def _stored_shares(contributions: Any) -> str:
    """'ECG/PCG/clinical 25/37/38 % (ablation)' from the contributions block a model file
    stores (files promoted by older versions may lack it or parts of it)."""
    if not isinstance(contributions, dict):
        return "n/a"
    method = contributions.get("method")
    values = contributions.get(method) if isinstance(method, str) else None
    present = [m for m in MODALITIES if isinstance(values, dict) and values.get(m) is not None]
    if not present:
        return "n/a"
    names = "/".join(MODALITY_LABELS[m] if m != "clinical" else m for m in present)
    return f"{names} {shares({m: values[m] for m in present}, digits=0, sep='/')} ({method})"
