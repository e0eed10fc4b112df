"""The input contract (cardiofusion.inputs) against what an attacker or a careless user sends:
every refusal is an InputRejected with a named reason, raised before anything large is decoded."""

import io
import pickle

import numpy as np
import pytest
import soundfile as sf
from hostile_inputs import png, png_header, wav, wav_header

from cardiofusion.config import EcgParams, PcgParams
from cardiofusion.data.file_checks import check_audio, check_image
from cardiofusion.features.patient import ecg_array, pcg_array
from cardiofusion.inputs import (
    DEFAULT_LIMITS,
    InputRejected,
    check_all_samples,
    image_size,
    read_recording,
)
from cardiofusion.inputs.limits import MAX_PIXELS

PCG, ECG = PcgParams(), EcgParams()
EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\nshowpage\n"

HOSTILE_IMAGES = {
    "a billion pixels announced in 60 bytes": (png_header(40_000, 25_000), "image_too_large"),
    "just over the pixel budget": (png_header(5_000, MAX_PIXELS // 5_000 + 1),
                                   "image_too_large"),
    "one pixel": (png(1, 1), "image_too_small"),
    "a 4000 x 1 sliver": (png_header(4_000, 1), "image_too_small"),
    "cut short": (png()[:60], "image_unreadable"),
    "PostScript, which Pillow would hand to Ghostscript": (EPS, "image_unreadable"),
    "a WAV": (wav(), "image_unreadable"),
    "text": (b"patient 12, see scan", "image_unreadable"),
    "no bytes": (b"", "image_unreadable"),
}


@pytest.mark.parametrize("case", HOSTILE_IMAGES.values(), ids=HOSTILE_IMAGES.keys())
def test_hostile_images_are_refused_with_a_named_reason(case):
    data, reason = case
    with pytest.raises(InputRejected) as refused:
        ecg_array(data, ECG)
    assert refused.value.reason == reason and refused.value.kind == "image"
    assert str(refused.value).startswith("uploaded image: ")


def test_an_image_at_the_budget_passes_the_header_checks():
    assert image_size(png_header(5_000, MAX_PIXELS // 5_000), DEFAULT_LIMITS)[0] == 5_000


@pytest.mark.parametrize("mode", ["RGBA", "P", "LA", "I;16", "1", "CMYK"])
def test_every_image_mode_within_the_contract_is_read(mode):
    data = png(300, 200, mode) if mode != "CMYK" else _jpeg_cmyk()
    assert ecg_array(data, ECG).shape == (ECG.height, ECG.width)


def _jpeg_cmyk() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("CMYK", (300, 200), (0, 0, 0, 0)).save(buffer, format="JPEG")
    return buffer.getvalue()


def _nan_float_wav(where: int, seconds: float = 40.0) -> bytes:
    data = np.zeros(int(seconds * 2000), dtype=np.float32)
    data[where] = np.nan
    buffer = io.BytesIO()
    sf.write(buffer, data, 2000, format="WAV", subtype="FLOAT")
    return buffer.getvalue()


HOSTILE_RECORDINGS = {
    "a sample rate of 1 Hz (a huge upsampling)": (wav_header(1, 600), "audio_sample_rate"),
    "a sample rate of 10 MHz": (wav_header(10_000_000, 20_000_000 // 1000), "audio_sample_rate"),
    "one sample": (wav_header(2000, 1), "audio_too_short"),
    "no samples": (wav_header(2000, 0), "audio_no_samples"),
    "1.5 s, below validate's 2 s": (wav(1.5), "audio_too_short"),
    "64 channels": (wav_header(2000, 4000 * 3, channels=64), "audio_channels"),
    "a WAV cut short": (wav(5.0)[:5000], "audio_truncated"),
    "a header claiming 4 GB of data": (wav_header(2000, 2**30, data=bytes(8000)),
                                       "audio_truncated"),
    "NaN samples": (wav(5.0, subtype="FLOAT", fill=np.nan), "audio_not_finite"),
    "infinite samples": (wav(5.0, subtype="DOUBLE", fill=np.inf), "audio_not_finite"),
    "a PNG": (png(), "audio_unreadable"),
    "text": (b"lub dub lub dub", "audio_unreadable"),
    "no bytes": (b"", "audio_unreadable"),
}


@pytest.mark.parametrize("case", HOSTILE_RECORDINGS.values(), ids=HOSTILE_RECORDINGS.keys())
def test_hostile_recordings_are_refused_with_a_named_reason(case):
    data, reason = case
    with pytest.raises(InputRejected) as refused:
        pcg_array(data, PCG)
    assert refused.value.reason == reason and refused.value.kind == "recording"
    assert str(refused.value).startswith("uploaded audio: ")


def test_a_format_outside_the_contract_is_refused_even_if_libsndfile_reads_it():
    buffer = io.BytesIO()
    sf.write(buffer, np.zeros(6000, dtype=np.float32), 2000, format="MAT5")
    with pytest.raises(InputRejected, match="MAT5 audio is not accepted"):
        pcg_array(buffer.getvalue(), PCG)


def test_over_an_hour_is_refused_from_the_header():
    with pytest.raises(InputRejected) as refused:
        pcg_array(wav_header(1000, 3_601_000, data=bytes(2 * 3_601_000)), PCG)
    assert refused.value.reason == "audio_too_long"


def test_only_the_window_and_its_context_are_decoded():
    """A 20-minute recording at 2 kHz: 30 s (three 10 s windows) are decoded, the centre ones."""
    samples = np.zeros(20 * 60 * 2000, dtype=np.float32)
    middle = len(samples) // 2
    samples[middle - 10] = 0.5
    buffer = io.BytesIO()
    sf.write(buffer, samples, 2000, format="FLAC")
    recording = read_recording(buffer.getvalue(), DEFAULT_LIMITS, PCG.duration_s, "center")
    assert len(recording.samples) == 3 * 10 * 2000 and recording.seconds == 1200
    assert recording.samples.max() == np.float32(0.5)  # the centre is inside the span


def test_nan_outside_the_window_is_caught_by_validate_s_full_decode(tmp_path):
    data = _nan_float_wav(where=0)  # 40 s: the centre 30 s never see sample 0
    assert len(read_recording(data, DEFAULT_LIMITS, 10.0, "center").samples) == 60_000
    path = tmp_path / "nan_at_start.wav"
    path.write_bytes(data)
    with pytest.raises(InputRejected, match="NaN or infinite"):
        check_all_samples(path, DEFAULT_LIMITS)
    assert check_audio(path, 2.0, full_decode=True)[0] == "audio_not_finite"
    assert check_audio(path, 2.0, full_decode=False) is None  # a header check cannot tell


def test_validate_names_the_reason_and_the_file(tmp_path):
    huge = tmp_path / "huge.png"
    huge.write_bytes(png_header(40_000, 40_000))
    reason, detail = check_image(huge, 64, full_decode=False)
    assert reason == "image_too_large" and "huge.png" in detail
    cut = tmp_path / "cut.wav"
    cut.write_bytes(wav(5.0)[:5000])
    assert check_audio(cut, 2.0, full_decode=False)[0] == "audio_truncated"


def test_featurize_names_the_file_it_refuses(tmp_path):
    path = tmp_path / "P017.wav"
    path.write_bytes(wav(5.0, subtype="FLOAT", fill=np.inf))
    with pytest.raises(InputRejected, match=r"P017\.wav: audio has NaN or infinite samples"):
        pcg_array(path, PCG)


def test_a_refusal_survives_the_trip_from_a_featurize_worker():
    refused = InputRejected("a.wav", "recording", "audio_truncated", "cut short")
    back = pickle.loads(pickle.dumps(refused))
    assert (back.reason, back.kind, str(back)) == ("audio_truncated", "recording",
                                                   "a.wav: cut short")
