"""Validate-stage throughput: rows/s on the current params' dataset, projected to 3,784 rows.

Run from the repository root after `dvc repro demo_data` (or with --params for your own data):
    python benchmarks/validate.py [--params params.yaml] [--repeat 3]

With `--wide 1000,2000,4000,8000`, the first 30 rows of that CSV with that many extra numeric
columns instead: seconds per width and per 1,000 columns (flat when the cost is linear).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import time
from pathlib import Path

import pandas as pd

from cardiofusion.config import Params, load_params
from cardiofusion.data.validate import run_validate
from cardiofusion.paths import PipelinePaths

ORIGINAL_ROWS = 3784


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--wide", help="comma-separated extra column counts, e.g. 1000,4000")
    args = parser.parse_args()
    params = load_params(args.params)
    if args.wide:
        wide(params, [int(n) for n in args.wide.split(",")])
        return
    timings = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            manifest = run_validate(params)
        timings.append(time.perf_counter() - started)
    best = min(timings)
    rows = params.data.csv.read_text().count("\n") - 1
    print(f"validate: {rows} rows ({len(manifest)} kept) in {best:.2f} s (best of {args.repeat}) "
          f"= {rows / best:.0f} rows/s; {ORIGINAL_ROWS} rows would take "
          f"{ORIGINAL_ROWS / rows * best:.1f} s (target 30 s)")


def wide(params: Params, widths: list[int]) -> None:
    """30 rows (15 per class), `width` extra columns: the time should grow linearly with the
    width."""
    table = pd.read_csv(params.data.csv, dtype=str, keep_default_na=False)
    table = table.groupby(params.data.label_column).head(15)  # every class in every split
    with tempfile.TemporaryDirectory() as folder:
        for width in widths:
            extra = pd.DataFrame({f"extra_{i}": [str((j * i) % 7) for j in range(len(table))]
                                  for i in range(width)}, index=table.index)
            csv = Path(folder) / f"wide_{width}.csv"
            pd.concat([table, extra], axis=1).to_csv(csv, index=False)
            data = params.data.model_copy(update={"csv": csv})
            rules = params.validate_.model_copy(update={"max_drop_fraction": 1.0})
            started = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):
                run_validate(params.model_copy(update={"data": data, "validate_": rules}),
                             PipelinePaths(Path(folder) / "out"))
            seconds = time.perf_counter() - started
            print(f"validate: 30 rows x {width} extra columns in {seconds:.1f} s = "
                  f"{seconds / width * 1000:.2f} s per 1,000 columns")


if __name__ == "__main__":
    main()
