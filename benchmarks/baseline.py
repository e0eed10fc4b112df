"""A reference a reader can trust: logistic regression on plain hand-made features, per modality
and by late fusion, on exactly the folds `crossval` uses. A multimodal network that does not
beat this has not earned its complexity.

Run from the repository root:
    python benchmarks/baseline.py --params data/ptbxl/params.yaml [--seeds 42 1 2 3 4]
                                  [--folds 5] [--workdir DIR]

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
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
from pathlib import Path

import numpy as np
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
    args = parser.parse_args()
    params = load_params(args.params)
    features = prepare(params, args.workdir / args.params.parent.name)
    table = {name: hand_made(name, features) for name in features.modalities}
    names = [*table, "late_fusion"]
    print(f"| seed | {' | '.join(_label(n) for n in names)} |")
    print("|---" * (len(names) + 1) + "|")
    pooled: dict[str, list[float]] = {n: [] for n in names}
    rows = []
    for seed in args.seeds:
        result = cross_validate(features, table, params, args.folds, seed)
        cells = []
        for name in names:
            value, low, high, per_fold = result[name]
            pooled[name].append(value)
            cells.append(f"{value:.3f} ({low:.3f}-{high:.3f}); folds {per_fold:.3f}")
        rows.append([str(seed), *cells])
        print(f"| {seed} | " + " | ".join(cells) + " |", flush=True)
    rows.append(["**mean [range]**", *(f"{np.mean(v):.3f} [{min(v):.3f}, {max(v):.3f}]"
                                       for v in pooled.values())])
    print("| " + " | ".join(rows[-1]) + " |")
    print("Cells: pooled out-of-fold AUROC (95% group bootstrap interval); the mean of the "
          "per-fold AUROCs after 'folds'.")
    if args.results:
        write_results(args.results, results_record(
            "baseline", ["seed", *map(_label, names)], rows, pooled, seeds=args.seeds,
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
                   folds: int, seed: int) -> dict[str, tuple[float, float, float, float]]:
    """Pooled out-of-fold AUROC (with interval) and mean fold AUROC of each modality's logistic
    regression and of their late fusion, on crossval's folds for `seed`."""
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
    return result


def _label(name: str) -> str:
    return "late fusion" if name == "late_fusion" else f"{MODALITY_LABELS[name]} alone"


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
