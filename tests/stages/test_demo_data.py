import hashlib

import numpy as np
import pandas as pd
import soundfile as sf
from PIL import Image

from cardiofusion.demo.clinical import CLINICAL_COLUMNS
from cardiofusion.demo.generate import generate_demo
from cardiofusion.demo.latent import sample_patient


def test_csv_has_the_shape_of_a_real_metadata_file(tiny_demo):
    table = pd.read_csv(tiny_demo)
    assert list(table.columns) == ["patient_id", "ecg_path", "pcg_path", *CLINICAL_COLUMNS,
                                   "output"]
    assert set(table["output"]) == {0, 1}
    assert table["ecg_path"].str.match(r"ecg/P\d+\.(png|jpg)$").all()
    assert table["pcg_path"].str.match(r"pcg/P\d+\.wav$").all()


def test_files_are_real_images_and_16_bit_recordings(tiny_demo):
    root = tiny_demo.parent
    table = pd.read_csv(tiny_demo)
    formats, rates, channels = set(), set(), set()
    for ecg, pcg in zip(table["ecg_path"], table["pcg_path"], strict=True):
        with Image.open(root / ecg) as image:
            formats.add(image.format)
            assert image.mode == "RGB" and image.width >= 700
        info = sf.info(str(root / pcg))
        assert info.subtype == "PCM_16"
        assert 4 <= info.duration <= 9.01
        rates.add(info.samplerate)
        channels.add(info.channels)
    assert formats == {"PNG", "JPEG"}
    assert rates <= {2000, 4000} and 2000 in rates
    assert 1 in channels


def test_same_seed_gives_identical_files(tiny_params, tiny_demo, tmp_path):
    again = generate_demo(
        tiny_params.demo.model_copy(update={"out_dir": tmp_path, "patients": 6}), tiny_params.seed
    )
    first = pd.read_csv(tiny_demo).head(6)
    second = pd.read_csv(again)
    pd.testing.assert_frame_equal(first, second)
    for name in second["ecg_path"].tolist() + second["pcg_path"].tolist():
        digest = [hashlib.sha256((d / name).read_bytes()).hexdigest()
                  for d in (tiny_demo.parent, tmp_path)]
        assert digest[0] == digest[1], name


def test_absent_modalities_blank_cells_of_the_same_patients(tiny_params, tiny_demo, tmp_path):
    """`demo.missing` draws from its own stream: the complete and the default demo hold the same
    patients, so comparing them measures the absence, not another draw of patients."""
    missing = tiny_params.demo.missing.model_copy(update={"ecg": 0.4, "pcg": 0.4, "clinical": 0.4})
    again = generate_demo(tiny_params.demo.model_copy(
        update={"out_dir": tmp_path, "patients": 12, "missing": missing}), tiny_params.seed)
    complete, absent = pd.read_csv(tiny_demo).head(12), pd.read_csv(again)
    clinical = list(CLINICAL_COLUMNS)
    assert absent["ecg_path"].isna().any() and absent["pcg_path"].isna().any()
    assert absent[clinical].isna().all(axis=1).any()
    pd.testing.assert_series_equal(complete["output"], absent["output"])
    kept = absent[clinical].notna().any(axis=1)
    pd.testing.assert_frame_equal(complete.loc[kept, clinical], absent.loc[kept, clinical])
    for column in ("ecg_path", "pcg_path"):
        for full, name in zip(complete[column], absent[column], strict=True):
            if isinstance(name, str):
                assert name == full
                assert (tmp_path / name).read_bytes() == (tiny_demo.parent / full).read_bytes()
            else:
                assert not (tmp_path / full).exists()


def test_class_ratio_is_about_one_healthy_to_ten_abnormal():
    rng = np.random.default_rng(0)
    signal = {"ecg": 1.0, "pcg": 1.0, "clinical": 1.0}
    labels = [sample_patient(rng, 10 / 11, signal).label for _ in range(4000)]
    assert 0.07 < 1 - np.mean(labels) < 0.11


def test_each_modality_misses_some_abnormal_patients():
    """Some abnormal patients show findings in only some modalities, so fusion beats one."""
    rng = np.random.default_rng(1)
    signal = {"ecg": 1.0, "pcg": 1.0, "clinical": 1.0}
    patients = [sample_patient(rng, 0.95, signal) for _ in range(2000)]
    abnormal = [p for p in patients if p.label == 1]
    clinical_silent = np.mean([p.clinical_shift == 0 for p in abnormal])
    pcg_murmur_free = np.mean([p.pcg.systolic_murmur == 0 and p.pcg.s3 == 0 and p.pcg.s4 == 0
                               and p.pcg.diastolic_murmur == 0 for p in abnormal])
    assert 0.2 < clinical_silent < 0.5
    assert 0.2 < pcg_murmur_free < 0.8


def test_zero_signal_strength_removes_a_modalitys_label_signal():
    rng = np.random.default_rng(2)
    signal = {"ecg": 1.0, "pcg": 1.0, "clinical": 0.0}
    patients = [sample_patient(rng, 0.5, signal) for _ in range(500)]
    assert all(p.clinical_shift == 0 for p in patients)
