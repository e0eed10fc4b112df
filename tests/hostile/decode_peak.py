"""Peak memory of decoding one worst-case request, run as its own process by test_memory_bound.

    python decode_peak.py make FOLDER      # writes the worst-case image and recording
    python decode_peak.py measure FOLDER   # prints the MB that decoding them added to peak RSS

Two requests, each with an image of exactly the pixel budget in one of the two most expensive
modes (RGBA: transparency takes the most steps to become RGB; a 32-bit float TIFF: rescaled in
float64) and a 192 kHz WAV (the highest accepted rate) of 40 s of noise, within the upload
limit, of which the contract decodes 30 s. The figure is the larger of the two.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np


def make(folder: Path) -> None:
    import soundfile as sf
    from PIL import Image, ImageDraw

    from cardiofusion.inputs.limits import MAX_PIXELS, MAX_SAMPLE_RATE

    width = 4_000
    image = Image.new("RGBA", (width, MAX_PIXELS // width), (255, 255, 255, 0))
    ImageDraw.Draw(image).line((0, 0, width, image.height), fill=(0, 0, 0, 255), width=9)
    image.save(folder / "scan.png")
    Image.new("F", image.size, 1.0).save(folder / "scan.tif", compression="tiff_deflate")
    noise = np.random.default_rng(0).uniform(-0.5, 0.5, 40 * MAX_SAMPLE_RATE)
    sf.write(folder / "heart.wav", noise.astype(np.float32), MAX_SAMPLE_RATE, subtype="PCM_16")


def measure(folder: Path) -> None:
    import pandas as pd

    from cardiofusion.config import Params
    from cardiofusion.features.clinical import ClinicalEncoder
    from cardiofusion.features.patient import FeatureSpec, featurize_patient
    from cardiofusion.inputs import DEFAULT_LIMITS

    params = Params()
    encoder = ClinicalEncoder.fit(pd.DataFrame({"age": [50.0, 60.0]}), ["age"], [])
    spec = FeatureSpec(params.pcg, params.ecg, encoder)
    pcg = (folder / "heart.wav").read_bytes()
    scans = [(folder / name).read_bytes() for name in ("scan.png", "scan.tif")]
    featurize_patient(*_tiny(), {"age": None}, spec, DEFAULT_LIMITS)  # lazy imports, caches
    before = _peak_mb()
    for ecg in scans:
        featurize_patient(ecg, pcg, {"age": None}, spec, DEFAULT_LIMITS)
    print(json.dumps({"before_mb": before, "added_mb": _peak_mb() - before,
                      "upload_mb": (max(map(len, scans)) + len(pcg)) / 2**20}))


def _tiny() -> tuple[bytes, bytes]:
    import io

    import soundfile as sf
    from PIL import Image

    image, audio = io.BytesIO(), io.BytesIO()
    Image.new("RGB", (200, 100), "white").save(image, format="PNG")
    sf.write(audio, np.zeros(6000, dtype=np.float32), 2000, format="WAV")
    return image.getvalue(), audio.getvalue()


def _peak_mb() -> float:
    """This process's peak resident memory since it started (VmHWM; ru_maxrss would carry the
    peak of the process it was forked from, e.g. a large pytest run)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError("no VmHWM in /proc/self/status")


if __name__ == "__main__":
    {"make": make, "measure": measure}[sys.argv[1]](Path(sys.argv[2]))
