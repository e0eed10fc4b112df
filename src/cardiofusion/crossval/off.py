"""The crossval stage when it is off (`crossval.folds: 0`, the default): its outputs written in
well under a second, without importing torch or reading the features (README: speed)."""

from __future__ import annotations

from cardiofusion.files import write_metrics
from cardiofusion.paths import DEFAULT_PATHS, PipelinePaths

HEADLINE = ["folds", "verdict", "pooled", "contributions"]  # metrics/crossval.json; the rest:
# reports/crossval.json


def write_crossval_off(paths: PipelinePaths = DEFAULT_PATHS) -> dict[str, object]:
    """The stage's outputs saying it is off, so DVC has them and the report can say so."""
    paths.crossval_dir.mkdir(parents=True, exist_ok=True)  # a DVC output, even when off
    summary: dict[str, object] = {"folds": 0, "note": "off (set crossval.folds, e.g. 5)"}
    write_metrics(paths.crossval_metrics, paths.crossval_details, summary, HEADLINE)
    print("⏭️  Cross-validation is off (crossval.folds: 0)")
    return summary
