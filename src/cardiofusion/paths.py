"""Every pipeline file location, in one place.

dvc.yaml declares the same files as stage outputs (a test keeps the two in step). Stages receive
a `PipelinePaths` instead of importing each other's constants, so a stage's imports stay its
own, and a test can point a whole pipeline at a temporary folder. `metrics/*.json` (DVC metrics)
hold the headline figures only; the full records beside them are plain JSON under `reports/`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PipelinePaths:
    """The files stages hand to each other, under `root` (the project folder DVC runs in)."""

    root: Path = Path(".")

    # validate
    @property
    def manifest(self) -> Path:
        return self.root / "data/validated/manifest.csv"

    @property
    def validation_metrics(self) -> Path:
        return self.root / "metrics/validation.json"

    @property
    def validation_details(self) -> Path:
        return self.root / "reports/validation.json"

    # featurize
    @property
    def features(self) -> Path:
        return self.root / "data/features"

    # train
    @property
    def retrained_model(self) -> Path:
        return self.root / "models/best_multimodal_model_retrained.pth"

    @property
    def training_state(self) -> Path:
        return self.root / "models/training_state.pth"

    @property
    def train_metrics(self) -> Path:
        return self.root / "metrics/train.json"

    @property
    def train_details(self) -> Path:
        return self.root / "reports/training.json"

    @property
    def live_dir(self) -> Path:
        return self.root / "dvclive/train"

    # evaluate
    @property
    def eval_metrics(self) -> Path:
        return self.root / "metrics/eval.json"

    @property
    def eval_details(self) -> Path:
        return self.root / "reports/evaluation.json"

    @property
    def plot_data(self) -> Path:
        return self.root / "plots/data"

    @property
    def predictions(self) -> Path:
        return self.plot_data / "test_predictions.csv"

    @property
    def roc(self) -> Path:
        return self.plot_data / "roc.csv"

    @property
    def precision_recall(self) -> Path:
        return self.plot_data / "pr.csv"

    @property
    def calibration(self) -> Path:
        return self.plot_data / "calibration.csv"

    @property
    def contributions(self) -> Path:
        return self.plot_data / "contributions.csv"

    # crossval
    @property
    def crossval_metrics(self) -> Path:
        return self.root / "metrics/crossval.json"

    @property
    def crossval_details(self) -> Path:
        return self.root / "reports/crossval.json"

    @property
    def crossval_dir(self) -> Path:
        return self.root / "data/crossval"

    # report
    @property
    def history_figure(self) -> Path:
        return self.root / "plots/training_history.png"

    @property
    def evaluation_figure(self) -> Path:
        return self.root / "plots/evaluation.png"

    @property
    def modality_figure(self) -> Path:
        return self.root / "plots/modalities.png"

    @property
    def robustness_figure(self) -> Path:
        return self.root / "plots/robustness.png"

    @property
    def report(self) -> Path:
        return self.root / "plots/report.md"


DEFAULT_PATHS = PipelinePaths()  # relative to the folder a stage runs in, as dvc.yaml runs them
