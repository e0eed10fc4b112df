"""Rows that share a file belong together: the original metadata reuses 61 ECG scans across
3,784 rows, and a scan in both train and test would be seen before it is graded.

A file's identity is the file, not the string naming it: every spelling, symlink and hard link of
it has the same device and inode, and two names holding the same bytes have the same content
hash (only files of equal size are hashed, so the cost stays near one stat per file).
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from cardiofusion.files import file_digest

ABSENT = "absent:"  # the key of a row without a file: shared with no other row


def file_identities(paths: list[Path | None]) -> list[str]:
    """One key per path; equal keys mean the same file or the same bytes. A row without a file
    (None) gets a key of its own."""
    named = [(i, path) for i, path in enumerate(paths) if path is not None]
    stats = {i: os.stat(path) for i, path in named}
    inode = [f"inode:{s.st_dev}:{s.st_ino}" if (s := stats.get(i)) else f"{ABSENT}{i}"
             for i in range(len(paths))]
    by_size: dict[int, set[str]] = defaultdict(set)
    for i, s in stats.items():
        by_size[s.st_size].add(inode[i])
    first_path = _first([inode[i] for i, _ in named], [path for _, path in named])
    content = {
        key: f"sha256:{file_digest(first_path[key])}"
        for keys in by_size.values()
        if len(keys) > 1
        for key in keys
    }
    return [content.get(key, key) for key in inode]


def _first(keys: list[str], paths: list[Path]) -> dict[str, Path]:
    first: dict[str, Path] = {}
    for key, path in zip(keys, paths, strict=True):
        first.setdefault(key, path)
    return first


@dataclass(frozen=True)
class FileGroups:
    """The merged group of every row and what the summary says about them."""

    names: pd.Series  # group name per row: the base group of its first row
    summary: dict[str, object]


def merge_groups(base: pd.Series, identities: dict[str, list[str]]) -> FileGroups:
    """Connected components of rows linked by a base group (patient) or a shared file."""
    n = len(base)
    keys = pd.concat(
        [pd.Series("group:" + base.astype(str).to_numpy())]
        + [pd.Series([f"{column}:{k}" for k in ids]) for column, ids in identities.items()]
    )
    codes, uniques = pd.factorize(keys)
    rows = np.tile(np.arange(n), len(identities) + 1)
    graph = coo_matrix((np.ones(len(codes)), (rows, n + codes)), shape=(n + len(uniques),) * 2)
    _, component = connected_components(graph, directed=False)
    component = component[:n]
    names = pd.Series(base.to_numpy()).groupby(component).transform("first").astype(str)
    sizes = np.bincount(component)
    sharing = np.zeros(n, dtype=bool)
    files = {}
    for column, ids in identities.items():
        named = pd.Series(ids)[~pd.Series(ids, dtype=str).str.startswith(ABSENT)]
        counts = named.value_counts()
        sharing |= pd.Series(ids).map(counts).fillna(0).to_numpy() > 1
        files[column] = {"distinct": len(counts), "shared_by_several_rows": int((counts > 1).sum())}
    used = sizes[sizes > 0]
    return FileGroups(
        names.set_axis(base.index),
        {
            "rows_sharing_a_file": int(sharing.sum()),
            "files": files,
            "groups": len(used),
            "largest_group": int(used.max()) if len(used) else 0,
        },
    )


def repeats(identities: dict[str, list[str]]) -> list[tuple[int, str, int]]:
    """(row, column, earlier row) for every row whose file an earlier kept row already has;
    what `validate.shared_files: drop` removes so that each file is used once."""
    seen: dict[str, int] = {}
    found = []
    for row in range(len(next(iter(identities.values()), []))):
        earlier = [(c, seen[f"{c}:{ids[row]}"]) for c, ids in identities.items()
                   if f"{c}:{ids[row]}" in seen]
        if earlier:
            found.append((row, *earlier[0]))
            continue
        for column, ids in identities.items():
            seen[f"{column}:{ids[row]}"] = row
    return found
