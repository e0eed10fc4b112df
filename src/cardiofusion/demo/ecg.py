"""Synthetic 12-lead ECG printouts for the demo dataset.

The real scans are 3 x 4 lead printouts plus a lead II rhythm strip on grid paper, about
3.6 px/mm. The demo images copy that layout, scale and clutter so that one preprocessing path
serves both, and they draw the findings of `CardiacFindings` large enough to survive the
downscaling the image model applies.

Waveforms are built per beat from a few smooth components (P, Q, R, S, T, ST) whose per-lead
amplitudes come from a frontal-plane vector projection (limb leads) and an R-wave-progression
table (chest leads); findings edit that amplitude table, and one beat template per image is
overlap-added at the rhythm's beat times.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy.ndimage import uniform_filter1d

from cardiofusion.demo.findings import CardiacFindings, Rhythm

FS = 500  # Hz, waveform sampling rate
DURATION_S = 10.0
SEGMENT_S = 2.5
MM_PER_S = 25.0
MM_PER_MV = 10.0
PINK_PAPER_PROBABILITY = 0.5  # the rest is the grey dotted paper of the real scans

LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
LAYOUT = (("I", "aVR", "V1", "V4"), ("II", "aVL", "V2", "V5"), ("III", "aVF", "V3", "V6"))
RHYTHM_LEAD = "II"
_IDX = {name: i for i, name in enumerate(LEADS)}

# Ischaemic territories: (affected leads, leads showing the reciprocal ST change).
TERRITORIES = (
    (("V1", "V2", "V3", "V4"), ("II", "III", "aVF")),  # anterior
    (("II", "III", "aVF"), ("I", "aVL")),  # inferior
    (("I", "aVL", "V5", "V6"), ("III", "aVF")),  # lateral
)

# Sinus beat components; each is one row of the per-lead amplitude table.
P, Q, QW, R, S, R2, T, ST = range(8)
N_COMPONENTS = 8

# Limb-lead directions in the frontal plane (degrees) and the augmented-lead gain, so that
# III = II - I and aVR + aVL + aVF = 0 hold for every component.
_LIMB_ANGLE = np.radians([0.0, 60.0, 120.0, -150.0, -30.0, 90.0])
_LIMB_GAIN = np.array([1.0, 1.0, 1.0, 0.866, 0.866, 0.866])

# Chest leads V1..V6 of a normal heart (mV): small r and deep S in V1 turning into a tall R in V5.
_CHEST = {
    P: (0.05, 0.07, 0.08, 0.08, 0.08, 0.08),
    Q: (0.0, 0.0, 0.0, -0.03, -0.08, -0.1),
    R: (0.2, 0.45, 0.8, 1.3, 1.35, 1.05),
    S: (-0.9, -1.5, -1.1, -0.6, -0.3, -0.1),
    T: (0.0, 0.35, 0.45, 0.4, 0.3, 0.22),
}

# Premature ventricular beat main deflection in V1..V6 by origin: left ventricle (RBBB-like,
# positive V1) and right ventricle (LBBB-like, negative V1, positive V6).
_PVC_CHEST = ((1.2, 1.0, 0.6, 0.0, -0.6, -0.9), (-1.2, -1.5, -1.0, 0.3, 1.0, 1.2))

# Late QRS component of a right bundle branch block: R' in V1/V2/aVR, slurred S in I/aVL/V5/V6.
_RBBB_R2 = (-0.4, -0.1, 0.2, 0.35, -0.3, 0.0, 0.9, 0.6, 0.25, -0.2, -0.4, -0.45)

_TEMPLATE_S = (-0.45, 0.75)  # beat template window around the R peak


@dataclass(frozen=True)
class _Page:
    """Printout geometry in pixels."""

    width: int
    height: int
    px_per_mm: float
    x_trace: float  # where the traces start
    baselines: tuple[float, ...]  # 3 lead rows, then the rhythm strip
    grid_offset: tuple[float, float]


def render_ecg(findings: CardiacFindings, rhythm: Rhythm, rng: np.random.Generator) -> Image.Image:
    """RGB image of a 12-lead printout of the first 10 s of `rhythm`.

    The number of random draws does not depend on the findings, so one seed renders the same
    page, noise and patient with and without a finding.
    """
    page = _page(rng)
    signals = _signals(findings, rhythm, rng)
    image, paper = _paper(page, rng)
    _draw_printout(image, page, signals, rng)
    angle = float(rng.uniform(-1.5, 1.5))
    return image.rotate(angle, resample=Image.Resampling.BILINEAR, fillcolor=paper)


def lead_signals(findings: CardiacFindings, rhythm: Rhythm, rng: np.random.Generator
                 ) -> np.ndarray:
    """The 12 x (10 s at FS) lead voltages (mV) `render_ecg` draws for the same draws: the
    digital record the printout is made from."""
    _page(rng)
    return _signals(findings, rhythm, rng)


def _page(rng: np.random.Generator) -> _Page:
    """Page size and row positions around the real scans' 262 x 150 mm at 3.6 px/mm."""
    x_trace_mm = rng.uniform(8.5, 11.0)
    width_mm = x_trace_mm + DURATION_S * MM_PER_S + rng.uniform(2.0, 6.0)
    height_mm = width_mm * rng.uniform(0.54, 0.61)
    width = int(rng.uniform(800, 1600))
    ppm = width / width_mm
    first = height_mm * rng.uniform(0.12, 0.14)
    last = height_mm * rng.uniform(0.87, 0.9)
    baselines = tuple(float(y) * ppm for y in np.linspace(first, last, 4))
    offset = rng.uniform(0.0, 5.0, size=2) * ppm
    return _Page(
        width=width,
        height=round(height_mm * ppm),
        px_per_mm=ppm,
        x_trace=x_trace_mm * ppm,
        baselines=baselines,
        grid_offset=(float(offset[0]), float(offset[1])),
    )


# --------------------------------------------------------------------------- waveforms


def _signals(findings: CardiacFindings, rhythm: Rhythm, rng: np.random.Generator) -> np.ndarray:
    """12 x (10 s * FS) lead voltages in mV."""
    rr = 60.0 / findings.heart_rate_bpm
    qrs = findings.qrs_ms / 1000.0
    pr = max(0.11, rng.uniform(0.13, 0.19) - 0.0005 * (findings.heart_rate_bpm - 70.0))
    # Bazett: QT shortens with heart rate; a wide QRS lengthens it
    qt = rng.uniform(0.38, 0.44) * np.sqrt(rr) + max(0.0, qrs - 0.1)
    pvc_qrs = rng.uniform(0.13, 0.18)

    amps = _normal_amplitudes(rng)
    _apply_findings(amps, findings, rng)
    pvc_amps = _pvc_amplitudes(rng)

    first, last = (round(edge * FS) for edge in _TEMPLATE_S)
    t = np.arange(first, last) / FS
    sinus = amps @ _sinus_shapes(t, qrs, pr, qt)
    pvc = pvc_amps @ _pvc_shapes(t, pvc_qrs, qt)

    n = int(DURATION_S * FS)
    out = np.zeros((len(LEADS), n))
    times = rhythm.beat_times_s
    # the page starts mid-recording: the beat before the first one also shows its tail
    times = np.concatenate(([times[0] - rr], times))
    premature = np.concatenate(([False], rhythm.premature))
    for beat_time, is_premature in zip(times, premature, strict=True):
        start = round(beat_time * FS) + first
        lo, hi = max(start, 0), min(start + len(t), n)
        if lo < hi:
            out[:, lo:hi] += (pvc if is_premature else sinus)[:, lo - start : hi - start]

    fibrillation = _fibrillation_waves(n, rng)
    if findings.atrial_fibrillation:
        out += fibrillation
    return out + _noise(n, rng)


def _gauss(t: np.ndarray, center: float, sigma: float) -> np.ndarray:
    return np.exp(-0.5 * ((t - center) / sigma) ** 2)


def _skewed_gauss(t: np.ndarray, center: float, left: float, right: float) -> np.ndarray:
    """T waves rise slower than they fall."""
    return np.exp(-0.5 * ((t - center) / np.where(t < center, left, right)) ** 2)


def _plateau(t: np.ndarray, start: float, end: float, end_width: float) -> np.ndarray:
    """ST segment shift: a step at the J point that fades with the end of the T wave."""
    rise = 0.5 * (1.0 + np.tanh((t - start) / 0.004))
    return rise * 0.5 * (1.0 - np.tanh((t - end) / end_width))


def _sinus_shapes(t: np.ndarray, qrs: float, pr: float, qt: float) -> np.ndarray:
    """Unit shapes of the components P..ST, times relative to the R peak."""
    onset = -0.35 * qrs
    k = qt / 0.4
    t_right = 0.04 * k
    t_peak = onset + qt - 2.2 * t_right
    shapes = np.empty((N_COMPONENTS, len(t)))
    shapes[P] = _gauss(t, onset - pr + 0.05, 0.02)
    shapes[Q] = _gauss(t, onset + 0.12 * qrs, 0.07 * qrs)
    shapes[QW] = _gauss(t, onset + 0.012, 0.011)
    shapes[R] = _gauss(t, 0.0, 0.1 * qrs)
    shapes[S] = _gauss(t, onset + 0.62 * qrs, 0.1 * qrs)
    shapes[R2] = _gauss(t, onset + 0.85 * qrs, 0.09 * qrs)
    shapes[T] = _skewed_gauss(t, t_peak, 0.06 * k, t_right)
    shapes[ST] = _plateau(t, onset + qrs, t_peak + t_right, 0.02 * k)
    return shapes


def _pvc_shapes(t: np.ndarray, qrs: float, qt: float) -> np.ndarray:
    """Unit shapes of a premature ventricular beat: broad main wave, notch, T, ST."""
    t_peak = qrs / 2 + qt - 0.09
    return np.stack(
        [
            _gauss(t, 0.0, qrs / 5),
            _gauss(t, 0.35 * qrs, qrs / 8),
            _skewed_gauss(t, t_peak, 0.07, 0.05),
            _plateau(t, qrs / 2, t_peak, 0.03),
        ]
    )


def _limb(magnitude: float, angle_deg: float) -> np.ndarray:
    """Projection of one frontal-plane vector on I, II, III, aVR, aVL, aVF."""
    return magnitude * _LIMB_GAIN * np.cos(np.radians(angle_deg) - _LIMB_ANGLE)


def _chest(values: tuple[float, ...], shift: float) -> np.ndarray:
    """Chest-lead table moved along V1..V6: the transition zone differs between people."""
    x = np.arange(6)
    return np.interp(np.clip(x + shift, 0, 5), x, values)


def _normal_amplitudes(rng: np.random.Generator) -> np.ndarray:
    """Per-lead amplitudes (12 x components) of one normal person, in mV."""
    axis = rng.uniform(-20.0, 85.0)
    amps = np.zeros((len(LEADS), N_COMPONENTS))
    amps[:6, P] = _limb(rng.uniform(0.1, 0.2), rng.uniform(40.0, 70.0))
    amps[:6, Q] = _limb(rng.uniform(0.05, 0.15), rng.uniform(150.0, 220.0))
    amps[:6, R] = _limb(rng.uniform(0.9, 1.6), axis)
    amps[:6, S] = _limb(rng.uniform(0.15, 0.4), rng.uniform(220.0, 280.0))
    amps[:6, T] = _limb(rng.uniform(0.2, 0.4), np.clip(axis + rng.uniform(-25.0, 15.0), 0, 80))
    shift = rng.uniform(-0.7, 0.7)
    for component, values in _CHEST.items():
        amps[6:, component] = _chest(values, shift)
    amps[6, T] = rng.uniform(-0.15, 0.15)
    amps[6:, [Q, R, S]] *= rng.uniform(0.7, 1.6)
    amps[6:, T] *= rng.uniform(0.7, 1.3)
    amps *= rng.uniform(0.8, 1.3) * rng.uniform(0.85, 1.15, size=(len(LEADS), 1))
    return amps


def _apply_findings(amps: np.ndarray, findings: CardiacFindings, rng: np.random.Generator) -> None:
    """Edit the amplitude table in place for conduction and ischaemic findings."""
    affected, reciprocal = (
        [_IDX[name] for name in leads] for leads in TERRITORIES[rng.integers(len(TERRITORIES))]
    )
    weight = rng.uniform(0.7, 1.2, size=len(LEADS))[affected]
    reciprocal_weight = rng.uniform(0.3, 0.6)
    t_depth = rng.uniform(0.25, 0.5, size=len(LEADS))[affected]
    q_depth = rng.uniform(0.25, 0.5, size=len(LEADS))[affected]
    r_left = rng.uniform(0.15, 0.5, size=len(LEADS))[affected]
    right_bundle = rng.random() < 0.5
    bbb_scale = rng.uniform(0.7, 1.3, size=len(LEADS))
    lbbb_axis = rng.uniform(-30.0, 30.0)

    if findings.atrial_fibrillation:
        amps[:, P] = 0.0  # no organised atrial activity; the f-waves are added to the baseline
    if findings.qrs_ms >= 120:
        if right_bundle:
            amps[:, R2] = np.array(_RBBB_R2) * bbb_scale
            amps[6:8, S] *= 0.5  # rsR' rather than rS in V1/V2
            amps[6:9, T] = -0.25 * bbb_scale[6:9]
        else:
            _left_bundle_branch_block(amps, bbb_scale, lbbb_axis)

    st = findings.st_shift_mv
    # the ST-elevation T wave is tall (hyperacute) before it inverts
    amps[affected, T] += 0.5 * max(st, 0.0) * weight
    amps[affected, ST] += st * weight
    amps[reciprocal, ST] -= st * reciprocal_weight
    if findings.t_inversion:
        amps[affected, T] = -t_depth
    if findings.pathological_q:
        amps[affected, QW] = -q_depth
        amps[affected, Q] = 0.0
        amps[affected, R] *= r_left


def _left_bundle_branch_block(amps: np.ndarray, scale: np.ndarray, axis: float) -> None:
    """Broad QS in V1-V3, broad notched R without septal q in I/aVL/V5/V6, discordant ST-T."""
    right, left = [0, 4, 10, 11], [6, 7, 8]  # I, aVL, V5, V6 | V1, V2, V3
    amps[:6, R] = _limb(np.abs(amps[:6, R]).max(), axis)
    amps[left, R] *= 0.2
    amps[left, S] *= 1.6
    amps[left, R2] = -0.6 * scale[left]
    amps[left, ST] += 0.15
    amps[left, T] = 0.45 * scale[left]
    # the S slot turned positive merges with R into one broad, notched R wave
    amps[right, Q] = 0.0
    amps[right, S] = amps[right, R] * 0.8 * scale[right]
    amps[right, R2] = amps[right, R] * 0.35
    amps[right, ST] -= 0.08
    amps[right, T] = -0.7 * np.abs(amps[right, T]) - 0.1


def _pvc_amplitudes(rng: np.random.Generator) -> np.ndarray:
    """Unifocal premature-beat morphology: main wave, opposite notch, discordant ST-T."""
    main = np.empty(len(LEADS))
    main[:6] = _limb(rng.uniform(1.0, 1.8), rng.uniform(0.0, 360.0))
    main[6:] = np.array(_PVC_CHEST[rng.integers(2)]) * rng.uniform(0.8, 1.2, size=6)
    notch = -main * rng.uniform(0.2, 0.45, size=len(LEADS))
    return np.stack([main, notch, -main * rng.uniform(0.25, 0.4), -main * 0.1], axis=1)


def _fibrillation_waves(n: int, rng: np.random.Generator) -> np.ndarray:
    """Irregular 4-9 Hz atrial activity, strongest in V1 and the inferior leads."""
    t = np.arange(n) / FS
    freq = rng.uniform(4.0, 9.0, size=(5, 1))
    phase = rng.uniform(0.0, 2 * np.pi, size=(5, 1))
    drift = rng.uniform(0.3, 1.5, size=(5, 1))  # Hz of the slow frequency wobble
    amp = rng.uniform(0.02, 0.05, size=(5, 1))
    wave = (amp * np.sin(2 * np.pi * freq * t + phase + 2 * np.sin(2 * np.pi * drift * t))).sum(0)
    weight = np.array([0.3, 0.6, 0.6, -0.4, 0.3, 0.6, 1.0, 0.6, 0.4, 0.3, 0.3, 0.3])
    return weight[:, None] * wave * rng.uniform(0.8, 1.6)


def _noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Baseline wander, muscle tremor and mains hum, each at a per-recording level."""
    t = np.arange(n) / FS
    leads = len(LEADS)
    freq = rng.uniform(0.05, 0.5, size=(leads, 2, 1))
    phase = rng.uniform(0.0, 2 * np.pi, size=(leads, 2, 1))
    wander_amp = rng.uniform(0.0, 0.2) * rng.uniform(0.3, 1.0, size=(leads, 2, 1))
    wander = (wander_amp * np.sin(2 * np.pi * freq * t + phase)).sum(1)
    muscle = uniform_filter1d(rng.standard_normal((leads, n)), 4, axis=1)
    muscle *= rng.uniform(0.0, 0.05) * rng.uniform(0.3, 1.0, size=(leads, 1))
    mains_freq = 50.0 if rng.random() < 0.5 else 60.0
    mains_amp = rng.uniform(0.0, 0.03) * (rng.random() < 0.3)
    mains = mains_amp * np.sin(2 * np.pi * mains_freq * t + rng.uniform(0.0, 2 * np.pi))
    return wander + muscle + mains


# --------------------------------------------------------------------------- drawing


def _paper(page: _Page, rng: np.random.Generator) -> tuple[Image.Image, tuple[int, int, int]]:
    """Grid paper: pink with red 1/5 mm lines, or the real scans' grey with dotted lines."""
    pink = rng.random() < PINK_PAPER_PROBABILITY
    brightness = rng.uniform(0.93, 1.0)
    tint = rng.uniform(-4.0, 4.0, size=3)
    shade = rng.uniform(0.85, 1.15)
    if pink:
        base = np.array([255.0, 246.0, 243.0])
        minor, major = np.array([246.0, 196.0, 196.0]), np.array([232.0, 128.0, 132.0])
    else:
        base = np.array([249.0, 248.0, 247.0])
        minor, major = np.array([212.0, 210.0, 210.0]), np.array([190.0, 188.0, 188.0])
    base, minor = (np.clip((c + tint) * brightness, 0, 255) for c in (base, minor))
    major = np.clip((255 - (255 - major) * shade + tint) * brightness, 0, 255)

    pixels = np.empty((page.height, page.width, 3), dtype=np.uint8)
    pixels[:] = base.astype(np.uint8)
    cols = _grid_lines(page.grid_offset[0], page.px_per_mm, page.width)
    rows = _grid_lines(page.grid_offset[1], page.px_per_mm, page.height)
    if pink:
        thick = max(1, round(0.2 * page.px_per_mm))
        pixels[:, cols[0]] = pixels[rows[0], :] = minor.astype(np.uint8)
        major_cols = np.clip(cols[1][:, None] + np.arange(thick), 0, page.width - 1).ravel()
        major_rows = np.clip(rows[1][:, None] + np.arange(thick), 0, page.height - 1).ravel()
        pixels[:, major_cols] = pixels[major_rows, :] = major.astype(np.uint8)
    else:
        pixels[np.ix_(rows[0], cols[0])] = minor.astype(np.uint8)
        pixels[1::2][:, cols[1]] = major.astype(np.uint8)
        pixels[rows[1], 1::2] = major.astype(np.uint8)
    return Image.fromarray(pixels), (int(base[0]), int(base[1]), int(base[2]))


def _grid_lines(offset: float, ppm: float, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel positions of every 1 mm line and of every fifth (5 mm) line."""
    pos = np.round(offset - 5 * ppm + np.arange(int(size / ppm) + 10) * ppm).astype(int)
    keep = (pos >= 0) & (pos < size)
    return pos[keep], pos[keep & (np.arange(len(pos)) % 5 == 0)]


@lru_cache(maxsize=64)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _draw_printout(
    image: Image.Image, page: _Page, signals: np.ndarray, rng: np.random.Generator
) -> None:
    """Traces, calibration pulses, lead labels, column separators and the header."""
    ppm = page.px_per_mm
    ink = (int(rng.integers(0, 50)),) * 3
    width = max(1, round(ppm * rng.uniform(0.4, 0.65)))
    draw = ImageDraw.Draw(image)
    font = _font(max(8, round(3.0 * ppm)))
    x_step = MM_PER_S * ppm / FS
    y_gain = MM_PER_MV * ppm
    columns = [page.x_trace + c * SEGMENT_S * MM_PER_S * ppm for c in range(4)]

    strips = [(_row_trace(signals, row), row) for row in LAYOUT]
    strips.append((signals[_IDX[RHYTHM_LEAD]], (RHYTHM_LEAD,)))
    for (trace, labels), baseline in zip(strips, page.baselines, strict=True):
        xy = np.empty((len(trace), 2))
        xy[:, 0] = page.x_trace + np.arange(len(trace)) * x_step
        xy[:, 1] = baseline - trace * y_gain
        draw.line(xy.ravel().tolist(), fill=ink, width=width)
        draw.line(_calibration_pulse(page.x_trace, baseline, ppm), fill=ink, width=width)
        for column, label in enumerate(labels):
            xy_label = (columns[column] + 0.6 * ppm, baseline - 1.5 * ppm)
            draw.text(xy_label, label, fill=ink, font=font, anchor="ls")

    top, bottom = page.baselines[0] - 7 * ppm, page.baselines[2] + 6 * ppm
    for x in columns[1:]:
        draw.line([(x, top), (x, bottom)], fill=ink, width=max(1, width // 2))
    header = f"{MM_PER_S:g}mm/s  {MM_PER_MV:g}mm/mV  0.05-150Hz"
    draw.text((page.x_trace, 1.5 * ppm), header, fill=ink, font=_font(max(8, round(2.5 * ppm))))


def _row_trace(signals: np.ndarray, leads: tuple[str, ...]) -> np.ndarray:
    """One printed row: each lead shows the next 2.5 s of the same 10 s recording."""
    seg = int(SEGMENT_S * FS)
    parts = [signals[_IDX[lead], c * seg : (c + 1) * seg] for c, lead in enumerate(leads)]
    return np.concatenate(parts)


def _calibration_pulse(x_trace: float, baseline: float, ppm: float) -> list[tuple[float, float]]:
    """1 mV x 0.2 s rectangle in the left margin."""
    x0, x1 = x_trace - 8.0 * ppm, x_trace - 7.0 * ppm
    x2, x3 = x1 + 0.2 * MM_PER_S * ppm, x_trace - 2.5 * ppm
    top = baseline - MM_PER_MV * ppm
    return [(x0, baseline), (x1, baseline), (x1, top), (x2, top), (x2, baseline), (x3, baseline)]
