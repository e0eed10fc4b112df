"""ECG printout scan → fixed-size grayscale "ink" image.

Any image mode Pillow reads becomes grayscale; the red/pink grid paper is optionally removed so
the network sees the traces, and the page is fitted into a fixed frame keeping its aspect ratio.
Stored inverted (ink = 255, paper = 0) so padding and background are both zero.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from cardiofusion.config import EcgParams
from cardiofusion.inputs import DEFAULT_LIMITS, InputLimits, InputRejected, open_image
from cardiofusion.inputs.images import UNREADABLE

GRID_REDNESS = 40  # red minus the larger of green/blue above this is grid paper, not ink
STRIP_ROWS = 256  # rows converted to gray at a time: int32 temporaries stay a few MB


def load_image(source: str | Path | bytes, name: str | None = None,
               limits: InputLimits = DEFAULT_LIMITS) -> Image.Image:
    """Decode to RGB (transparency composited on white) within the input contract; errors
    name the input."""
    with open_image(source, limits, name) as image:
        try:
            return _to_rgb(image)
        except UNREADABLE as exc:  # a mode Pillow cannot convert, e.g. LAB
            raise InputRejected(name or "uploaded image", "image", "image_unreadable",
                                f"image mode {image.mode} cannot be read ({exc})") from None


def _to_rgb(image: Image.Image) -> Image.Image:
    """Every step works in place or frees its input: a large image peaks near 16 B/px."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        low = values.min()
        span = max(values.max() - low, 1e-9)
        values -= low
        values /= span
        values *= 255
        scaled = values.astype(np.uint8)
        del values
        return Image.fromarray(scaled).convert("RGB")
    if image.mode in ("RGBA", "LA", "P", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        composite = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)),
                                          rgba)
        del rgba
        return composite.convert("RGB")
    return image.convert("RGB")


def ecg_features(image: Image.Image, params: EcgParams) -> np.ndarray:
    """uint8 array (height x width), ink bright on a dark background."""
    rgb_image = image if image.mode == "RGB" else image.convert("RGB")
    gray = np.empty((rgb_image.height, rgb_image.width), dtype=np.uint8)
    for top in range(0, rgb_image.height, STRIP_ROWS):
        strip = gray[top : top + STRIP_ROWS]
        box = (0, top, rgb_image.width, top + len(strip))
        strip[:] = _gray(np.asarray(rgb_image.crop(box)), params.remove_grid)
    np.subtract(255, gray, out=gray)
    ink = Image.fromarray(gray)
    scale = min(params.width / ink.width, params.height / ink.height)
    size = (max(1, round(ink.width * scale)), max(1, round(ink.height * scale)))
    ink = ink.resize(size, Image.Resampling.LANCZOS)
    frame = np.zeros((params.height, params.width), dtype=np.uint8)
    top, left = (params.height - size[1]) // 2, (params.width - size[0]) // 2
    frame[top : top + size[1], left : left + size[0]] = np.asarray(ink)
    return frame


def _gray(rgb: np.ndarray, remove_grid: bool) -> np.ndarray:
    """Luma of an RGB strip; red grid paper turned white when asked."""
    red, green, blue = (rgb[..., channel].astype(np.int32) for channel in range(3))
    gray = ((red * 299 + green * 587 + blue * 114) // 1000).astype(np.uint8)
    if remove_grid:
        gray[red - np.maximum(green, blue) > GRID_REDNESS] = 255
    return gray
