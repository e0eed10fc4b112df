"""ECG printout scan → fixed-size grayscale "ink" image.

Any image mode Pillow reads becomes grayscale; the red/pink grid paper is optionally removed so
the network sees the traces, and the page is fitted into a fixed frame keeping its aspect ratio.
Stored inverted (ink = 255, paper = 0) so padding and background are both zero.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from cardiofusion.config import EcgParams
from cardiofusion.errors import CardiofusionError

GRID_REDNESS = 40  # red minus the larger of green/blue above this is grid paper, not ink


def load_image(source: str | Path | bytes, name: str | None = None) -> Image.Image:
    """Decode fully to RGB (transparency composited on white); errors name the input."""
    label = name or str(source if not isinstance(source, bytes) else "uploaded image")
    handle = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with Image.open(handle) as image:
            image.load()
            return _to_rgb(image)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise CardiofusionError(f"{label}: not a readable image ({exc})") from None


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        span = max(values.max() - values.min(), 1e-9)
        scaled = ((values - values.min()) / span * 255).astype(np.uint8)
        return Image.fromarray(scaled).convert("RGB")
    if image.mode in ("RGBA", "LA", "P", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def ecg_features(image: Image.Image, params: EcgParams) -> np.ndarray:
    """uint8 array (height x width), ink bright on a dark background."""
    rgb = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
    red, green, blue = (rgb[..., channel].astype(np.int32) for channel in range(3))
    gray = ((red * 299 + green * 587 + blue * 114) // 1000).astype(np.uint8)
    if params.remove_grid:
        gray[red - np.maximum(green, blue) > GRID_REDNESS] = 255
    ink = Image.fromarray(255 - gray)
    scale = min(params.width / ink.width, params.height / ink.height)
    size = (max(1, round(ink.width * scale)), max(1, round(ink.height * scale)))
    ink = ink.resize(size, Image.Resampling.LANCZOS)
    frame = np.zeros((params.height, params.width), dtype=np.uint8)
    top, left = (params.height - size[1]) // 2, (params.width - size[0]) // 2
    frame[top : top + size[1], left : left + size[0]] = np.asarray(ink)
    return frame
