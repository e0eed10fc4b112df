"""A reference a reader can trust: logistic regression on plain hand-made features, per modality
and by late fusion, on exactly the folds `crossval` uses. A multimodal network that does not
beat this has not earned its complexity.

Run from the repository root:
    python benchmarks/baseline.py --params data/ptbxl/params.yaml [--seeds 42 1 2 3 4]
                                  [--folds 5] [--workdir DIR]
                                  [--against BALANCE_WORKDIR [--methods defaults naive]]

The dataset is validated and featurized once with the pipeline's own functions (in --workdir);
the features are the arrays the network reads, summarised:
- PCG: mean and standard deviation of each log-mel band over time;
- ECG signal: per lead, the relative power in 0.5-5, 5-15 and 15-40 Hz, the beat period (the
  autocorrelation peak between 0.3 and 2 s), skewness and kurtosis; ECG image: the page
  average-pooled to 12 x 22;
- clinical: the encoded, standardized row (numbers, one-hot categories, missing indicators).
For every seed, grouped stratified k-fold (`crossval.folds`' own function and seed): a scaled,
class-balanced logistic regression per modality fitted on the fold's train and validation
patients who have it, and late fusion = the mean of the probabilities of the modalities each
test patient has. Prints pooled out-of-fold AUROC with a group-aware 95% interval, the mean of
the per-fold AUROCs, and the mean [min, max] over seeds.

With --against, the network's out-of-fold predictions from a `benchmarks/balance.py --crossval`
workdir (same params, folds and seeds) are compared with the late fusion patient by patient:
the difference of pooled AUROCs with a paired group-bootstrap 95% interval (both scores of a
resampled patient drawn together), and a verdict per seed: ahead or behind when the interval
excludes 0, UNCERTAIN when it does not.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.signal import welch
from scipy.stats import kurtosis, skew
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from cardiofusion.config import MODALITY_LABELS, Params, load_params
from cardiofusion.crossval.folds import fold_splits
from cardiofusion.data.validate import run_validate
from cardiofusion.evaluation.bootstrap import auroc_rows, bootstrap_interval
from cardiofusion.features.dataset import FeatureSet
from cardiofusion.features.featurize import run_featurize
from cardiofusion.paths import PipelinePaths
from cardiofusion.reporting.results_file import results_record, write_results

ECG_BANDS = ((0.5, 5.0), (5.0, 15.0), (15.0, 40.0))  # Hz


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 1, 2, 3, 4])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/cardiofusion-baseline"))
    parser.add_argument("--results", type=Path, help="also write the table here (JSON; the "
                                                    "docs render their tables from such files)")
    parser.add_argument("--against", type=Path, help="a `balance.py --crossval` workdir run "
                        "with the same params, folds and seeds: its networks against the late "
                        "fusion, patient by patient")
    parser.add_argument("--methods", nargs="+", default=["defaults"],
                        help="with --against: the balance methods compared")
    args = parser.parse_args()
    params = load_params(args.params)
    features = prepare(params, args.workdir / args.params.parent.name)
    table = {name: hand_made(name, features) for name in features.modalities}
    names = [*table, "late_fusion"]
    compared = args.methods if args.against else []
    header = ["seed", *map(_label, names), *(f"{m} minus late fusion" for m in compared)]
    print("| " + " | ".join(header) + " |")
    print("|---" * len(header) + "|")
    pooled: dict[str, list[float]] = {n: [] for n in [*names, *compared]}
    verdicts: dict[str, list[str]] = {m: [] for m in compared}
    rows = []
    for seed in args.seeds:
        result, late_fusion, fold_of = cross_validate(features, table, params, args.folds, seed)
        cells = []
        for name in names:
            value, low, high, per_fold = result[name]
            pooled[name].append(value)
            cells.append(f"{value:.3f} ({low:.3f}-{high:.3f}); folds {per_fold:.3f}")
        for method in compared:
            network = network_scores(args.against / f"seed{seed}" / method, features, fold_of)
            value, low, high = paired_difference(features, network, late_fusion, params, seed)
            pooled[method].append(value)
            verdicts[method].append(_verdict(low, high))
            cells.append(f"{value:+.3f} ({low:+.3f} to {high:+.3f}) {verdicts[method][-1]}")
        rows.append([str(seed), *cells])
        print(f"| {seed} | " + " | ".join(cells) + " |", flush=True)
    rows.append(["**mean [range]**", *(f"{np.mean(v):.3f} [{min(v):.3f}, {max(v):.3f}]"
                                       for v in (pooled[n] for n in names)),
                 *(f"{np.mean(pooled[m]):+.3f} [{min(pooled[m]):+.3f}, {max(pooled[m]):+.3f}]; "
                   + _tally(verdicts[m]) for m in compared)])
    print("| " + " | ".join(rows[-1]) + " |")
    print("Cells: pooled out-of-fold AUROC (95% group bootstrap interval); the mean of the "
          "per-fold AUROCs after 'folds'."
          + (" Differences: the network's pooled AUROC minus the late fusion's on the same "
             "patients (paired 95% group bootstrap interval)." if compared else ""))
    if args.results:
        write_results(args.results, results_record(
            "baseline", header, rows, {**pooled, "verdicts": verdicts}, seeds=args.seeds,
            folds=args.folds))


def prepare(params: Params, workdir: Path) -> FeatureSet:
    """The pipeline's own validate and featurize, once per dataset."""
    paths = PipelinePaths(workdir)
    if not (paths.features / "spec.json").is_file():
        workdir.mkdir(parents=True, exist_ok=True)
        with contextlib.redirect_stdout(io.StringIO()):
            run_validate(params, paths)
            run_featurize(params, paths)
    return FeatureSet.load(paths.features)


def hand_made(modality: str, features: FeatureSet) -> np.ndarray:
    """(patients, features) plain summaries of one modality's arrays (zeros where absent)."""
    array = features.arrays[modality]
    if modality == "pcg":
        spectrogram = np.asarray(array, dtype=np.float32)
        return np.concatenate([spectrogram.mean(axis=2), spectrogram.std(axis=2)], axis=1)
    if modality == "clinical":
        return np.asarray(array, dtype=np.float64)
    if features.spec.ecg_kind == "image":
        pages = np.asarray(array, dtype=np.float32) / 255.0
        n, height, width = pages.shape
        rows, columns = height // 12, width // 22
        pooled = pages[:, : rows * 12, : columns * 22].reshape(n, 12, rows, 22, columns)
        return pooled.mean(axis=(2, 4)).reshape(n, -1)
    return np.stack([_signal_summary(record, features.spec.ecg.signal_rate)
                     for record in np.asarray(array)])


def _signal_summary(record: np.ndarray, rate: int) -> np.ndarray:
    frequencies, power = welch(record, fs=rate, nperseg=min(512, record.shape[1]), axis=1)
    total = power.sum(axis=1, keepdims=True) + 1e-12
    bands = [power[:, (frequencies >= low) & (frequencies < high)].sum(axis=1) / total[:, 0]
             for low, high in ECG_BANDS]
    lags = np.arange(int(0.3 * rate), int(2.0 * rate))
    centred = record - record.mean(axis=1, keepdims=True)
    spectrum = np.fft.rfft(centred, n=2 * record.shape[1], axis=1)
    autocorrelation = np.fft.irfft(spectrum * np.conj(spectrum), axis=1)[:, lags]
    period = lags[np.argmax(autocorrelation, axis=1)] / rate
    return np.concatenate([*bands, period, skew(record, axis=1),
                           kurtosis(record, axis=1)]).astype(np.float64)


def cross_validate(features: FeatureSet, table: dict[str, np.ndarray], params: Params,
                   folds: int, seed: int
                   ) -> tuple[dict[str, tuple[float, float, float, float]], np.ndarray,
                              np.ndarray]:
    """Pooled out-of-fold AUROC (with interval) and mean fold AUROC of each modality's logistic
    regression and of their late fusion, on crossval's folds for `seed`; the late fusion's
    out-of-fold probability of every patient, and every patient's test fold (1..folds)."""
    index = features.index
    labels = index["label"].to_numpy()
    groups = index.get("group", index["patient_id"]).astype(str).to_numpy()
    val_fraction = params.data.split.val / (1 - params.data.split.test)
    scores = {m: np.full(len(index), np.nan) for m in table}
    fold_of = np.zeros(len(index), dtype=int)
    for number, split in enumerate(fold_splits(index, folds, val_fraction, seed), start=1):
        test = (split == "test").to_numpy()
        fold_of[test] = number
        for modality, x in table.items():
            having = features.present(modality)
            fit = ~test & having
            model = make_pipeline(StandardScaler(), LogisticRegression(
                C=1.0, class_weight="balanced", max_iter=5000))
            model.fit(x[fit], labels[fit])
            rows = test & having
            scores[modality][rows] = model.predict_proba(x[rows])[:, 1]
    with np.errstate(invalid="ignore"):
        scores["late_fusion"] = np.nanmean(np.stack(list(scores.values())), axis=0)
    result = {}
    for name, score in scores.items():
        rows = np.isfinite(score)
        interval = bootstrap_interval(auroc_rows, labels[rows], score[rows],
                                      params.evaluate.bootstrap_samples, seed, groups[rows])
        value = float(auroc_rows(labels[rows][None], score[rows][None])[0])
        per_fold = [float(auroc_rows(labels[f][None], score[f][None])[0])
                    for k in range(1, folds + 1)
                    if len(np.unique(labels[f := rows & (fold_of == k)])) == 2]
        result[name] = (value, interval["low"], interval["high"], float(np.mean(per_fold)))
    return result, scores["late_fusion"], fold_of


def network_scores(run: Path, features: FeatureSet, fold_of: np.ndarray) -> np.ndarray:
    """The out-of-fold probability of every patient from one balance run's cross-validation,
    in the features' order; refused when its folds are not this baseline's (`fold_of`)."""
    ids = features.index["patient_id"].astype(str).to_numpy()
    probability = pd.Series(np.nan, index=ids)
    for number in range(1, int(fold_of.max()) + 1):
        file = PipelinePaths(PipelinePaths(run).crossval_dir / f"fold{number}").predictions
        if not file.is_file():
            raise SystemExit(f"{file}: missing; run benchmarks/balance.py --crossval "
                             f"{fold_of.max()} with --workdir {run.parent.parent} first")
        fold = pd.read_csv(file, dtype={"patient_id": str})
        if set(fold["patient_id"]) != set(ids[fold_of == number]):
            raise SystemExit(f"{file}: fold {number} tests other patients than this baseline's "
                             f"fold {number} (other data, params or folds); not comparable")
        probability[fold["patient_id"].to_numpy()] = fold["probability"].to_numpy()
    return probability.to_numpy()


def paired_difference(features: FeatureSet, network: np.ndarray, baseline: np.ndarray,
                      params: Params, seed: int) -> tuple[float, float, float]:
    """The network's pooled AUROC minus the baseline's on the patients both scored, with a
    group-bootstrap interval in which each resample scores both on the same patients."""
    index = features.index
    rows = np.isfinite(network) & np.isfinite(baseline)
    labels = index["label"].to_numpy()[rows]
    groups = index.get("group", index["patient_id"]).astype(str).to_numpy()[rows]
    both = np.stack([network[rows], baseline[rows]], axis=1)
    value = float(auroc_difference_rows(labels[None], both[None])[0])
    interval = bootstrap_interval(auroc_difference_rows, labels, both,
                                  params.evaluate.bootstrap_samples, seed, groups)
    return value, interval["low"], interval["high"]


def auroc_difference_rows(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """AUROC of the first score minus the second's, per row (scores: rows x patients x 2)."""
    return auroc_rows(labels, scores[..., 0]) - auroc_rows(labels, scores[..., 1])


def _verdict(low: float, high: float) -> str:
    return "ahead" if low > 0 else "behind" if high < 0 else "UNCERTAIN"


def _tally(verdicts: list[str]) -> str:
    counts = {v: verdicts.count(v) for v in ("ahead", "UNCERTAIN", "behind")}
    return ", ".join(f"{v} {n}" for v, n in counts.items() if n)


def _label(name: str) -> str:
    return "late fusion" if name == "late_fusion" else f"{MODALITY_LABELS[name]} alone"


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
