"""Builders of hostile and careless inputs, shared by the hostile-input tests.

Most are written byte by byte, so a header can claim what no encoder would write.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import soundfile as sf
from PIL import Image


def png_header(width: int, height: int) -> bytes:
    """A PNG announcing `width` x `height` pixels with no pixel data: a few dozen bytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I",
                                                                        zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def png(width: int = 300, height: int = 200, mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    image = Image.new("RGB", (width, height), "white")
    image.paste((0, 0, 0), (0, height // 2, width, height // 2 + 3))
    (image.convert(mode) if mode != "RGB" else image).save(buffer, format="PNG")
    return buffer.getvalue()


def wav(seconds: float = 5.0, rate: int = 2000, channels: int = 1, subtype: str = "PCM_16",
        fill: float | None = None) -> bytes:
    """A tone; `fill` replaces sample 10 of every channel (NaN, inf) in a float WAV."""
    t = np.arange(int(seconds * rate)) / rate
    data = np.repeat((0.3 * np.sin(2 * np.pi * 50 * t))[:, None], channels, axis=1)
    if fill is not None:
        data[10] = fill
    buffer = io.BytesIO()
    sf.write(buffer, data, rate, format="WAV", subtype=subtype)
    return buffer.getvalue()


def wav_header(rate: int, frames: int, channels: int = 1, data: bytes | None = None) -> bytes:
    """A 16-bit PCM WAV whose header says `rate` and `frames`; `data` is what follows (by
    default exactly the frames it announces, as silence)."""
    size = frames * channels * 2
    body = bytes(size) if data is None else data
    fmt = struct.pack("<HHIIHH", 1, channels, rate, (rate * channels * 2) % 2**32, channels * 2, 16)
    return (b"RIFF" + struct.pack("<I", 36 + size) + b"WAVE" + b"fmt " + struct.pack("<I", 16)
            + fmt + b"data" + struct.pack("<I", size) + body)
