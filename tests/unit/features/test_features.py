import io

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from PIL import Image
from threadpoolctl import threadpool_limits

from cardiofusion.config import EcgParams, PcgParams
from cardiofusion.errors import CardiofusionError
from cardiofusion.features.clinical import ClinicalEncoder
from cardiofusion.features.ecg import ecg_features, load_image
from cardiofusion.features.ecg_signal import signal_features
from cardiofusion.features.patient import ecg_array, pcg_array
from cardiofusion.features.pcg import frame_count, load_audio, pcg_features

PCG = PcgParams()
ECG = EcgParams()


def _spectrogram(source) -> np.ndarray:
    signal, rate = load_audio(source)
    features, _ = pcg_features(signal, rate, PCG)
    return features


def test_every_real_recording_gives_a_finite_spectrogram_of_one_shape(real_data):
    paths = sorted((real_data / "pcg").glob("*.wav"))
    assert len(paths) > 300
    with threadpool_limits(limits=1):  # as in featurize's workers; threaded BLAS halves speed
        for path in paths:
            features, _ = pcg_array(path, PCG)
            assert features.shape == (PCG.n_mels, frame_count(PCG)), path
            assert features.dtype == np.float32 and np.isfinite(features).all(), path


def test_every_real_scan_gives_an_ink_image_of_one_shape(real_data):
    paths = sorted((real_data / "ecg").glob("*.jpg"))
    assert len(paths) > 50
    for path in paths:
        image = ecg_array(path, ECG)
        assert image.shape == (ECG.height, ECG.width) and image.dtype == np.uint8, path
        assert 0 < image.mean() < 128, path  # some ink, mostly paper


OGG = pytest.param(4000, 1, "VORBIS", "OGG", marks=pytest.mark.skipif(
    "OGG" not in sf.available_formats(), reason="this libsndfile has no OGG support"))


@pytest.mark.parametrize(("rate", "channels", "subtype", "fmt"), [
    (44100, 2, "PCM_16", "WAV"), (2000, 1, "PCM_U8", "WAV"), (4000, 1, "PCM_24", "FLAC"), OGG,
])
def test_any_rate_channel_count_and_format_gives_the_same_shape(rate, channels, subtype, fmt):
    t = np.arange(int(rate * 12)) / rate
    tone = 0.3 * np.sin(2 * np.pi * 60 * t) * (np.sin(2 * np.pi * 1.2 * t) > 0.8)
    data = np.repeat(tone[:, None], channels, axis=1)
    buffer = io.BytesIO()
    sf.write(buffer, data, rate, subtype=subtype, format=fmt)
    features = _spectrogram(buffer.getvalue())
    assert features.shape == (PCG.n_mels, frame_count(PCG))
    assert np.isfinite(features).all()


def test_short_recording_is_padded_and_says_so():
    signal = np.random.default_rng(0).normal(size=2000 * 3).astype(np.float32)
    features, padded = pcg_features(signal, 2000, PCG)
    assert padded and features.shape == (PCG.n_mels, frame_count(PCG))


@pytest.mark.parametrize("mode", ["RGBA", "P", "I;16", "L", "1"])
def test_any_image_mode_gives_the_same_shape(mode):
    rgb = Image.new("RGB", (500, 300), "white")
    rgb.paste((0, 0, 0), (0, 140, 500, 146))
    image = rgb.convert("L").convert("I;16") if mode == "I;16" else rgb.convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    features = ecg_features(load_image(buffer.getvalue()), ECG)
    assert features.shape == (ECG.height, ECG.width)
    assert features.max() > 100  # the black line survives as ink


def test_red_grid_is_removed_but_black_ink_kept():
    page = np.full((300, 500, 3), 255, dtype=np.uint8)
    page[:, ::10] = (240, 150, 150)  # pink grid
    page[150:153, :] = 0  # trace
    image = ecg_features(Image.fromarray(page), ECG)
    assert image[:80].max() < 10  # grid gone
    assert image.max() > 100  # trace kept


def test_luma_is_floored_for_every_colour():
    """The page's gray level is (299 R + 587 G + 114 B) // 1000 for all 2^24 colours."""
    codes = np.arange(2**24, dtype=np.uint32)
    rgb = np.stack([codes >> 16, (codes >> 8) & 255, codes & 255], axis=-1).astype(np.uint8)
    params = EcgParams(height=4096, width=4096, remove_grid=False)
    ink = ecg_features(Image.fromarray(rgb.reshape(4096, 4096, 3)), params)
    red, green, blue = (rgb[:, channel].astype(np.int32) for channel in range(3))
    expected = 255 - (red * 299 + green * 587 + blue * 114) // 1000
    assert np.array_equal(ink.ravel(), expected)


def test_corrupt_files_raise_errors_naming_them(tmp_path):
    bad_audio = tmp_path / "broken.wav"
    bad_audio.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt ")
    with pytest.raises(CardiofusionError, match="broken.wav"):
        load_audio(bad_audio)
    bad_image = tmp_path / "scan.jpg"
    bad_image.write_text("not an image")
    with pytest.raises(CardiofusionError, match="scan.jpg"):
        load_image(bad_image)


def test_clinical_encoder_uses_train_statistics_and_marks_missing():
    train = pd.DataFrame({"age": [40.0, 60.0, np.nan], "cp": [0.0, 1.0, 2.0]})
    encoder = ClinicalEncoder.fit(train, ["age", "cp"], ["cp"])
    assert encoder.medians == {"age": 50.0}
    assert encoder.feature_names == ["age", "age_missing", "cp=0", "cp=1", "cp=2", "cp_missing"]
    encoded = encoder.transform(train)
    assert np.allclose(encoded.mean(axis=0), 0, atol=1e-6)
    row = encoder.transform_row({"age": None, "cp": 7.0})  # missing age, unseen category
    assert row[1] > 0 and row[5] > 0
    again = ClinicalEncoder.from_dict(encoder.to_dict())
    assert np.array_equal(again.transform(train), encoded)


def test_text_categories_booleans_and_missing_spellings_encode_as_training_saw_them():
    train = pd.DataFrame({"sex": ["Female", "Male", " Male ", "NA"],
                          "smoker": ["True", "False", "True", "nan"],
                          "code": [1.0, 2.0, 1.0, np.nan]})
    encoder = ClinicalEncoder.fit(train, ["sex", "smoker", "code"], ["sex", "smoker", "code"])
    assert encoder.categorical == {"sex": ["Female", "Male"], "smoker": ["False", "True"],
                                   "code": ["1", "2"]}
    names = encoder.feature_names
    row = dict(zip(names, encoder.transform_row({"sex": "Male", "smoker": None, "code": 2.0}),
                   strict=True))
    assert row["sex=Male"] > 0 > row["sex=Female"]
    assert row["smoker_missing"] > 0 and row["code=2"] > 0
    unseen = dict(zip(names, encoder.transform_row({"sex": "Other", "smoker": "True",
                                                    "code": "1"}), strict=True))
    assert unseen["sex_missing"] > 0 and unseen["sex=Male"] < 0 < unseen["smoker=True"]
    saved = ClinicalEncoder.from_dict(encoder.to_dict())
    assert np.array_equal(saved.transform(train), encoder.transform(train))


def test_categorical_columns_are_inferred_from_integer_values(tiny_params, tiny_demo, tmp_path,
                                                             monkeypatch, capsys):
    from cardiofusion.data.validate import run_validate
    from cardiofusion.features.featurize import run_featurize

    monkeypatch.chdir(tmp_path)
    data = tiny_params.data.model_copy(update={"root": tiny_demo.parent})
    clinical = tiny_params.clinical.model_copy(update={"categorical": "auto"})
    params = tiny_params.model_copy(update={"data": data, "clinical": clinical})
    run_validate(params)
    features = run_featurize(params)
    inferred = set(features.spec.clinical.categorical)
    assert {"sex", "cp", "restecg", "slp", "caa", "thall", "fbs", "exng"} <= inferred
    assert not inferred & {"age", "trtbps", "chol", "thalachh", "oldpeak"}  # many values / float
    assert "Categorical clinical columns (auto):" in capsys.readouterr().out


def test_record_scale_keeps_the_leads_relative_amplitudes_that_lead_scale_removes():
    t = np.arange(2500) / 250
    beat = np.sin(2 * np.pi * 1.2 * t) + 0.3 * np.sin(2 * np.pi * 7 * t)
    samples = np.stack([0.1 * beat, 2.0 * beat])  # a low-voltage lead beside a tall one, mV
    per_lead = signal_features(samples, 250, ECG)
    per_record = signal_features(samples, 250, EcgParams(signal_scale="record"))
    assert per_lead.std(axis=1) == pytest.approx([1, 1], rel=1e-3)
    assert per_record.std() == pytest.approx(1, rel=1e-3)
    assert per_record[1].std() / per_record[0].std() == pytest.approx(20, rel=1e-3)
    assert per_record[1] / 20 == pytest.approx(per_record[0], abs=1e-5)
