"""Per-file checks for the validate stage: cheap header reads for every file, full decodes for
a sample. Each check returns `(reason, detail)` or None."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from cardiofusion.files import file_kind
from cardiofusion.inputs import (
    InputLimits,
    InputRejected,
    check_all_samples,
    check_all_signal_samples,
    image_size,
    open_image,
    recording_seconds,
    signal_header,
)

Issue = tuple[str, str] | None


def check_image(path: Path, min_px: int, full_decode: bool) -> Issue:
    """Exists, non-empty, within the input contract from its header; fully decoded when
    sampled."""
    issue = _check_file(path)
    if issue:
        return issue
    limits = InputLimits(min_image_px=min_px)
    try:
        if full_decode:
            with open_image(path, limits):
                pass
        else:
            image_size(path, limits)
    except InputRejected as exc:
        return exc.reason, str(exc)
    return None


def check_audio(path: Path, min_seconds: float, full_decode: bool) -> Issue:
    """Exists, non-empty, within the input contract from its header (format, rate, channels,
    duration, complete WAV); every sample decoded and checked finite when sampled."""
    issue = _check_file(path)
    if issue:
        return issue
    limits = InputLimits(min_seconds=min_seconds)
    try:
        if full_decode:
            check_all_samples(path, limits)
        else:
            recording_seconds(path, limits)
    except InputRejected as exc:
        return exc.reason, str(exc)
    return None


def check_signal(path: Path, limits: InputLimits, leads: list[str], full_decode: bool) -> Issue:
    """A WFDB or EDF record within the contract from its header, holding the chosen leads;
    every sample of them decoded, finite and not flat when sampled."""
    issue = _check_file(path)
    if issue:
        return issue
    try:
        header = signal_header(path, limits)
        missing = [lead for lead in leads if lead not in header.names]
        if missing:
            return ("ecg_lead_missing", f"{path}: lacks lead(s) {', '.join(missing)} of "
                    f"ecg.leads (it has {', '.join(header.names)}); list only the leads every "
                    "record has, or leave ecg.leads: auto")
        if full_decode:
            check_all_signal_samples(path, limits, leads)
    except InputRejected as exc:
        return exc.reason, str(exc)
    return None


def _check_file(path: Path) -> Issue:
    """A regular, non-empty file; anything else is named for what it is (a name the system
    refuses, a folder, a FIFO that would block a reader, a symlink loop)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return "file_missing", f"{path}: file not found (check data.root / data.path_rewrite)"
    except ValueError:  # os.stat refuses before asking the system
        return "path_invalid", "the path holds a NUL byte; fix the cell"
    except OSError as exc:
        reasons = {errno.ENAMETOOLONG: "a file or folder name in it is longer than the system "
                                       "allows; shorten it",
                   errno.ELOOP: "its symlinks form a loop; fix the links",
                   errno.EACCES: "permission denied; make it readable",
                   errno.ENOTDIR: "a part of it that should be a folder is a file"}
        return "path_invalid", f"{path}: {reasons.get(exc.errno, exc.strerror)}"
    if not stat.S_ISREG(info.st_mode):
        return "file_not_regular", (f"{path}: is {file_kind(info.st_mode)}, not a file; point "
                                    "the cell at the file itself")
    if info.st_size == 0:
        return "file_empty", f"{path}: file is empty"
    return None

