"""Resolve the file paths a metadata CSV names, wherever the CSV was written, and keep them
inside data.root as written (a symlink inside data.root may lead anywhere: that is how a dataset
on another disk is put under a project)."""

from __future__ import annotations

import os
from pathlib import Path

from cardiofusion.quoting import shown

MAX_SHOWN = 100  # characters of a path in a message


def resolve_path(raw: str, root: Path, rewrites: dict[str, str]) -> Path:
    """Normalize separators, apply prefix rewrites in order, and anchor relative paths at root.

    A CSV written on Windows (`C:/Users/me/Desktop/Finalaudio\\P001.wav`) becomes usable here
    with a rewrite such as `{"C:/Users/me/Desktop": "data/raw"}`. `.`, `..` and repeated
    separators are folded as written, without following symlinks.
    """
    text = str(raw).strip().replace("\\", "/")
    for old, new in rewrites.items():
        prefix = old.replace("\\", "/")
        if text.startswith(prefix):
            text = new.rstrip("/") + "/" + text[len(prefix) :].lstrip("/")
    path = Path(text)
    return Path(os.path.normpath(path if path.is_absolute() else root / path))


def describe_path(raw: str, path: Path) -> str:
    """The path as written and the file it resolves to (through any symlinks), for messages."""
    try:
        real = os.path.realpath(path)
    except (OSError, ValueError):  # a NUL byte, a name the system refuses
        real = "(cannot be resolved)"
    real = real if len(real) <= MAX_SHOWN else f"{real[:MAX_SHOWN]}... ({len(real)} characters)"
    return f"{shown(raw.strip(), MAX_SHOWN)} -> {real}"


def check_path(path: Path, root: Path) -> tuple[str, str] | None:
    """A path must stay inside data.root as written; where a symlink inside it leads is free."""
    written, inside = Path(os.path.abspath(path)), Path(os.path.abspath(root))
    if written.is_relative_to(inside) or written.is_relative_to(inside.resolve()):
        return None
    return (
        "path_outside_root",
        f"leaves data.root ({inside}) as written; put the file under data.root (a symlink "
        "inside it is fine) or map the prefix with data.path_rewrite",
    )
