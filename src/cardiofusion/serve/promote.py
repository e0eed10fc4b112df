"""`cardiofusion promote`: make the retrained model the served one, only if its evaluation passed.

The evaluation must belong to this very file (its model id), so a model retrained after the last
`dvc repro` is never promoted on the strength of an older model's metrics. The promoted file is
the retrained payload plus the evaluation's temperature and test metrics, so the API can say
what it serves. With a `stage`, the committed model is also registered with GTO (a version tag)
and assigned that stage: earlier versions stay in the registry, which is how to roll back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cardiofusion.config import Params
from cardiofusion.console import print_promotion
from cardiofusion.errors import CardiofusionError
from cardiofusion.evaluation.result import EvaluationSummary
from cardiofusion.model.checkpoint import load_payload, model_id, save_payload
from cardiofusion.paths import DEFAULT_PATHS, PipelinePaths

RERUN = "run `dvc repro` (or `cardiofusion evaluate`)"


@dataclass(frozen=True)
class Promotion:
    source_id: str
    target: Path
    target_id: str
    version: str | None  # the registered version, when a stage was assigned
    stage: str | None
    old_metrics: dict[str, Any] | None
    new_metrics: dict[str, Any]
    forced_past: list[str]  # the refusals --force overrode


def run_promote(
    params: Params, force: bool = False, paths: PipelinePaths = DEFAULT_PATHS,
    stage: str | None = None,
) -> Promotion:
    """Gate, then (with `stage`) register the version and assign the stage, then write
    serve.model: all or nothing, so a registry refusal leaves the served model as it was."""
    source, evaluation = paths.retrained_model, paths.eval_details
    target = Path(params.serve.model)
    if not source.is_file():
        raise CardiofusionError(f"{source}: no retrained model to promote; run `dvc repro`")
    if target.resolve() == source.resolve():
        raise CardiofusionError(f"serve.model is {source} itself; promote to another file, "
                                "e.g. models/best_multimodal_model.pth")
    report = EvaluationSummary.load(evaluation, RERUN)
    source_id = model_id(source)
    problems = _refusals(report, source_id, evaluation, source)
    if problems and not force:
        raise CardiofusionError(
            "not promoting:\n  " + "\n  ".join(problems)
            + "\n  (`cardiofusion promote --force` promotes anyway)"
        )
    if stage:
        from cardiofusion.serve.registry import check_stage, head_commit

        check_stage(stage)
        commit = head_commit(paths.root, source)  # before anything is written
    payload = promoted_payload(source, report or EvaluationSummary(), problems)
    old_metrics = _promoted_metrics(target) if target.exists() else None
    version = None
    if stage:  # the registry first: if it refuses, the served model is unchanged
        from cardiofusion.serve.registry import register

        forced = f" (forced past: {'; '.join(problems)})" if problems else ""
        version = register(paths.root, commit, stage, f"promoted model {source_id}{forced}")
    save_payload(target, payload)
    promotion = Promotion(source_id, target, model_id(target), version, stage, old_metrics,
                          payload["info"]["test_metrics"], problems)
    print_promotion(promotion, source, payload["temperature"])
    return promotion


def promoted_payload(
    source: Path, report: EvaluationSummary, problems: list[str]
) -> dict[str, Any]:
    """The retrained payload plus the evaluation's calibration, measured risk tiers and test
    metrics (an empty
    summary when forced past a missing evaluation: no figures)."""
    payload = load_payload(source)
    payload["temperature"] = report.temperature
    payload["logit_shift"] = report.logit_shift
    payload["risk_tiers"] = report.risk_tiers  # observed rates: the API's tiers and advice
    payload["robustness"] = report.robustness  # what /predict says for each modality subset
    payload["info"] = {**payload["info"], "test_metrics": _test_metrics(report),
                       "promoted_at": _utc_now().isoformat(timespec="seconds"),
                       "promoted_with_force": bool(problems)}
    return payload


def _refusals(
    report: EvaluationSummary | None, source_id: str, evaluation: Path, source: Path
) -> list[str]:
    """Every reason not to promote; empty when the evaluation of this file passed."""
    if report is None:
        return [f"{evaluation}: no evaluation of {source}; {RERUN}"]
    problems = []
    evaluated = report.model_id
    if evaluated is None:
        problems.append(f"{evaluation} does not name the model it evaluated (no model_id), so "
                        f"it cannot be confirmed to belong to {source}; {RERUN}")
    elif evaluated != source_id:
        problems.append(f"stale evaluation: {evaluation} is for model {evaluated}, {source} is "
                        f"model {source_id}; run `dvc repro`")
    verdict = report.verdict
    if verdict != "pass":
        undecided = [name for name, outcome in report.checks.items() if outcome != "pass"]
        because = f" (checks not passed: {', '.join(undecided)})" if undecided else ""
        problems.append(f"evaluation verdict is {verdict!r}, not 'pass'{because}")
    return problems


def _test_metrics(report: EvaluationSummary) -> dict[str, Any]:
    """What /health shows about the served model; None where the evaluation lacks a value."""
    return report.model_dump(include={"model_id", "verdict", "auroc", "auprc",
                                      "balanced_accuracy", "threshold", "contributions"})


def _promoted_metrics(target: Path) -> dict[str, Any] | None:
    """The test metrics stored in the currently promoted file (None if it has none)."""
    try:
        info = load_payload(target).get("info", {})
    except CardiofusionError:
        return None  # unreadable: it is still backed up, its metrics are just unknown
    metrics = info.get("test_metrics") if isinstance(info, dict) else None
    return metrics if isinstance(metrics, dict) else None


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)
