"""Featurize-stage throughput: cold patients/s on demo and real files, and an incremental re-run.

Run from the repository root (everything is written under a temporary folder):
    python benchmarks/featurize.py [--params params.yaml] [--patients 400]
                                   [--ecg-formats image wfdb edf]
(a) a cold run on a fresh demo set of --patients patients, projected to 3,784 patients; with
    several --ecg-formats, once per format (the same patients, ECGs stored as printouts or as
    signal records), each with its ratio to the first in this process;
(b) a cold run on the real files in ../shared/data/real (pcg/*.wav paired with ecg/*.jpg in turn;
    the cache decodes a repeated scan once, so decode times per file are printed too);
(c) the same demo set plus 1% new rows, re-run with the cache of (a): seconds and share of (a);
(d) the ECG decoder against its version 1 (luma and grid mask in NumPy strips), kept here as the
    reference: ms per scan, the ratio, and how far apart their pixels are (none: version 3
    computes the same pixels in Pillow's band operations).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from PIL import Image
from threadpoolctl import threadpool_limits

from cardiofusion.config import Params, load_params
from cardiofusion.data.validate import run_validate
from cardiofusion.demo.generate import generate_demo
from cardiofusion.features.ecg import GRID_REDNESS, fit_to_frame, load_image
from cardiofusion.features.featurize import run_featurize
from cardiofusion.features.patient import ecg_array, pcg_array

ORIGINAL_ROWS = 3784
REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"


class Run(NamedTuple):
    patients: int
    seconds: float
    reuse: str  # the stage's own count of decoded and reused files

    @property
    def rate(self) -> float:
        return self.patients / self.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--patients", type=int, default=400)
    parser.add_argument("--ecg-formats", nargs="+", default=["image"],
                        choices=["image", "wfdb", "edf"])
    args = parser.parse_args()
    base = load_params(args.params)
    with tempfile.TemporaryDirectory(prefix="featurize-bench-") as tmp:
        folder = Path(tmp)
        others = []  # the other formats first; the first one goes on to (b) and (c)
        for ecg_format in args.ecg_formats[1:]:
            csv = _demo(base, args.patients, folder / f"demo_{ecg_format}", ecg_format)
            run = _timed(_with_data(args.params, csv, csv.parent), folder / ecg_format)
            _print(f"(a) demo with {ecg_format} ECGs, cold", run)
            others.append((ecg_format, run))
        demo_csv = _demo(base, args.patients + math.ceil(args.patients / 100), folder / "demo",
                         args.ecg_formats[0])
        rows = pd.read_csv(demo_csv)
        first = _write(rows.iloc[: args.patients], folder / "first.csv")
        full = _timed(_with_data(args.params, first, demo_csv.parent), folder / "project")
        _print(f"(a) demo with {args.ecg_formats[0]} ECGs, cold", full,
               extra=f"; {ORIGINAL_ROWS} patients would take "
               f"{ORIGINAL_ROWS / full.rate:.1f} s (target 95 s)")
        for ecg_format, run in others:
            print(f"    {ecg_format} against {args.ecg_formats[0]}: "
                  f"{run.rate / full.rate:.2f}x the patients/s")
        _real(args.params, folder)
        added = _timed(_with_data(args.params, demo_csv, demo_csv.parent), folder / "project")
        _print(f"(c) demo + {len(rows) - args.patients} new rows", added,
               extra=f"; {added.seconds / full.seconds:.1%} of the cold run (target < 5%)")
        scans = sorted((demo_csv.parent / "ecg").iterdir())[:200]
        _against_version_1(scans, base)


def _against_version_1(scans: list[Path], params: Params) -> None:
    now = _ms_per_file(partial(ecg_array, params=params.ecg), scans)
    before = _ms_per_file(partial(_ecg_version_1, params=params), scans)
    gaps = np.concatenate([
        np.abs(ecg_array(scan, params.ecg).astype(int) - _ecg_version_1(scan, params)).ravel()
        for scan in scans])
    print(f"(d) ECG decoding, {len(scans)} demo scans: {now:.1f} ms now, {before:.1f} ms with "
          f"version 1 ({before / now:.2f}x); pixels apart at most {gaps.max()}, on average "
          f"{gaps.mean():.2f} (of 255)")


def _ecg_version_1(path: Path, params: Params) -> np.ndarray:
    """Version 1 of the decoder: NumPy luma (floored) and grid mask over 256-row strips."""
    rgb_image = load_image(path)
    gray = np.empty((rgb_image.height, rgb_image.width), dtype=np.uint8)
    for top in range(0, rgb_image.height, 256):
        bottom = min(top + 256, rgb_image.height)
        rgb = np.asarray(rgb_image.crop((0, top, rgb_image.width, bottom)))
        red, green, blue = (rgb[..., channel].astype(np.int32) for channel in range(3))
        strip = ((red * 299 + green * 587 + blue * 114) // 1000).astype(np.uint8)
        if params.ecg.remove_grid:
            strip[red - np.maximum(green, blue) > GRID_REDNESS] = 255
        gray[top:bottom] = strip
    np.subtract(255, gray, out=gray)
    return fit_to_frame(Image.fromarray(gray), params.ecg)


def _demo(base: Params, patients: int, out_dir: Path, ecg_format: str = "image") -> Path:
    demo = base.demo.model_copy(update={"out_dir": out_dir, "patients": patients,
                                        "ecg_format": ecg_format})
    with contextlib.redirect_stdout(io.StringIO()):
        return generate_demo(demo, base.seed)


def _real(params_file: str, folder: Path) -> None:
    """Real recordings and scans paired in turn. Each patient gets its own copies (validate
    rejects a path named twice); the cache still decodes each distinct scan only once."""
    recordings = sorted((REAL / "pcg").glob("*.wav"))
    scans = sorted((REAL / "ecg").glob("*.jpg"))
    if not recordings or not scans:
        print(f"(b) real files: skipped, none found under {REAL}")
        return
    root = folder / "real_files"
    rows = [_copy_pair(i, scans[i % len(scans)], recording, root)
            for i, recording in enumerate(recordings)]
    table = pd.DataFrame(rows).assign(
        age=np.random.default_rng(0).integers(30, 80, len(rows)).astype(float),
        output=np.arange(len(rows)) % 2,
    )
    params = _with_data(params_file, _write(table, folder / "real.csv"), root,
                        "clinical.categorical=auto")
    _print("(b) real files, cold", _timed(params, folder / "real"))
    ecg_ms = _ms_per_file(partial(ecg_array, params=params.ecg), scans)
    pcg_ms = _ms_per_file(partial(pcg_array, params=params.pcg), recordings)
    print(f"    decoding alone, one process: ECG scan {ecg_ms:.1f} ms, recording {pcg_ms:.1f} ms")


def _ms_per_file(decode: Callable[[Path], object], paths: list[Path]) -> float:
    """Without the cache, so every scan counts (one BLAS thread, as in featurize's workers)."""
    with threadpool_limits(limits=1):
        decode(paths[0])  # first call pays one-off set-up
        started = time.perf_counter()
        for path in paths:
            decode(path)
    return (time.perf_counter() - started) / len(paths) * 1000


def _copy_pair(index: int, scan: Path, recording: Path, root: Path) -> dict[str, str]:
    patient = f"R{index:04d}"
    paths = {"ecg_path": f"ecg/{patient}{scan.suffix}", "pcg_path": f"pcg/{patient}.wav"}
    for source, relative in ((scan, paths["ecg_path"]), (recording, paths["pcg_path"])):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, root / relative)
    return {"patient_id": patient, **paths}


def _with_data(params_file: str, csv: Path, root: Path, *extra: str) -> Params:
    return load_params(params_file, [f"data.csv={csv}", f"data.root={root}", *extra])


def _write(rows: pd.DataFrame, path: Path) -> Path:
    rows.to_csv(path, index=False)
    return path


def _timed(params: Params, project: Path) -> Run:
    """Validate (not timed: its own stage), then time featurize in `project`."""
    project.mkdir(exist_ok=True)
    params = params.model_copy(update={"featurize": params.featurize.model_copy(
        update={"cache_dir": project / "feature_cache"})})  # cold: its own, empty cache
    output = io.StringIO()
    with _inside(project), contextlib.redirect_stdout(output), \
            contextlib.redirect_stderr(output):
        patients = len(run_validate(params))
        started = time.perf_counter()
        run_featurize(params)
        seconds = time.perf_counter() - started
    reuse = next(line for line in output.getvalue().splitlines() if "Feature cache" in line)
    return Run(patients, seconds, reuse.split(": ", 1)[1])


@contextlib.contextmanager
def _inside(folder: Path) -> Iterator[None]:
    """The stages read and write paths relative to the working directory."""
    previous = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


def _print(label: str, run: Run, extra: str = "") -> None:
    print(f"{label}: {run.patients} patients in {run.seconds:.2f} s = "
          f"{run.rate:.1f} patients/s ({run.reuse}){extra}")


if __name__ == "__main__":
    main()
