"""Resolve the file paths a metadata CSV names, wherever the CSV was written."""

from __future__ import annotations

from pathlib import Path


def resolve_path(raw: str, root: Path, rewrites: dict[str, str]) -> Path:
    """Normalize separators, apply prefix rewrites in order, and anchor relative paths at root.

    A CSV written on Windows (`C:/Users/me/Desktop/Finalaudio\\P001.wav`) becomes usable here
    with a rewrite such as `{"C:/Users/me/Desktop": "data/raw"}`.
    """
    text = str(raw).strip().replace("\\", "/")
    for old, new in rewrites.items():
        prefix = old.replace("\\", "/")
        if text.startswith(prefix):
            text = new.rstrip("/") + "/" + text[len(prefix) :].lstrip("/")
    path = Path(text)
    return path if path.is_absolute() else root / path
