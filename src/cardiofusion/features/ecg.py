"""ECG printout scan → fixed-size grayscale "ink" image.

Any image mode Pillow reads becomes grayscale; the red/pink grid paper is optionally removed so
the network sees the traces, and the page is fitted into a fixed frame keeping its aspect ratio.
Stored inverted (ink = 255, paper = 0) so padding and background are both zero.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageChops

from cardiofusion.config import EcgParams
from cardiofusion.inputs import DEFAULT_LIMITS, InputLimits, InputRejected, open_image
from cardiofusion.inputs.images import UNREADABLE

GRID_REDNESS = 40  # red minus the larger of green/blue above this is grid paper, not ink
GRID_MASK = [255 if redness > GRID_REDNESS else 0 for redness in range(256)]
# ITU-R 601 luma floored, (299 R + 587 G + 114 B) // 1000, as the first decoder computed it:
# Pillow rounds a matrix conversion, and the offset turns that rounding into this floor for
# every one of the 2^24 colours (the sums are multiples of 1/1000).
FLOORED_LUMA = (0.299, 0.587, 0.114, -0.4995)


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
    """uint8 array (height x width), ink bright on a dark background.

    Every step is one of Pillow's C band operations on uint8 planes (luma, redness mask,
    inversion, Lanczos), so a page costs a few bytes per pixel and no per-pixel Python or
    int32 temporaries."""
    rgb_image = image if image.mode == "RGB" else image.convert("RGB")
    gray = rgb_image.convert("L", matrix=FLOORED_LUMA)
    if params.remove_grid:
        red, green, blue = rgb_image.split()
        redness = ImageChops.subtract(red, ImageChops.lighter(green, blue))  # clipped at 0
        gray = ImageChops.lighter(gray, redness.point(GRID_MASK))  # grid paper → white
    return fit_to_frame(ImageChops.invert(gray), params)


def fit_to_frame(ink: Image.Image, params: EcgParams) -> np.ndarray:
    """A grayscale page shrunk (Lanczos) into height x width, aspect kept, centred on zeros."""
    scale = min(params.width / ink.width, params.height / ink.height)
    size = (max(1, round(ink.width * scale)), max(1, round(ink.height * scale)))
    ink = ink.resize(size, Image.Resampling.LANCZOS)
    frame = np.zeros((params.height, params.width), dtype=np.uint8)
    top, left = (params.height - size[1]) // 2, (params.width - size[0]) // 2
    frame[top : top + size[1], left : left + size[0]] = np.asarray(ink)
    return frame
