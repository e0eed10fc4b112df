"""Heart-sound recordings under the contract: format, sample rate, channels, duration and
completeness come from the header; then only the span the model needs is decoded, block by
block, mixed down to mono and checked for non-finite samples.

The span is the model's window plus one window of context on each side that has audio (the
band-pass filter and the loudness normalisation see the same surroundings for any recording up
to three windows long), so a one-hour file costs what a 30 s one does.
"""

from __future__ import annotations

import io
import math
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf

from cardiofusion.inputs.limits import AUDIO_FORMATS, InputLimits, InputRejected, first_line

Source = str | Path | bytes
BLOCK_FRAMES = 1 << 16  # frames decoded at a time: bounds memory whatever the channel count
UNREADABLE = (sf.LibsndfileError, RuntimeError, TypeError, ValueError, EOFError, struct.error)


@dataclass(frozen=True)
class Recording:
    samples: np.ndarray  # mono float32: the decoded span
    rate: int
    seconds: float  # the whole recording's duration


def read_recording(source: Source, limits: InputLimits, window_s: float, crop: str = "center",
                   label: str | None = None) -> Recording:
    """The span around the window `crop` ("start" or "center") picks, as mono float32."""
    with _opened(source, limits, label) as (audio, name):
        frames, rate = audio.frames, audio.samplerate
        window = math.ceil(window_s * rate)
        span = min(frames, window * (2 if crop == "start" else 3))
        start = 0 if crop == "start" else (frames - span) // 2
        samples = np.empty(span, dtype=np.float32)
        filled = 0
        for block in _blocks(audio, start, span, name):
            samples[filled : filled + len(block)] = block
            filled += len(block)
        if filled == 0:
            raise InputRejected(name, "recording", "audio_no_samples", "audio has no samples")
        return Recording(samples[:filled], rate, frames / rate)


def recording_seconds(source: Source, limits: InputLimits, label: str | None = None) -> float:
    """The duration, after every header check; no sample is decoded."""
    with _opened(source, limits, label) as (audio, _):
        return audio.frames / audio.samplerate


def check_all_samples(source: Source, limits: InputLimits, label: str | None = None) -> None:
    """Decode the whole recording block by block (nothing kept): readable and finite."""
    with _opened(source, limits, label) as (audio, name):
        for _ in _blocks(audio, 0, audio.frames, name):
            pass


@contextmanager
def _opened(source: Source, limits: InputLimits, label: str | None
            ) -> Iterator[tuple[sf.SoundFile, str]]:
    name = label or ("uploaded audio" if isinstance(source, bytes) else str(source))

    def reject(reason: str, detail: str) -> InputRejected:
        return InputRejected(name, "recording", reason, detail)

    handle: BinaryIO | str = io.BytesIO(source) if isinstance(source, bytes) else str(source)
    try:
        audio = sf.SoundFile(handle)
    except UNREADABLE as exc:
        raise reject("audio_unreadable", f"not readable audio ({first_line(exc)})") from None
    with audio:
        if audio.format not in AUDIO_FORMATS:
            raise reject("audio_unreadable", f"{audio.format} audio is not accepted; send one "
                                             f"of {', '.join(sorted(AUDIO_FORMATS))}")
        rate, channels = audio.samplerate, audio.channels
        if not limits.min_sample_rate <= rate <= limits.max_sample_rate:
            raise reject("audio_sample_rate", f"sample rate {rate} Hz outside "
                         f"{limits.min_sample_rate}-{limits.max_sample_rate} Hz")
        if not 1 <= channels <= limits.max_channels:
            raise reject("audio_channels",
                         f"{channels} channels, more than {limits.max_channels}")
        if audio.format.startswith("WAV"):
            missing = wav_missing_bytes(source)
            if missing:
                raise reject("audio_truncated",
                             f"WAV data chunk is {missing} bytes short of its header "
                             "(an interrupted copy?)")
        seconds = audio.frames / rate
        if audio.frames <= 0:
            raise reject("audio_no_samples", "audio has no samples")
        if seconds < limits.min_seconds:
            raise reject("audio_too_short", f"{seconds:.2f} s, below {limits.min_seconds} s")
        if seconds > limits.max_seconds:
            raise reject("audio_too_long", f"{seconds:.0f} s, over {limits.max_seconds:g} s")
        yield audio, name


def _blocks(audio: sf.SoundFile, start: int, frames: int, name: str) -> Iterator[np.ndarray]:
    """Mono float32 blocks of `frames` frames from `start` (fewer if the file ends early)."""
    try:
        if start:
            audio.seek(start)
        left = frames
        while left > 0:
            block = audio.read(min(BLOCK_FRAMES, left), dtype="float32", always_2d=True)
            if not len(block):
                return
            if not np.isfinite(block).all():
                raise InputRejected(name, "recording", "audio_not_finite",
                                    "audio has NaN or infinite samples")
            left -= len(block)
            yield block[:, 0] if block.shape[1] == 1 else block.mean(axis=1)
    except UNREADABLE as exc:
        raise InputRejected(name, "recording", "audio_unreadable",
                            f"audio data cannot be decoded ({first_line(exc)})") from None


def wav_missing_bytes(source: Source) -> int:
    """Bytes the RIFF `data` chunk declares but the file lacks (0 when complete).

    libsndfile silently shortens a truncated WAV to what is there; an interrupted copy would then
    look like a short, valid recording.
    """
    if isinstance(source, bytes):
        return _missing(io.BytesIO(source), len(source))
    path = Path(source)
    with path.open("rb") as handle:
        return _missing(handle, path.stat().st_size)


def _missing(handle: BinaryIO, size: int) -> int:
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

