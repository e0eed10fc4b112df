"""Validate-stage throughput: rows/s on the current params' dataset, projected to 3,784 rows.

Run from the repository root after `dvc repro demo_data` (or with --params for your own data):
    python benchmarks/validate.py [--params params.yaml] [--repeat 3]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time

from cardiofusion.config import load_params
from cardiofusion.data.validate import run_validate

ORIGINAL_ROWS = 3784


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    params = load_params(args.params)
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


if __name__ == "__main__":
    main()
