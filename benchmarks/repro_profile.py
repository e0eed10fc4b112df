"""Where a fresh-clone `make repro` spends its time: install, each stage, and inside the costly
stages their top functions.

Clones this repository into a scratch folder (a fresh clone: no DVC cache, no feature cache),
optionally times a fresh install (`--install`: a new venv, uv when on PATH, else pip), then
runs every stage of dvc.yaml in order exactly as `dvc repro` runs it (`python stages/NAME.py`),
timing each. With `--profile`, the named stages run once more under cProfile (one process:
`demo.n_jobs=1`, `featurize.n_jobs=1`) and their five costliest functions are printed.

    python benchmarks/repro_profile.py [--set demo.patients=3784] [--install]
                                       [--profile demo_data featurize train]
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", action="append", default=[], help="params override, key=value")
    parser.add_argument("--install", action="store_true", help="also time a fresh install")
    parser.add_argument("--profile", nargs="*", default=[], help="stages to profile")
    parser.add_argument("--keep", type=Path, help="clone here and keep it (default: scratch)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        clone = args.keep or Path(scratch) / "clone"
        subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
        _apply(clone / "params.yaml", [*args.set, f"featurize.cache_dir={clone}/.cache"])
        rows = []
        python = Path(sys.executable)
        if args.install:
            seconds, python = _install(clone)
            rows.append(("install", seconds))
        stages = list(yaml.safe_load((clone / "dvc.yaml").read_text())["stages"])
        for stage in stages:
            rows.append((stage, _timed([str(python), f"stages/{stage}.py"], clone)))
        _print_table(rows)
        trained = clone / "reports/training.json"
        if trained.is_file():  # early stopping decides how many epochs the train row holds
            epochs = int(json.loads(trained.read_text())["epochs_run"])
            train_seconds = dict(rows)["train"]
            print(f"train: {epochs} epochs, {train_seconds / epochs:.1f} s per epoch "
                  "(start-up and evaluation passes included)")
        for stage in args.profile:
            _profile(stage, clone, python)


def _apply(params_file: Path, overrides: list[str]) -> None:
    """Write `key.sub=value` overrides into the clone's params.yaml (as `dvc exp run -S`)."""
    params = yaml.safe_load(params_file.read_text())
    for override in overrides:
        key, _, value = override.partition("=")
        *parents, leaf = key.split(".")
        node = params
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = yaml.safe_load(value)
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))


def _install(clone: Path) -> tuple[float, Path]:
    started = time.perf_counter()
    venv = clone / ".venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin/python"
    if shutil.which("uv"):
        command = ["uv", "pip", "install", "--quiet", "--python", str(python), "-e", ".[dev]"]
    else:
        command = [str(python), "-m", "pip", "install", "--quiet", "-e", ".[dev]"]
    subprocess.run(command, cwd=clone, check=True)
    return time.perf_counter() - started, python


def _timed(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return time.perf_counter() - started


def _print_table(rows: list[tuple[str, float]]) -> None:
    total = sum(seconds for _, seconds in rows)
    print("\n| step | seconds | share |\n|---|---|---|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.1f} | {seconds / total:.0%} |")
    print(f"| **total** | {total:.1f} | |")


def _profile(stage: str, clone: Path, python: Path) -> None:
    """The stage once more under cProfile, in one process, featurize on an empty cache of its
    own (the timed run filled the other); its five costliest functions."""
    out = clone / f".profile_{stage}"
    command = [str(python), "-m", "cProfile", "-o", str(out), "-m", "cardiofusion.cli",
               stage.replace("_", "-"), "--set", "demo.n_jobs=1", "--set", "featurize.n_jobs=1",
               "--set", f"featurize.cache_dir={clone}/.cache_profile_{stage}"]
    seconds = _timed(command, clone)
    stats = pstats.Stats(str(out))
    top = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)[:5]
    print(f"\n{stage} in one process: {seconds:.1f} s; top functions by own time:")
    for (file, line, name), (_, calls, own, _, _) in top:
        print(f"  {own:7.2f} s  {calls:>9} calls  {Path(file).name}:{line} {name}")


if __name__ == "__main__":
    main()
