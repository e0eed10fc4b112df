"""Does the balance hold as a property of the method? Seeds x methods, mean and range.

Run from the repository root:
    python benchmarks/balance.py [--seeds 42 1 2 3 4] [--methods naive defaults]
                                 [--variant NAME:key=value,key=value ...]
                                 [--csv data/real_composite/metadata.csv --root data/real_composite]
                                 [--set key=value ...] [--crossval K] [--workdir DIR]

Each seed is a whole run, as `dvc exp run -S seed=N` would make it: on the demo, the dataset,
the split and the initialisation all change with the seed; on a CSV (`--csv`), the grouped
split and the initialisation. Each (seed, method) runs validate, featurize, train and evaluate
with the pipeline's own functions in its own folder under --workdir; finished runs are kept and
not repeated, so an interrupted benchmark continues where it stopped. A seed's methods share its
dataset and features, except a variant that changes them (a `data.`, `demo.`, `validate.`,
`featurize.`, `ecg.`, `pcg.` or `clinical.` setting), which prepares its own. Prints, per run and as
mean [min, max] over seeds: test AUROC, balanced accuracy at the tuned threshold, the three
contribution shares, seconds per epoch, whether the point figures meet the success criteria, and
the verdict (which also weighs their 95% intervals: PASS, FAIL or UNCERTAIN).

With `--crossval K` each run is judged by grouped K-fold cross-validation instead of one test
split: every group is tested once, and the row holds the pooled out-of-fold AUROC and balanced
accuracy, each share as its mean over folds, and the verdict over the folds. On a few hundred
patients in a few dozen groups one test split holds a handful of groups and decides by chance.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import io
import json
import os
import time
from collections import Counter
from pathlib import Path

import numpy as np

from cardiofusion.config import MODALITIES, CriteriaParams, Params, load_params
from cardiofusion.crossval.run import run_crossval
from cardiofusion.data.validate import run_validate
from cardiofusion.demo.generate import generate_demo
from cardiofusion.evaluation.evaluate import run_evaluate
from cardiofusion.features.featurize import run_featurize
from cardiofusion.files import write_json
from cardiofusion.paths import PipelinePaths
from cardiofusion.reporting.results_file import results_record, write_results
from cardiofusion.training.train import run_train

METHODS = {
    "defaults": [],
    "naive": [  # the model trained without any of the balancing recipe
        "train.balance=none", "aux_weight=0", "train.sampler=none",
        "train.lr_multipliers.ecg=1", "train.lr_multipliers.pcg=1",
        "train.lr_multipliers.clinical=1",
    ],
    "aux": ["train.balance=aux"],  # the fixed recipe: aux_weight 0.2 on every modality
    "aux_0.5": ["train.balance=aux", "aux_weight=0.5"],
    "ogm_ge": ["train.balance=ogm_ge"],
    "closed_loop": ["train.balance=closed_loop"],
    "mmpareto": ["train.balance=mmpareto"],
}
COLUMNS = ("auroc", "bal_acc", *MODALITIES, "s/epoch")
# params sections that change a dataset or its features: a variant setting one prepares its own
DATA_SECTIONS = ("data.", "demo.", "validate.", "featurize.", "ecg.", "pcg.", "clinical.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 1, 2, 3, 4])
    parser.add_argument("--methods", nargs="*", default=["naive", "defaults"],
                        help="built-in methods; none (`--methods`) to run only --variant ones")
    parser.add_argument("--variant", action="append", default=[],
                        help="NAME:key=value,key=value (a method of your own)")
    parser.add_argument("--csv", type=Path, help="a metadata CSV instead of the demo")
    parser.add_argument("--root", type=Path, help="data.root for --csv")
    parser.add_argument("--set", action="append", default=[], help="key=value for every run")
    parser.add_argument("--crossval", type=int, default=0, metavar="K",
                        help="judge each run by K-fold grouped cross-validation (K >= 2)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/cardiofusion-balance"))
    parser.add_argument("--results", type=Path,
                        help="also write the summary table and every run's figures here (JSON; "
                             "the docs render their tables from such files)")
    args = parser.parse_args()
    methods = {name: METHODS[name] for name in args.methods}
    for variant in args.variant:
        name, _, settings = variant.partition(":")
        methods[name] = [s for s in settings.split(",") if s]
    params_file = Path(args.params).resolve()
    data = []
    if args.csv:
        root = (args.root or args.csv.parent).resolve()
        data = [f"data.csv={args.csv.resolve()}", f"data.root={root}"]
    workdir = args.workdir.resolve()
    if args.crossval:
        data.append(f"crossval.folds={args.crossval}")
    results: dict[str, list[dict[str, object]]] = {name: [] for name in methods}
    for seed in args.seeds:  # seed by seed, so an early stop still compares every method
        for name, overrides in methods.items():
            results[name].append(
                run_one(params_file, [*data, *args.set, *overrides], seed, workdir, name,
                        own_data=bool(data_overrides(overrides)))
            )
    print_table(results, args.seeds)
    if args.results:
        write_results(args.results, results_record(
            "balance", SUMMARY_HEADER, summary_rows(results), results, measured=_measured(
                workdir, args.seeds, methods), seeds=args.seeds, methods=methods))


def _measured(workdir: Path, seeds: list[int], methods: dict[str, list[str]]) -> str:
    """The dates the runs finished (a finished run is read back, not repeated)."""
    stamps = sorted({time.strftime("%Y-%m-%d", time.gmtime(f.stat().st_mtime))
                     for seed in seeds for name in methods
                     for f in (workdir / f"seed{seed}" / name).glob("*.json")})
    return stamps[0] if len(set(stamps)) <= 1 else f"{stamps[0]} to {stamps[-1]}"


def run_one(params_file: Path, overrides: list[str], seed: int, workdir: Path,
            method: str, own_data: bool = False) -> dict[str, object]:
    """One seed of one method; a finished run's result is read back instead of repeated.
    The seed's dataset and features are shared by its methods, except a method that changes
    them (`own_data`), which prepares its own in its run folder."""
    run_dir = workdir / f"seed{seed}" / method
    data_dir = run_dir if own_data else run_dir.parent
    params = load_params(params_file, [f"seed={seed}", *overrides,
                                       f"demo.out_dir={data_dir / 'demo'}",
                                       f"featurize.cache_dir={workdir / 'feature_cache'}"])
    folds = params.crossval.folds
    result_file = run_dir / (f"crossval{folds}.json" if folds else "result.json")
    if result_file.is_file():
        return json.loads(result_file.read_text())
    shared = PipelinePaths(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.redirect_stdout(io.StringIO()):
        with (data_dir / ".prepare.lock").open("w") as lock:  # one writer per seed's data
            fcntl.flock(lock, fcntl.LOCK_EX)
            prepare(params, shared, overrides)
        paths = PipelinePaths(run_dir)
        paths.features.parent.mkdir(parents=True, exist_ok=True)  # the run's own data folder
        if not paths.features.exists():  # (cross-validation folds go there), shared features
            os.symlink(shared.features, paths.features)
        figures = crossval_figures(params, paths) if folds else split_figures(params, paths)
    result = {"seed": seed, "method": method, "overrides": overrides, **figures}
    result_file.write_text(json.dumps(result, indent=2))
    print(_row(f"{method} seed {seed}", result), flush=True)
    return result


def split_figures(params: Params, paths: PipelinePaths) -> dict[str, object]:
    """Train once, evaluate on the test split."""
    start = time.perf_counter()
    summary = run_train(params, paths=paths)
    seconds = time.perf_counter() - start
    evaluation = run_evaluate(params, paths)
    shares = getattr(evaluation.contributions, params.contributions.method).as_dict()
    return {
        "auroc": evaluation.auroc, "bal_acc": evaluation.tuned_threshold.balanced_accuracy,
        **shares, "verdict": evaluation.verdict,
        "s/epoch": seconds / int(summary["epochs_run"]),
        "modalities": evaluation.modalities,
        "unimodal_auroc": {m: u.auroc for m, u in evaluation.unimodal.items()},
        "robustness": {"+".join(r.modalities): r.auroc for r in evaluation.robustness},
    }


def crossval_figures(params: Params, paths: PipelinePaths) -> dict[str, object]:
    """Every fold trained and tested; pooled out-of-fold figures, shares as the fold mean."""
    started, start = time.time(), time.perf_counter()
    summary = run_crossval(params, paths)
    seconds = time.perf_counter() - start
    folds = [PipelinePaths(paths.crossval_dir / f"fold{k}") for k in range(1, summary["folds"] + 1)]
    trained = [f for f in folds if (f.root / "fold.json").stat().st_mtime >= started]  # not kept
    epochs = sum(json.loads(f.train_details.read_text())["epochs_run"] for f in trained)
    pooled, shares = summary["pooled"], summary["contributions"]
    return {
        "auroc": pooled["auroc"]["value"], "bal_acc": pooled["balanced_accuracy"]["value"],
        **{m: s["mean"] for m, s in shares.items()}, "verdict": summary["verdict"],
        # evaluation included: cross-validation's whole cost; unknown when every fold was kept
        "s/epoch": seconds / epochs if epochs else float("nan"),
        "modalities": summary["modalities"],
        "unimodal_auroc": {m: u["auroc"] for m, u in summary["unimodal_auroc"].items()},
        "share_intervals": {m: [s["low"], s["high"]] for m, s in shares.items()},
        "fold_auroc": [fold["auroc"] for fold in summary["per_fold"]],
        "robustness": {key: f["value"] for key, f in summary["robustness"].items()},
    }


def data_overrides(overrides: list[str]) -> list[str]:
    """The overrides that change a dataset or its features (worker counts do not)."""
    return sorted(o for o in overrides if o.startswith(DATA_SECTIONS)
                  and not o.partition("=")[0].endswith(".n_jobs"))


def prepare(params: Params, shared: PipelinePaths, overrides: list[str]) -> None:
    """The seed's dataset (the demo, unless a CSV is given), manifest and features, once; a
    workdir prepared with other data options is refused, never silently reused."""
    recorded = shared.root / "prepared_with.json"
    wanted = data_overrides(overrides)
    if (shared.features / "spec.json").is_file():  # written last: the features are whole
        if recorded.is_file() and (found := json.loads(recorded.read_text())) != wanted:
            raise SystemExit(f"{shared.root} was prepared with {found or 'no data options'}, "
                             f"this run asks for {wanted or 'none'}: use another --workdir")
        return
    if not any(o.startswith("data.csv=") for o in overrides):
        csv = generate_demo(params.demo, params.seed)
        params = params.model_copy(update={"data": params.data.model_copy(
            update={"csv": csv, "root": csv.parent})})
    run_validate(params, shared)
    run_featurize(params, shared)
    write_json(recorded, wanted)


def _format(column: str, value: float) -> str:
    return f"{value:.3f}" if column in ("auroc", "bal_acc") else f"{value:.1f}"


CRITERIA = CriteriaParams()


def meets_criteria(result: dict[str, object], criteria: CriteriaParams = CRITERIA) -> bool:
    """The success criteria on the point figures, rescaled to the k modalities the data has
    (thresholds x 3/k, as the verdict rescales them): every share in range, none above or
    below the limits, balanced accuracy high enough (the verdict also weighs intervals)."""
    shares = [float(result[m]) for m in MODALITIES if m in result]
    scale = len(MODALITIES) / len(shares)
    low, high = (min(100.0, v * scale) for v in criteria.share_range)
    return (all(low <= s <= high for s in shares)
            and max(shares) <= min(100.0, criteria.max_share * scale)
            and min(shares) >= min(100.0, criteria.min_share * scale)
            and float(result["bal_acc"]) >= criteria.min_balanced_accuracy)


def _cell(column: str, result: dict[str, object]) -> str:
    return _format(column, float(result[column])) if column in result else "-"


def _row(name: str, result: dict[str, object]) -> str:
    cells = [_cell(c, result) for c in COLUMNS]
    point = "yes" if meets_criteria(result) else "no"
    return f"| {name} | " + " | ".join(cells) + f" | {point} | {str(result['verdict']).upper()} |"


SUMMARY_HEADER = ["method", "AUROC", "median AUROC", "balanced accuracy", "ECG %", "PCG %",
                  "clinical %", "criteria met", "verdicts"]


def summary_rows(results: dict[str, list[dict[str, object]]]) -> list[list[str]]:
    """Per method: mean [min, max] over seeds of each figure, the median AUROC, how many
    seeds met the criteria and the verdicts."""
    rows = []
    for name, runs in results.items():
        cells = [name]
        for column in ("auroc", "median", "bal_acc", *MODALITIES):
            values = [float(r["auroc" if column == "median" else column]) for r in runs
                      if column in r or column == "median"]
            if column == "median":
                cells.append(_format("auroc", float(np.median(values))))
            elif values:
                low, mean, high = (_format(column, v) for v in (min(values), np.mean(values),
                                                                 max(values)))
                cells.append(f"{mean} [{low}, {high}]")
            else:
                cells.append("-")
        verdicts = ", ".join(f"{v.upper()} {n}" for v, n in
                             Counter(str(r["verdict"]) for r in runs).most_common())
        cells += [f"{sum(meets_criteria(r) for r in runs)}/{len(runs)}", verdicts]
        rows.append(cells)
    return rows


def print_table(results: dict[str, list[dict[str, object]]], seeds: list[int]) -> None:
    """Every run, then the summary over seeds per method, as Markdown tables."""
    print("\n| run | " + " | ".join(COLUMNS) + " | criteria met | verdict |")
    print("|---" * (len(COLUMNS) + 3) + "|")
    for name, runs in results.items():
        for run in runs:
            print(_row(f"{name} seed {run['seed']}", run))
    print("\n| " + " | ".join(SUMMARY_HEADER) + " |")
    print("|---" * len(SUMMARY_HEADER) + "|")
    for row in summary_rows(results):
        print("| " + " | ".join(row) + " |")
    print_robustness(results)
    for name, runs in results.items():
        folds = [float(a) for r in runs for a in r.get("fold_auroc", [])]
        if folds:  # cross-validation: every fold is a grouped test split of its own
            print(f"{name}: median AUROC {np.median(folds):.3f} over the {len(folds)} test "
                  f"folds (pooled out-of-fold above; folds differ in calibration)")
            means = [float(np.mean(r["fold_auroc"])) for r in runs]
            print(f"{name}: mean AUROC of each seed's test folds "
                  + ", ".join(f"{m:.3f}" for m in means) + f"; median {np.median(means):.3f}")


def print_robustness(results: dict[str, list[dict[str, object]]]) -> None:
    """AUROC with only each subset of the modalities given, mean [min, max] over seeds."""
    keys = list(dict.fromkeys(k for runs in results.values() for r in runs
                              for k in r.get("robustness", {})))
    if len(keys) < 2:
        return
    print("\n| method: AUROC with only | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 1) + "|")
    for name, runs in results.items():
        cells = []
        for key in keys:
            values = [float(r["robustness"][key]) for r in runs if key in r.get("robustness", {})]
            cells.append(f"{np.mean(values):.3f} [{min(values):.3f}, {max(values):.3f}]"
                         if values else "-")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
