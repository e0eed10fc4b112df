"""Crossval stage: grouped, stratified k-fold cross-validation of the whole training recipe.

Each fold reuses the featurized arrays (linked, not copied) with its own split column, then runs
the train and evaluate stages unchanged in its own folder: early stopping, threshold and
calibration come from the fold's inner validation split, and the fold's test patients are seen
by nothing before evaluation. A finished fold is kept, so an interrupted run continues from the
last finished fold. `metrics/crossval.json` holds the pooled out-of-fold figures with
group-aware 95% intervals, each modality's share over folds, and the verdict over the folds;
`reports/crossval.json` adds every fold, unimodal AUROC and the checks.

The clinical standardization and imputation statistics come from featurize's train split, not
the fold's: they are label-free, and recomputing them per fold would mean featurizing k times.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from tqdm import tqdm

from cardiofusion.config import MODALITIES, Params
from cardiofusion.console import print_crossval
from cardiofusion.crossval.folds import fold_splits
from cardiofusion.crossval.off import HEADLINE, write_crossval_off
from cardiofusion.evaluation.bootstrap import (
    auroc_rows,
    balanced_accuracy_rows,
    bootstrap_interval,
    rate_rows,
)
from cardiofusion.evaluation.diagnostics import label_signal
from cardiofusion.evaluation.evaluate import run_evaluate
from cardiofusion.evaluation.verdict import judge
from cardiofusion.features.dataset import FeatureSet
from cardiofusion.files import write_json, write_metrics
from cardiofusion.paths import DEFAULT_PATHS, PipelinePaths
from cardiofusion.training.train import run_train

RATES = {  # name: (rows counted, rows among them that count as right)
    "sensitivity": ("actual", "predicted"),
    "specificity": ("not_actual", "not_predicted"),
    "ppv": ("predicted", "actual"),
    "npv": ("not_predicted", "not_actual"),
}


def run_crossval(params: Params, paths: PipelinePaths = DEFAULT_PATHS) -> dict[str, object]:
    """Train and evaluate every fold (finished folds are kept), then pool; writes crossval.json."""
    k = params.crossval.folds
    if k == 0:
        return write_crossval_off(paths)
    paths.crossval_dir.mkdir(parents=True, exist_ok=True)
    features = FeatureSet.load(paths.features)
    splits = fold_splits(features.index, k, params.data.split.val / (1 - params.data.split.test),
                         params.seed)
    fingerprint = _fingerprint(params, features)
    results = []
    for number, split in enumerate(tqdm(splits, desc="folds", unit="fold",
                                        disable=not _is_tty()), start=1):
        results.append(_fold(params, paths, features, number, split, fingerprint))
    summary = pool(results, params, k)
    write_metrics(paths.crossval_metrics, paths.crossval_details, summary, HEADLINE)
    print_crossval(summary)
    return summary


def _fold(params: Params, paths: PipelinePaths, features: FeatureSet, number: int,
          split: pd.Series, fingerprint: str) -> dict[str, object]:
    """One fold's evaluation and out-of-fold predictions, computed or read back."""
    fold = PipelinePaths(paths.crossval_dir / f"fold{number}")
    done = fold.root / "fold.json"
    if done.is_file() and json.loads(done.read_text()).get("fingerprint") == fingerprint:
        print(f"↩️  Fold {number}: finished earlier, kept")
    else:
        _link_features(paths.features, fold.features, features.index.assign(split=split),
                       [*(f"{m}.npy" for m in features.modalities), "spec.json"])
        run_train(params, paths=fold)
        run_evaluate(params, fold)
        write_json(done, {"fingerprint": fingerprint})
    return {
        "fold": number,
        "evaluation": json.loads(fold.eval_details.read_text()),
        "predictions": pd.read_csv(fold.predictions, dtype={"patient_id": str, "group": str}),
    }


def _link_features(source: Path, target: Path, index: pd.DataFrame, linked: list[str]
                   ) -> None:
    """The fold's feature folder: the same arrays (symlinks), its own split column."""
    target.mkdir(parents=True, exist_ok=True)
    for name in linked:
        link = target / name
        if link.is_symlink() or link.exists():
            link.unlink()
        os.symlink((source / name).resolve(), link)
    index.to_csv(target / "index.csv", index=False)


def pool(results: list[dict[str, object]], params: Params, k: int) -> dict[str, object]:
    """Per-fold figures, pooled out-of-fold figures with intervals, shares over folds, verdict."""
    samples, seed = params.evaluate.bootstrap_samples, params.seed
    pooled = pd.concat([r["predictions"] for r in results], ignore_index=True)
    labels = (pooled["actual"] == "abnormal").to_numpy().astype(int)
    predicted = (pooled["predicted"] == "abnormal").to_numpy().astype(int)
    groups = pooled["group"].to_numpy()
    figures = {
        "auroc": _with_interval(auroc_rows, labels, pooled["probability"].to_numpy(), samples,
                                seed, groups),
        "balanced_accuracy": _with_interval(balanced_accuracy_rows, labels, predicted, samples,
                                            seed, groups),
        **{name: _with_interval(rate_rows(*RATES[name]), labels, predicted, samples, seed,
                                groups) for name in RATES},
    }
    modalities = [m for m in MODALITIES if f"{m}_score" in pooled]
    shares = {m: [float(r["evaluation"]["contributions"][
        r["evaluation"]["contributions"]["method"]][m]) for r in results] for m in modalities}
    share_summary = {m: _over_folds(values) for m, values in shares.items()}
    having = {m: _present(pooled, m) for m in modalities}
    unimodal = {m: label_signal(labels[having[m]], pooled[f"{m}_score"].to_numpy()[having[m]],
                                samples, seed, groups[having[m]]) for m in modalities}
    verdict = judge({m: (s["low"], s["high"]) for m, s in share_summary.items()},
                    (figures["balanced_accuracy"]["low"], figures["balanced_accuracy"]["high"]),
                    unimodal, params.criteria)
    return {
        "folds": k,
        "verdict": verdict.outcome,
        "modalities": modalities,
        "patients": len(pooled),
        "groups": len(np.unique(groups)),
        "pooled": figures,
        "contributions": share_summary,
        "unimodal_auroc": {m: {"auroc": u["auroc"], **u["auroc_ci"]} for m, u in unimodal.items()},
        "checks": verdict.checks,
        "evidence": verdict.evidence,
        "exempt": verdict.exempt,
        "share_scale": verdict.share_scale,
        "share_range": verdict.share_range,
        "robustness": _pooled_robustness(pooled, labels, groups, samples, seed),
        "absent": {m: _pooled_absent(pooled, labels, groups, having[m], samples, seed)
                   for m in modalities if not having[m].all()},
        "per_fold": [_fold_row(r) for r in results],
    }


def _present(pooled: pd.DataFrame, modality: str) -> np.ndarray:
    column = f"has_{modality}"
    if column not in pooled:
        return np.ones(len(pooled), dtype=bool)
    return pooled[column].astype(str).str.lower().eq("true").to_numpy()


def _pooled_robustness(pooled: pd.DataFrame, labels: np.ndarray, groups: np.ndarray,
                       samples: int, seed: int) -> dict[str, dict[str, float]]:
    """Out-of-fold AUROC of every subset of the modalities (the others withheld), pooled."""
    prefix = "probability_"
    return {column.removeprefix(prefix): _with_interval(
                auroc_rows, labels, pooled[column].to_numpy(), samples, seed, groups)
            for column in pooled.columns if column.startswith(prefix)}


def _pooled_absent(pooled: pd.DataFrame, labels: np.ndarray, groups: np.ndarray,
                   having: np.ndarray, samples: int, seed: int) -> dict[str, object]:
    """The pooled patients who truly lack the modality, and the AUROC on them."""
    rows = ~having
    lacking = labels[rows]
    result: dict[str, object] = {"patients": int(rows.sum()),
                                 "healthy": int(np.sum(lacking == 0)),
                                 "abnormal": int(np.sum(lacking == 1))}
    if len(np.unique(lacking)) == 2:
        result["auroc"] = _with_interval(auroc_rows, lacking,
                                         pooled["probability"].to_numpy()[rows], samples, seed,
                                         groups[rows])
    return result


def _with_interval(statistic: object, labels: np.ndarray, values: np.ndarray, samples: int,
                   seed: int, groups: np.ndarray) -> dict[str, float]:
    point = float(statistic(labels[None], values[None])[0])  # type: ignore[operator]
    return {"value": point, **bootstrap_interval(statistic, labels, values, samples, seed,
                                                 groups)}


def _over_folds(values: list[float]) -> dict[str, float]:
    """Mean and 95% t-interval over folds (the folds are the independent repetitions), held
    to the 0-100% a share can take."""
    mean = float(np.mean(values))
    half = float(stats.t.ppf(0.975, len(values) - 1) * np.std(values, ddof=1)
                 / np.sqrt(len(values)))
    return {"mean": mean, "low": max(0.0, mean - half), "high": min(100.0, mean + half),
            "min": float(min(values)), "max": float(max(values))}


def _fold_row(result: dict[str, object]) -> dict[str, object]:
    e = result["evaluation"]
    tuned = e["tuned_threshold"]
    return {
        "fold": result["fold"],
        "test_patients": e["test_patients"],
        "auroc": e["auroc"], "auroc_ci": e["auroc_ci"],
        "balanced_accuracy": e["balanced_accuracy"],
        "balanced_accuracy_ci": e["balanced_accuracy_ci"],
        **{key: tuned[key] for key in ("sensitivity", "specificity", "precision", "npv")},
        "contributions": e["contributions"][e["contributions"]["method"]],
        "verdict": e["verdict"],
    }


def _fingerprint(params: Params, features: FeatureSet) -> str:
    """What a finished fold depends on: params and the featurized data."""
    spec = json.dumps(params.model_dump(mode="json", by_alias=True), sort_keys=True)
    data = pd.util.hash_pandas_object(features.index, index=False).to_numpy().tobytes()
    return hashlib.sha256(spec.encode() + data).hexdigest()[:16]


def _is_tty() -> bool:
    return os.isatty(2)
