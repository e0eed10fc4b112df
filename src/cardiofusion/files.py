"""Atomic file writes: a reader sees a file whole or not at all, and a run killed mid-write
leaves at most a temporary file that the next run writing to that folder removes."""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cardiofusion.errors import CardiofusionError

_UMASK = os.umask(0)
os.umask(_UMASK)
# `.<name>.<pid>.<random>.partial<suffix>`: the writer's pid tells whether it can still finish
_TEMP = re.compile(r"^\..*\.(?P<pid>\d+)\.[A-Za-z0-9_]{8}\.partial(\.[^.]*)?$")
_swept: set[Path] = set()


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; it replaces `path` only if the block succeeds.

    The temporary name keeps the suffix so libraries that pick a format by extension still work.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path.parent)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.{os.getpid()}.",
                                    suffix=f".partial{path.suffix}")
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.chmod(0o666 & ~_UMASK)  # mkstemp creates 0600; give the file the usual permissions
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def remove_stale_temps(folder: Path) -> list[Path]:
    """Delete the temporary files of writers that died (killed, power cut) in `folder`; once per
    folder and process, on its first atomic write there. Live writers' files are kept."""
    folder = folder.resolve()
    if folder in _swept:
        return []
    _swept.add(folder)
    removed = []
    for entry in os.scandir(folder):
        match = _TEMP.match(entry.name)
        if match and not _alive(int(match["pid"])) and entry.is_file(follow_symlinks=False):
            Path(entry.path).unlink(missing_ok=True)
            removed.append(Path(entry.path))
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: str | Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def file_digest(path: str | Path, chunk_bytes: int = 1 << 20) -> str:
    """sha256 of a file's bytes, read in chunks so a long recording never sits in memory."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(chunk_bytes):
                digest.update(chunk)
    except OSError as exc:
        raise CardiofusionError(f"{path}: cannot be read ({exc.strerror})") from None
    return digest.hexdigest()

def file_kind(mode: int) -> str:
    """What a path that is not a regular file is, from its `st_mode`, for a message."""
    kinds = {stat.S_ISDIR: "a directory", stat.S_ISFIFO: "a FIFO (named pipe)",
             stat.S_ISCHR: "a character device", stat.S_ISBLK: "a block device",
             stat.S_ISSOCK: "a socket"}
    return next((name for test, name in kinds.items() if test(mode)), "not a regular file")


def write_metrics(metrics: str | Path, details: str | Path, record: dict[str, Any],
                  headline: list[str]) -> None:
    """The whole record to `details` (plain JSON), the `headline` keys to `metrics` (a DVC
    metrics file): `dvc exp show` then compares a few figures, not every detail."""
    write_json(details, record)
    write_json(metrics, {key: record[key] for key in headline if key in record})
