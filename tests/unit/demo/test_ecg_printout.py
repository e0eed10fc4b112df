"""The demo ECG printouts: reproducible, sized like the real scans, and showing the findings."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from cardiofusion.demo.ecg import render_ecg
from cardiofusion.demo.findings import CardiacFindings, Rhythm, make_rhythm

NORMAL = CardiacFindings(
    heart_rate_bpm=72.0,
    rr_variability=0.04,
    atrial_fibrillation=False,
    premature_beat_rate=0.0,
    st_shift_mv=0.0,
    t_inversion=False,
    pathological_q=False,
    qrs_ms=90.0,
    systolic_murmur=0.0,
    diastolic_murmur=0.0,
    s3=0.0,
    s4=0.0,
    split_s2_ms=20.0,
)
RHYTHM = make_rhythm(NORMAL, 10.0, np.random.default_rng(123))


def _pixels(findings: CardiacFindings, seed: int, rhythm: Rhythm = RHYTHM) -> np.ndarray:
    image = render_ecg(findings, rhythm, np.random.default_rng(seed))
    assert image.mode == "RGB"
    return np.asarray(image)


def test_same_seed_gives_identical_pixels() -> None:
    np.testing.assert_array_equal(_pixels(NORMAL, 7), _pixels(NORMAL, 7))


def test_size_varies_within_the_range_of_scans() -> None:
    sizes = {_pixels(NORMAL, seed).shape[:2] for seed in range(8)}
    assert len(sizes) > 4
    for height, width in sizes:
        assert 800 <= width <= 1600
        assert 0.5 <= height / width <= 0.65


def test_traces_are_drawn_in_dark_ink() -> None:
    dark = (_pixels(NORMAL, 3).max(axis=2) < 90).mean()
    assert 0.01 < dark < 0.2


def test_pink_grid_and_grey_scan_paper_both_occur() -> None:
    red_fraction = []
    for seed in range(10):
        rgb = _pixels(NORMAL, seed).astype(int)
        red_fraction.append((rgb[..., 0] > rgb[..., 1] + 30).mean())
    assert max(red_fraction) > 0.1  # red grid lines cover much of the page
    assert min(red_fraction) < 0.001  # grey paper like the real scans


@pytest.mark.parametrize(
    "finding",
    [
        {"st_shift_mv": 0.3},
        {"st_shift_mv": -0.2},
        {"t_inversion": True},
        {"pathological_q": True},
        {"qrs_ms": 140.0},
        {"atrial_fibrillation": True},
    ],
)
def test_finding_changes_the_traces(finding: dict) -> None:
    normal = _pixels(NORMAL, 11)
    abnormal = _pixels(replace(NORMAL, **finding), 11)
    assert normal.shape == abnormal.shape  # same page: only the waveform differs
    changed = np.abs(normal.astype(int) - abnormal.astype(int)).max(axis=2) > 60
    assert changed.mean() > 0.002
    margin = normal.shape[1] // 100  # calibration pulses only, left of the traces
    assert not changed[:, :margin].any()


def test_premature_beat_changes_the_traces() -> None:
    premature = RHYTHM.premature.copy()
    premature[4] = True
    ectopic = Rhythm(beat_times_s=RHYTHM.beat_times_s, premature=premature)
    normal, abnormal = _pixels(NORMAL, 5), _pixels(NORMAL, 5, ectopic)
    changed = np.abs(normal.astype(int) - abnormal.astype(int)).max(axis=2) > 60
    assert changed.mean() > 0.002
