"""The bounds of the input contract and the error that names which one an input broke.

The budgets are constants, not params: the README states the worst-case memory of one request
from them, and a test holds it. The minimums are validate's params, so the API refuses exactly
what validate drops.
"""

from __future__ import annotations

from dataclasses import dataclass

from cardiofusion.config import ValidateParams
from cardiofusion.errors import CardiofusionError

# 12.5 megapixels: a 12 MP phone photo (4032 x 3024) or a 300 dpi A4 scan (3508 x 2480) fits;
# the model sees 352 x 192. Decoding costs at most about 16 bytes per pixel (README).
MAX_PIXELS = 12_500_000
MIN_SAMPLE_RATE = 1_000  # Hz; the heart-sound band reaches 400 Hz
MAX_SAMPLE_RATE = 192_000  # Hz; studio rates, far above any stethoscope
MAX_CHANNELS = 16
MAX_SECONDS = 3_600.0  # one hour; only a window of it is decoded (recordings.py, signals.py)
MIN_ECG_RATE = 50  # Hz; the QRS complex needs at least this
MAX_ECG_RATE = 10_000  # Hz; far above any ECG machine's
MAX_LEADS = 16
IMAGE_FORMATS = ("PNG", "JPEG", "TIFF", "BMP", "GIF", "WEBP")  # not EPS: it runs Ghostscript
AUDIO_FORMATS = frozenset({"WAV", "WAVEX", "RF64", "W64", "FLAC", "OGG", "MP3", "AIFF"})


@dataclass(frozen=True)
class InputLimits:
    """What an input must satisfy; defaults equal params.yaml's validate section."""

    min_image_px: int = 64
    min_seconds: float = 2.0
    max_pixels: int = MAX_PIXELS
    min_sample_rate: int = MIN_SAMPLE_RATE
    max_sample_rate: int = MAX_SAMPLE_RATE
    max_channels: int = MAX_CHANNELS
    max_seconds: float = MAX_SECONDS
    min_ecg_seconds: float = 2.0
    min_ecg_rate: int = MIN_ECG_RATE
    max_ecg_rate: int = MAX_ECG_RATE
    max_leads: int = MAX_LEADS

    @classmethod
    def from_params(cls, rules: ValidateParams) -> InputLimits:
        return cls(min_image_px=rules.min_image_px, min_seconds=rules.min_pcg_seconds,
                   min_ecg_seconds=rules.min_ecg_seconds)


DEFAULT_LIMITS = InputLimits()


class InputRejected(CardiofusionError):
    """An input outside the contract: `kind` is "image", "recording" or "signal", `reason`
    a stable name (validate counts by it, the API maps it to a status), `detail` the words."""

    def __init__(self, label: str, kind: str, reason: str, detail: str) -> None:
        super().__init__(f"{label}: {detail}")
        self.label, self.kind, self.reason, self.detail = label, kind, reason, detail

    def __reduce__(self) -> tuple[type, tuple[str, str, str, str]]:
        """Picklable, so a featurize worker's refusal reaches the parent intact."""
        return type(self), (self.label, self.kind, self.reason, self.detail)


def first_line(exc: BaseException) -> str:
    """A decoder's message, short, never empty, without the repr of an in-memory file."""
    text = (str(exc).splitlines() or [""])[0]
    if "BytesIO" in text:
        text = "unrecognised content"
    return text[:120] or type(exc).__name__
