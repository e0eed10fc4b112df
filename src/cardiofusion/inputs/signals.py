"""Digital ECG records under the contract: WFDB (a `.hea` header and the signal files it names)
and EDF/EDF+ files. Sample rate, lead count, duration, the signal files' presence, place and
size are checked from the header before a sample is decoded; then only the span the model needs
is read, and every lead of it must be finite and not flat.

A header is untrusted input: it is read only up to a size bound, and a WFDB header naming a
signal file outside the record's folder (`../../x.dat`, an absolute path) is refused.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyedflib
import wfdb

from cardiofusion.inputs.limits import InputLimits, InputRejected, first_line

SIGNAL_SUFFIXES = (".hea", ".edf", ".bdf")  # an ECG path ending so is a signal record
LEAD_SEPARATOR = ";"  # the manifest's `ecg_leads`: I;II;V1
MAX_HEADER_BYTES = 256 * 1024  # a 16-lead header is a few KB; a bigger one is not a header
# signals that share a record with the ECG but are not ECG leads (training-a: PCG beside ECG)
NOT_ECG = frozenset({"pcg", "sound", "audio", "resp", "pleth", "ppg", "abp", "art", "bp",
                     "spo2", "eeg", "emg", "eog", "eda", "temp", "edf annotations"})
MAX_INVALID_SHARE = 0.01  # invalid samples a lead may hold and still be used (interpolated)
# bytes per sample of the WFDB formats whose size a header fixes (FLAC formats are not sized)
_WFDB_BYTES = {"8": 1, "16": 2, "24": 3, "32": 4, "61": 2, "80": 1, "160": 2, "212": 1.5,
               "310": 4 / 3, "311": 4 / 3}


def is_signal_record(path: str | Path) -> bool:
    """Whether an ECG path names a digital record (by its suffix) rather than an image."""
    return Path(str(path)).suffix.lower() in SIGNAL_SUFFIXES


@dataclass(frozen=True)
class SignalHeader:
    """What a record's header says, after every check."""

    kind: str  # "wfdb" or "edf"
    rate: float  # Hz
    names: list[str]  # every signal, in file order
    samples: int  # per signal

    @property
    def seconds(self) -> float:
        return self.samples / self.rate

    @property
    def ecg_leads(self) -> list[str]:
        """The signals that are ECG leads (not a heart sound, respiration, ... beside them)."""
        return [name for name in self.names if name.strip().lower() not in NOT_ECG]


def record_files(path: str | Path) -> list[str]:
    """A record's files: the EDF file, or the WFDB header and the signal files it names that
    exist in its folder (for a content hash; the contract checks come from signal_header).
    The names come from the header's own text, bounded and checked as signal_header checks
    it, so hashing a record parses no header a second time with wfdb."""
    path = Path(path)
    if path.suffix.lower() != ".hea":
        return [str(path)]
    try:
        named = _check_header_text(path, str(path))
    except InputRejected:  # validate refused such a header already
        named = []
    inside = [path.parent / f for f in dict.fromkeys(named)]
    return [str(path), *(str(f) for f in inside if f.is_file())]


def signal_header(path: str | Path, limits: InputLimits, label: str | None = None
                  ) -> SignalHeader:
    """The header of a WFDB or EDF record, refused (InputRejected) when outside the contract."""
    path = Path(path)
    name = label or str(path)
    read = _wfdb_header if path.suffix.lower() == ".hea" else _edf_header
    header = read(path, name)
    reject = _rejecter(name)
    if not limits.min_ecg_rate <= header.rate <= limits.max_ecg_rate:
        raise reject("ecg_sample_rate", f"sample rate {header.rate:g} Hz outside "
                                        f"{limits.min_ecg_rate}-{limits.max_ecg_rate} Hz")
    if not 1 <= len(header.ecg_leads) <= limits.max_leads:
        raise reject("ecg_leads", f"{len(header.ecg_leads)} ECG leads "
                                  f"({', '.join(header.names) or 'no signal'}); 1 to "
                                  f"{limits.max_leads} are accepted")
    if header.seconds < limits.min_ecg_seconds:
        raise reject("ecg_too_short", f"{header.seconds:.2f} s, below "
                                      f"{limits.min_ecg_seconds} s")
    if header.seconds > limits.max_seconds:
        raise reject("ecg_too_long", f"{header.seconds:.0f} s, over {limits.max_seconds:g} s")
    return header


def read_signal(path: str | Path, limits: InputLimits, leads: list[str], window_s: float,
                crop: str = "center", label: str | None = None) -> tuple[np.ndarray, float]:
    """float64 (leads, samples) in physical units over the span around the window `crop`
    picks (the window plus one window of context on each side, as for recordings), and the
    sample rate. A lead the record lacks, a non-finite sample or a flat lead is refused."""
    path = Path(path)
    name = label or str(path)
    header = signal_header(path, limits, name)
    missing = [lead for lead in leads if lead not in header.names]
    if missing:
        raise _rejecter(name)("ecg_lead_missing", f"lacks lead(s) {', '.join(missing)} "
                              f"(it has {', '.join(header.names)})")
    window = math.ceil(window_s * header.rate)
    span = min(header.samples, window * (2 if crop == "start" else 3))
    start = 0 if crop == "start" else (header.samples - span) // 2
    samples = _read(path, header, leads, start, span, name)
    _require_usable(samples, leads, name)
    return samples, header.rate


def check_all_signal_samples(path: str | Path, limits: InputLimits, leads: list[str],
                             label: str | None = None) -> None:
    """Decode every sample of the chosen leads: readable, finite, not flat."""
    path = Path(path)
    name = label or str(path)
    header = signal_header(path, limits, name)
    chosen = [lead for lead in leads if lead in header.names]
    _require_usable(_read(path, header, chosen, 0, header.samples, name), chosen, name)


def _rejecter(name: str) -> Callable[[str, str], InputRejected]:
    """A refusal of this record: reason and words in, the contract's error out."""

    def reject(reason: str, detail: str) -> InputRejected:
        return InputRejected(name, "signal", reason, detail)

    return reject


def _check_header_text(path: Path, name: str) -> list[str]:
    """Size-bounded, then every signal line's file name kept inside the record's folder
    (wfdb's own parser would call such a line a syntax error, which hides why). Returns the
    signal lines' file names."""
    reject = _rejecter(name)
    try:
        size = path.stat().st_size
        if size > MAX_HEADER_BYTES:
            raise reject("ecg_unreadable", f"header is {size:,} bytes; a record header is a "
                                           "few KB (is this a signal file?)")
        text = path.read_bytes().decode("latin-1")
    except OSError as exc:
        raise reject("ecg_unreadable", f"header cannot be read ({first_line(exc)})") from None
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    files = [line.split()[0] for line in lines[1:]]
    for file in files:
        if _escapes(file):
            raise reject("ecg_path_escape", f"header names signal file {file[:80]!r} outside "
                                            "the record's folder; refused")
    return files


def _escapes(file: str) -> bool:
    return os.path.isabs(file) or os.path.normpath(file).startswith("..") or "\0" in file


def _wfdb_header(path: Path, name: str) -> SignalHeader:
    reject = _rejecter(name)
    _check_header_text(path, name)
    try:
        record = wfdb.rdheader(str(path.with_suffix("")))
    except Exception as exc:  # noqa: BLE001 - wfdb raises anything on a malformed header
        raise reject("ecg_unreadable", f"not a readable WFDB header ({first_line(exc)})"
                     ) from None
    names = [str(n) for n in (record.sig_name or [])]
    files = [str(f) for f in (record.file_name or [])]
    if record.fs is None or record.sig_len is None or not names or len(files) != len(names):
        raise reject("ecg_unreadable", "WFDB header names no signal, rate or length")
    folder = path.parent
    header = SignalHeader("wfdb", float(record.fs), names, int(record.sig_len))
    frames = [int(n or 1) for n in (record.samps_per_frame or [1] * len(names))]
    offsets = [int(o or 0) for o in (record.byte_offset or [0] * len(names))]
    for file in dict.fromkeys(f for f, n in zip(files, names, strict=True)
                              if n in header.ecg_leads):
        in_file = [i for i, f in enumerate(files) if f == file]
        formats = [str(record.fmt[i]) for i in in_file]
        target = folder / file
        if not target.is_file():
            raise reject("ecg_signal_missing", f"signal file {file} named by the header is "
                                               "missing")
        if not all(f in _WFDB_BYTES for f in formats):
            continue  # compressed formats: their size is not fixed by the header
        needed = offsets[in_file[0]] + header.samples * sum(
            _WFDB_BYTES[formats[k]] * frames[i] for k, i in enumerate(in_file))
        size = target.stat().st_size
        if size < math.floor(needed):
            raise reject("ecg_truncated", f"signal file {file} holds {size:,} bytes, "
                                          f"{math.floor(needed) - size:,} short of what its "
                                          "header says (an interrupted copy?)")
    return header


def _edf_header(path: Path, name: str) -> SignalHeader:
    reject = _rejecter(name)
    try:
        with pyedflib.EdfReader(str(path)) as edf:
            names = [str(n).strip() for n in edf.getSignalLabels()]
            rates = [float(r) for r in edf.getSampleFrequencies()]
            lengths = [int(n) for n in edf.getNSamples()]
    except Exception as exc:  # noqa: BLE001 - edflib refuses a damaged or cut file this way
        raise reject("ecg_unreadable", f"not a readable EDF file ({first_line(exc)})"
                     ) from None
    if not names:
        raise reject("ecg_unreadable", "EDF file holds no signal")
    ecg = [i for i, n in enumerate(names) if n.lower() not in NOT_ECG] or range(len(names))
    if len({rates[i] for i in ecg}) > 1 or len({lengths[i] for i in ecg}) > 1:
        raise reject("ecg_mixed_rates", "its ECG leads have different sample rates; one "
                                        "rate for every lead is accepted")
    return SignalHeader("edf", rates[ecg[0]], names, lengths[ecg[0]])


def _read(path: Path, header: SignalHeader, leads: list[str], start: int, span: int,
          name: str) -> np.ndarray:
    try:
        if header.kind == "wfdb":
            record = wfdb.rdrecord(str(path.with_suffix("")), sampfrom=start,
                                   sampto=start + span, channel_names=leads, physical=True)
            by_name = dict(zip(record.sig_name, record.p_signal.T, strict=True))
            return np.stack([by_name[lead] for lead in leads]).astype(np.float64)
        with pyedflib.EdfReader(str(path)) as edf:
            index = {label.strip(): i for i, label in enumerate(edf.getSignalLabels())}
            return np.stack([edf.readSignal(index[lead], start, span) for lead in leads])
    except InputRejected:
        raise
    except Exception as exc:  # noqa: BLE001 - a decoder failing on damaged data
        raise _rejecter(name)("ecg_unreadable", f"signal data cannot be decoded "
                                                f"({first_line(exc)})") from None


def _require_usable(samples: np.ndarray, leads: list[str], name: str) -> None:
    """Finite leads that move. WFDB marks a dropped or saturated sample as invalid (NaN here):
    up to MAX_INVALID_SHARE of a lead is bridged by linear interpolation, in place; more is
    refused."""
    reject = _rejecter(name)
    if samples.size == 0:
        raise reject("ecg_no_samples", "record has no samples")
    invalid = ~np.isfinite(samples)
    share = invalid.mean(axis=1)
    if (share > MAX_INVALID_SHARE).any():
        bad = [f"{lead} ({s:.1%})" for lead, s in zip(leads, share, strict=True)
               if s > MAX_INVALID_SHARE]
        raise reject("ecg_not_finite", f"lead(s) {', '.join(bad)} hold NaN or infinite "
                                       f"samples, more than the {MAX_INVALID_SHARE:.0%} that "
                                       "are bridged (invalid samples in the record)")
    for row in np.flatnonzero(invalid.any(axis=1)):
        good = np.flatnonzero(~invalid[row])
        samples[row, invalid[row]] = np.interp(np.flatnonzero(invalid[row]), good,
                                               samples[row, good])
    flat = samples.std(axis=1) == 0
    if flat.any():
        bad = [lead for lead, is_flat in zip(leads, flat, strict=True) if is_flat]
        raise reject("ecg_flat_lead", f"lead(s) {', '.join(bad)} are constant: a lead that "
                                      "was not connected")
