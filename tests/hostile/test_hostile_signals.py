"""ECG signal records under the input contract: each bound refused with its reason, from the
header where the header decides, and a header that points outside its folder refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import wfdb
from pyedflib import highlevel

from cardiofusion.config import EcgParams
from cardiofusion.features.patient import signal_array
from cardiofusion.inputs import DEFAULT_LIMITS, InputRejected, read_signal, signal_header
from cardiofusion.inputs.signals import check_all_signal_samples

RATE = 250


def wfdb_record(folder: Path, name: str = "r1", seconds: float = 10.0, leads=("I", "II"),
                signals: np.ndarray | None = None, rate: int = RATE, **extra) -> Path:
    """A real WFDB record written by `wfdb`; returns the header's path."""
    t = np.arange(int(seconds * rate)) / rate
    if signals is None:
        signals = np.stack([np.sin(2 * np.pi * (1 + i) * t) + 0.1 * np.cos(40 * t)
                            for i in range(len(leads))])
    wfdb.wrsamp(name, fs=rate, units=["mV"] * len(leads), sig_name=list(leads),
                p_signal=signals.T, fmt=["16"] * len(leads), write_dir=str(folder), **extra)
    return folder / f"{name}.hea"


def edf_record(path: Path, seconds: float = 10.0, leads=("I", "II"), rate: int = RATE) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    signals = [np.sin(2 * np.pi * (1 + i) * t) for i in range(len(leads))]
    headers = [highlevel.make_signal_header(lead, dimension="mV", sample_frequency=rate,
                                            physical_min=-2, physical_max=2) for lead in leads]
    highlevel.write_edf(str(path), signals, headers, file_type=1)
    return path


def _reason(path: Path, leads=("I", "II")) -> str:
    with pytest.raises(InputRejected) as caught:
        read_signal(path, DEFAULT_LIMITS, list(leads), 10.0)
    return caught.value.reason


def test_a_multi_lead_wfdb_record_reads_the_chosen_leads_in_order(tmp_path):
    header = wfdb_record(tmp_path, leads=("I", "II", "V1"))
    samples, rate = read_signal(header, DEFAULT_LIMITS, ["V1", "I"], 10.0)
    assert rate == RATE and samples.shape == (2, 2500)
    whole = wfdb.rdrecord(str(header.with_suffix(""))).p_signal.T
    assert np.allclose(samples[0], whole[2]) and np.allclose(samples[1], whole[0])


def test_a_second_non_ecg_signal_in_the_header_is_not_a_lead(tmp_path):
    t = np.arange(10 * RATE) / RATE
    header = wfdb_record(tmp_path, leads=("PCG", "ECG"),
                         signals=np.stack([np.sin(30 * t), np.sin(2 * np.pi * t)]))
    info = signal_header(header, DEFAULT_LIMITS)
    assert info.names == ["PCG", "ECG"] and info.ecg_leads == ["ECG"]
    features = signal_array(header, EcgParams(), ["ECG"])
    assert features.shape == (1, 2500) and features.dtype == np.float32
    assert abs(features.mean()) < 1e-3 and abs(features.std() - 1) < 1e-3


def test_an_edf_record_reads_like_a_wfdb_one(tmp_path):
    edf = edf_record(tmp_path / "r.edf", rate=500)
    samples, rate = read_signal(edf, DEFAULT_LIMITS, ["II"], 10.0)
    assert rate == 500 and samples.shape == (1, 5000)
    assert signal_array(edf, EcgParams(), ["I", "II"]).shape == (2, 2500)  # resampled


def test_the_real_training_a_record_and_ptbxl_record(real_paired):
    header = real_paired / "physionet2016-a" / "a0001.hea"
    assert signal_header(header, DEFAULT_LIMITS).ecg_leads == ["ECG"]
    assert signal_array(header, EcgParams(), ["ECG"]).shape == (1, 2500)
    ptbxl = next((real_paired / "ptbxl" / "records500").rglob("*.hea"))
    assert len(signal_header(ptbxl, DEFAULT_LIMITS).ecg_leads) == 12
    assert signal_array(ptbxl, EcgParams(), ["I", "V6"]).shape == (2, 2500)


@pytest.mark.parametrize(("rate", "reason"), [(20, "ecg_sample_rate"),
                                              (20_000, "ecg_sample_rate")])
def test_a_sample_rate_outside_50_hz_to_10_khz_is_refused(tmp_path, rate, reason):
    assert _reason(wfdb_record(tmp_path, rate=rate, seconds=3)) == reason


def test_more_than_16_leads_are_refused(tmp_path):
    leads = tuple(f"L{i}" for i in range(17))
    assert _reason(wfdb_record(tmp_path, leads=leads, seconds=3), leads[:1]) == "ecg_leads"


def test_a_record_shorter_than_the_minimum_is_refused(tmp_path):
    assert _reason(wfdb_record(tmp_path, seconds=1.0)) == "ecg_too_short"


def test_a_signal_file_shorter_than_its_header_says_is_refused_from_the_header(tmp_path):
    header = wfdb_record(tmp_path)
    data = header.with_suffix(".dat")
    data.write_bytes(data.read_bytes()[:1000])  # an interrupted copy
    with pytest.raises(InputRejected, match="short of what its header says") as caught:
        signal_header(header, DEFAULT_LIMITS)
    assert caught.value.reason == "ecg_truncated"


def test_a_missing_signal_file_is_refused(tmp_path):
    header = wfdb_record(tmp_path)
    header.with_suffix(".dat").unlink()
    assert _reason(header) == "ecg_signal_missing"


@pytest.mark.parametrize("named", ["../../x.dat", "/etc/passwd", "sub/../../x.dat"])
def test_a_header_naming_a_file_outside_its_folder_is_refused(tmp_path, named):
    header = wfdb_record(tmp_path)
    text = header.read_text().replace("r1.dat", named)
    header.write_text(text)
    assert _reason(header) == "ecg_path_escape"


def test_an_unreadable_header_is_refused(tmp_path):
    header = tmp_path / "junk.hea"
    header.write_text("this is not a header\x00\x01")
    assert _reason(header) == "ecg_unreadable"
    huge = tmp_path / "huge.hea"
    huge.write_bytes(b"r 1 250 2500\n" + b"#" * 400_000)
    assert _reason(huge) == "ecg_unreadable"


def test_a_cut_edf_file_is_refused(tmp_path):
    edf = edf_record(tmp_path / "r.edf")
    edf.write_bytes(edf.read_bytes()[:3000])
    assert _reason(edf) == "ecg_unreadable"


def test_a_flat_lead_is_refused(tmp_path):
    t = np.arange(10 * RATE) / RATE
    header = wfdb_record(tmp_path, signals=np.stack([np.sin(t), np.full_like(t, 0.5)]))
    with pytest.raises(InputRejected, match="lead\\(s\\) II are constant"):
        read_signal(header, DEFAULT_LIMITS, ["I", "II"], 10.0)


def test_a_few_invalid_samples_are_bridged_and_many_are_refused(tmp_path):
    t = np.arange(10 * RATE) / RATE
    signals = np.stack([np.sin(t), np.cos(t)])
    signals[1, 100:110] = np.nan  # written as WFDB's invalid-sample value: 0.4% of the lead
    header = wfdb_record(tmp_path, signals=signals)
    samples, _ = read_signal(header, DEFAULT_LIMITS, ["I", "II"], 10.0)
    assert np.isfinite(samples).all()
    assert np.allclose(samples[1, 100:110], np.cos(t[100:110]), atol=0.01)
    signals[1, 100:200] = np.nan  # 4%
    header = wfdb_record(tmp_path, "r2", signals=signals)
    with pytest.raises(InputRejected, match=r"II \(4\.0%\)") as caught:
        check_all_signal_samples(header, DEFAULT_LIMITS, ["I", "II"])
    assert caught.value.reason == "ecg_not_finite"


def test_a_record_lacking_a_chosen_lead_is_refused(tmp_path):
    assert _reason(wfdb_record(tmp_path), ("I", "V1")) == "ecg_lead_missing"
