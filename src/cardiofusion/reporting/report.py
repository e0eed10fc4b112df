"""Report stage: the seed's four-panel training figure, the evaluation and modality figures, and
`plots/report.md` tying them to the verdict, all drawn from the logged history, the metrics and
the plot data the earlier stages wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from cardiofusion.config import Params
from cardiofusion.errors import CardiofusionError
from cardiofusion.evaluation.result import Evaluation
from cardiofusion.files import atomic_path, write_text
from cardiofusion.paths import DEFAULT_PATHS, PipelinePaths
from cardiofusion.reporting.figures import (
    evaluation_figure,
    modality_figure,
    robustness_figure,
    training_history_figure,
)
from cardiofusion.reporting.markdown import report_markdown

RERUN = "first (or `dvc repro`)"


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
    evaluation = Evaluation.load(paths.eval_details, f"run the evaluate stage {RERUN}")
    training = _read_json(paths.train_details, f"run the train stage {RERUN}")
    validation = _read_json(paths.validation_details, f"run the validate stage {RERUN}")
    comparison = _comparison(params)
    figures = {
        paths.history_figure: training_history_figure(read_history(paths.live_dir), evaluation,
                                                      int(training["epoch"])),
        paths.evaluation_figure: evaluation_figure(
            evaluation, pd.read_csv(paths.roc), pd.read_csv(paths.precision_recall),
            pd.read_csv(paths.calibration)),
        paths.modality_figure: modality_figure(evaluation),
        paths.robustness_figure: robustness_figure(evaluation),
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
        "With fewer modalities: test AUROC of every subset, and of patients lacking one":
            paths.robustness_figure,
    }
    relative = {caption: path.relative_to(paths.report.parent) for caption, path in
                captions.items()}
    write_text(paths.report, report_markdown(evaluation, training, validation, params, relative,
                                             comparison))
    print(f"📝 Wrote {paths.report} (verdict {evaluation.verdict.upper()})")
    return paths.report


def _read_json(path: Path, remedy: str) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise CardiofusionError(f"{path}: missing; {remedy}") from None


def _comparison(params: Params) -> Evaluation | None:
    """The evaluation named by `report.compare_with` (reports/evaluation.json of another run)."""
    path = params.report.compare_with
    if path is None:
        return None
    if not Path(path).is_file():
        raise CardiofusionError(f"report.compare_with: {path} does not exist; save a run's "
                                "reports/evaluation.json there or set it to null")
    return Evaluation.load(path, "report.compare_with needs an evaluation written by "
                                 "`cardiofusion evaluate`: re-run evaluate for that model and "
                                 "save its reports/evaluation.json")
