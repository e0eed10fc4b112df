"""Content-addressed store of per-file features, so a re-run decodes only new or changed files.

An entry's name hashes the file's bytes, the feature parameters and FEATURE_VERSION: editing a
file or a parameter gives a new name, so a stale entry is never read. Each entry is one NumPy
record (.npy) whose dtype carries the field shapes, followed by the sha256 of the record's bytes:
a torn or foreign file fails the layout check, and an entry altered in place (header intact)
fails the checksum; either is recomputed. File digests are remembered with each file's size,
times and inode, so a re-run rereads only files that changed (the shortcut git and DVC take).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from cardiofusion.errors import CardiofusionError
from cardiofusion.files import atomic_path, file_digest, write_json, write_text

FEATURE_VERSION = 2  # bump whenever a feature function gives other output for the same input
CHECKSUM_BYTES = 32  # sha256 of the record, appended after it
DIGESTS = "digests.json"  # absolute path -> [size, mtime_ns, ctime_ns, inode, sha256]


def entry_key(file_hash: str, params: BaseModel) -> str:
    """Name of the entry for a file's content under `params` (canonical JSON, so key order and
    formatting of params.yaml do not matter)."""
    canonical = json.dumps(
        {"file": file_hash, "params": params.model_dump(mode="json"), "version": FEATURE_VERSION},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class FeatureStore:
    """Entries live at `root/<kind>/<key>.npy`; writes are atomic, so readers see whole files."""

    root: Path

    def prepare(self) -> None:
        """Create the folder and keep its (large, rebuildable) contents out of git."""
        ignore = self.root / ".gitignore"
        if not ignore.is_file():
            write_text(ignore, "*\n")

    def file_digests(self, paths: Sequence[str], n_jobs: int) -> list[str]:
        """sha256 of each file, hashing (in threads: hashlib releases the GIL) only files whose
        stamp differs from the remembered one."""
        known = self._remembered()
        names = [os.path.abspath(path) for path in paths]
        stamps = dict(zip(names, map(_stamp, paths), strict=True))
        stale = [name for name, stamp in stamps.items() if known.get(name, [])[:-1] != stamp]
        with ThreadPoolExecutor(n_jobs) as threads:
            fresh = dict(zip(stale, threads.map(file_digest, stale), strict=True))
        memo = {name: [*stamp, fresh.get(name) or known[name][-1]]
                for name, stamp in stamps.items()}
        write_json(self.root / DIGESTS, memo)
        return [memo[name][-1] for name in names]

    def load(self, kind: str, key: str, record: np.dtype) -> np.ndarray | None:
        """The stored record, or None when it is absent, cut short, of another layout or
        altered since it was written.

        An intact entry is exactly the header np.save writes for `record`, one record and its
        sha256, so one read, a prefix comparison and one hash check it (np.load per file costs
        3x more).
        """
        try:
            data = self._path(kind, key).read_bytes()
        except OSError:
            return None
        header = _npy_header(record)
        end = len(header) + record.itemsize
        if len(data) != end + CHECKSUM_BYTES or not data.startswith(header):
            return None
        body = memoryview(data)[len(header) : end]
        if hashlib.sha256(body).digest() != data[end:]:
            return None
        return np.frombuffer(data, record, count=1, offset=len(header)).reshape(())

    def save(self, kind: str, key: str, entry: np.ndarray) -> None:
        body = np.ascontiguousarray(entry).tobytes()
        with atomic_path(self._path(kind, key)) as tmp, tmp.open("wb") as handle:
            np.save(handle, entry, allow_pickle=False)
            handle.write(hashlib.sha256(body).digest())

    def _path(self, kind: str, key: str) -> Path:
        return self.root / kind / f"{key}.npy"

    def _remembered(self) -> dict[str, list]:
        """Digests from the last run; an unreadable memo or line only costs rehashing."""
        try:
            memo = json.loads((self.root / DIGESTS).read_text())
        except (OSError, ValueError):
            return {}
        if not isinstance(memo, dict):
            return {}
        return {name: line for name, line in memo.items()
                if isinstance(line, list) and line and isinstance(line[-1], str)}


@lru_cache(maxsize=8)
def _npy_header(record: np.dtype) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((), record), allow_pickle=False)
    return buffer.getvalue()[: -record.itemsize]


def _stamp(path: str) -> list[int]:
    """Changes whenever the content can have changed (ctime moves on every write)."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise CardiofusionError(f"{path}: cannot be read ({exc.strerror})") from None
    return [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino]
