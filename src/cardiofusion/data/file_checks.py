"""Per-file checks for the validate stage: cheap header reads for every file, full decodes for
a sample. Each check returns `(reason, detail)` or None."""

from __future__ import annotations

import struct
from pathlib import Path

import soundfile as sf
from PIL import Image, UnidentifiedImageError

Issue = tuple[str, str] | None


def check_image(path: Path, min_px: int, full_decode: bool) -> Issue:
    """Exists, non-empty, identifiable by Pillow, not tiny; fully decoded when sampled."""
    issue = _check_file(path)
    if issue:
        return issue
    try:
        with Image.open(path) as image:
            width, height = image.size
            if full_decode:
                image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        return "image_unreadable", f"{path}: not a readable image ({exc})"
    if min(width, height) < min_px:
        return "image_too_small", f"{path}: {width}x{height} px, below {min_px} px"
    return None


def check_audio(path: Path, min_seconds: float, full_decode: bool) -> Issue:
    """Exists, non-empty, readable by soundfile, complete (WAV), long enough."""
    issue = _check_file(path)
    if issue:
        return issue
    try:
        info = sf.info(str(path))
        if full_decode:
            sf.read(str(path), dtype="float32")
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        return "audio_unreadable", f"{path}: not readable audio ({exc})"
    if info.format == "WAV":
        missing = _wav_missing_bytes(path)
        if missing:
            return (
                "audio_truncated",
                f"{path}: WAV data chunk is {missing} bytes short of its header",
            )
    if info.duration < min_seconds:
        return "audio_too_short", f"{path}: {info.duration:.2f} s, below {min_seconds} s"
    return None


def _check_file(path: Path) -> Issue:
    if not path.is_file():
        return "file_missing", f"{path}: file not found (check data.root / data.path_rewrite)"
    if path.stat().st_size == 0:
        return "file_empty", f"{path}: file is empty"
    return None


def _wav_missing_bytes(path: Path) -> int:
    """Bytes the RIFF `data` chunk declares but the file lacks (0 when complete).

    libsndfile silently shortens a truncated WAV to what is there; an interrupted copy would then
    look like a short, valid recording.
    """
    size = path.stat().st_size
    with path.open("rb") as handle:
        if handle.read(12)[8:12] != b"WAVE":
            return 0
        position = 12
        while position + 8 <= size:
            handle.seek(position)
            chunk_id, chunk_size = struct.unpack("<4sI", handle.read(8))
            if chunk_id == b"data":
                return max(0, position + 8 + chunk_size - size)
            position += 8 + chunk_size + (chunk_size & 1)
    return 0
