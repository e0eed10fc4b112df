"""`cardiofusion promote`: make the retrained model the served one, only if its evaluation passed.

The evaluation must belong to this very file (its model id), so a model retrained after the last
`dvc repro` is never promoted on the strength of an older model's metrics. The promoted file is
the retrained payload plus the evaluation's temperature and test metrics, so the API can say
what it serves; the previous promoted file is kept as a timestamped backup.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cardiofusion.config import MODALITIES, Params
from cardiofusion.errors import CardiofusionError
from cardiofusion.files import atomic_path
from cardiofusion.model.checkpoint import load_payload, model_id, save_payload
from cardiofusion.paths import DEFAULT_PATHS, PipelinePaths

RERUN = "run `dvc repro` (or `cardiofusion evaluate`)"


@dataclass(frozen=True)
class Promotion:
    source_id: str
    target: Path
    backup: Path | None  # the previous promoted file, when there was one
    old_metrics: dict[str, Any] | None
    new_metrics: dict[str, Any]
    forced_past: list[str]  # the refusals --force overrode


def run_promote(
    params: Params, force: bool = False, paths: PipelinePaths = DEFAULT_PATHS
) -> Promotion:
    source, evaluation = paths.retrained_model, paths.eval_metrics
    target = Path(params.serve.model)
    if not source.is_file():
        raise CardiofusionError(f"{source}: no retrained model to promote; run `dvc repro`")
    if target.resolve() == source.resolve():
        raise CardiofusionError(f"serve.model is {source} itself; promote to another file, "
                                "e.g. models/best_multimodal_model.pth")
    report = _read_evaluation(evaluation)
    source_id = model_id(source)
    problems = _refusals(report, source_id, evaluation, source)
    if problems and not force:
        raise CardiofusionError(
            "not promoting:\n  " + "\n  ".join(problems)
            + "\n  (`cardiofusion promote --force` promotes anyway)"
        )
    payload = load_payload(source)
    new_metrics = _test_metrics(report or {})
    payload["temperature"] = _temperature(report or {}, evaluation)
    payload["info"] = {**payload["info"], "test_metrics": new_metrics,
                       "promoted_at": _utc_now().isoformat(timespec="seconds"),
                       "promoted_with_force": bool(problems)}
    old_metrics, backup = None, None
    if target.exists():
        old_metrics = _promoted_metrics(target)
        backup = _backup(target)
    save_payload(target, payload)
    promotion = Promotion(source_id, target, backup, old_metrics, new_metrics, problems)
    _print(promotion, source, payload["temperature"])
    return promotion


def _read_evaluation(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        report = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise CardiofusionError(f"{path}: not valid JSON ({exc}); {RERUN}") from None
    if not isinstance(report, dict):
        raise CardiofusionError(f"{path}: expected a JSON object; {RERUN}")
    return report


def _refusals(
    report: dict[str, Any] | None, source_id: str, evaluation: Path, source: Path
) -> list[str]:
    """Every reason not to promote; empty when the evaluation of this file passed."""
    if report is None:
        return [f"{evaluation}: no evaluation of {source}; {RERUN}"]
    problems = []
    evaluated = report.get("model_id")
    if evaluated is None:
        problems.append(f"{evaluation} does not name the model it evaluated (no model_id), so "
                        f"it cannot be confirmed to belong to {source}; {RERUN}")
    elif evaluated != source_id:
        problems.append(f"stale evaluation: {evaluation} is for model {evaluated}, {source} is "
                        f"model {source_id}; run `dvc repro`")
    verdict = report.get("verdict")
    if verdict != "pass":
        failed = [name for name, ok in (report.get("checks") or {}).items() if not ok]
        because = f" (failed checks: {', '.join(failed)})" if failed else ""
        problems.append(f"evaluation verdict is {verdict!r}, not 'pass'{because}")
    return problems


def _test_metrics(report: dict[str, Any]) -> dict[str, Any]:
    """What /health shows about the served model; None where the evaluation lacks a value."""
    return {
        "model_id": report.get("model_id"),  # of the evaluated file
        "verdict": report.get("verdict"),
        **{key: _number(report.get(key)) for key in ("auroc", "auprc", "balanced_accuracy")},
        "threshold": _number(report.get("threshold")),
        "contributions": report.get("contributions"),
    }


def _temperature(report: dict[str, Any], evaluation: Path) -> float:
    value = report.get("temperature", 1.0)
    if not isinstance(value, int | float) or isinstance(value, bool) or not value > 0:
        raise CardiofusionError(f"{evaluation}: temperature must be a positive number, got "
                                f"{value!r}; {RERUN}")
    return float(value)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _promoted_metrics(target: Path) -> dict[str, Any] | None:
    """The test metrics stored in the currently promoted file (None if it has none)."""
    try:
        info = load_payload(target).get("info", {})
    except CardiofusionError:
        return None  # unreadable: it is still backed up, its metrics are just unknown
    metrics = info.get("test_metrics") if isinstance(info, dict) else None
    return metrics if isinstance(metrics, dict) else None


def _backup(target: Path) -> Path:
    stamp = _utc_now().strftime("%Y%m%dT%H%M%SZ")
    backup = target.with_name(f"{target.stem}.{stamp}{target.suffix}")
    counter = 1
    while backup.exists():  # two promotions within one second
        backup = target.with_name(f"{target.stem}.{stamp}-{counter}{target.suffix}")
        counter += 1
    with atomic_path(backup) as tmp:
        shutil.copyfile(target, tmp)
    return backup


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _print(promotion: Promotion, source: Path, temperature: float) -> None:
    for problem in promotion.forced_past:
        print(f"⚠️  --force: {problem}")
    print(f"✅ Promoted {source} (model {promotion.source_id}) → "
          f"{promotion.target} (model {model_id(promotion.target)})")
    if promotion.backup is not None:
        print(f"   Previous model kept as {promotion.backup}")
    else:
        print("   No model was promoted before")
    old, new = promotion.old_metrics or {}, promotion.new_metrics
    for key, label in (("auroc", "AUROC"), ("auprc", "AUPRC"),
                       ("balanced_accuracy", "Balanced accuracy")):
        print(f"   {label}: {_shown(old.get(key))} → {_shown(new.get(key))}")
    print(f"   Contributions: {_shares(old.get('contributions'))} → "
          f"{_shares(new.get('contributions'))}")
    print(f"   Verdict: {str(old.get('verdict', 'n/a')).upper()} → "
          f"{str(new.get('verdict', 'n/a')).upper()}")
    print(f"   Temperature: {temperature:g}")


def _shown(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else "n/a"


def _shares(contributions: Any) -> str:
    """'ECG/PCG/clinical 25/37/38 % (ablation)' from an evaluation's contributions block."""
    if not isinstance(contributions, dict):
        return "n/a"
    method = contributions.get("method")
    shares = contributions.get(method) if isinstance(method, str) else None
    if not isinstance(shares, dict) or not all(m in shares for m in MODALITIES):
        return "n/a"
    return ("ECG/PCG/clinical " + "/".join(f"{float(shares[m]):.0f}" for m in MODALITIES)
            + f" % ({method})")
