"""ECG images under the contract: format, pixel budget and minimum size are read from the header,
so an image announcing a billion pixels costs a header read, not gigabytes."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from cardiofusion.inputs.limits import IMAGE_FORMATS, InputLimits, InputRejected, first_line

Source = str | Path | bytes
# what Pillow raises for bytes it cannot decode (SyntaxError: some plugins' header parsers)
UNREADABLE = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError)


def image_size(source: Source, limits: InputLimits, label: str | None = None) -> tuple[int, int]:
    """(width, height) from the header, after every header check; nothing is decoded."""
    with _checked(source, limits, label) as image:
        return image.size


@contextmanager
def open_image(source: Source, limits: InputLimits, label: str | None = None
               ) -> Iterator[Image.Image]:
    """The decoded image (any mode), once the header is within the contract; closed (its
    memory released) when the block ends, so use it inside the block."""
    with _checked(source, limits, label) as image:
        try:
            image.load()
        except UNREADABLE as exc:
            raise _rejected(label, source, "image_unreadable",
                            f"not a readable image ({first_line(exc)})") from None
        yield image


@contextmanager
def _checked(source: Source, limits: InputLimits, label: str | None) -> Iterator[Image.Image]:
    handle = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        image = Image.open(handle, formats=IMAGE_FORMATS)
    except Image.DecompressionBombError as exc:
        raise _too_large(label, source, limits, str(exc)) from None
    except UNREADABLE as exc:
        raise _rejected(label, source, "image_unreadable",
                        f"not a readable image ({first_line(exc)}); expected one of "
                        f"{', '.join(IMAGE_FORMATS)}") from None
    with image:
        width, height = image.size
        if width * height > limits.max_pixels:
            raise _too_large(label, source, limits, f"{width}x{height} px")
        if min(width, height) < limits.min_image_px:
            raise _rejected(label, source, "image_too_small",
                            f"{width}x{height} px, below {limits.min_image_px} px")
        yield image


def _too_large(label: str | None, source: Source, limits: InputLimits, what: str
               ) -> InputRejected:
    return _rejected(label, source, "image_too_large",
                     f"{what[:80]}: over the {limits.max_pixels / 1e6:g} megapixel budget; "
                     "scan at 300 dpi or less, or resize it")


def _rejected(label: str | None, source: Source, reason: str, detail: str) -> InputRejected:
    name = label or ("uploaded image" if isinstance(source, bytes) else str(source))
    return InputRejected(name, "image", reason, detail)

