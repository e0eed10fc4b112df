"""Fold assignment: whole groups (patients, rows sharing a file) per fold, classes balanced.

On a few hundred patients one test split of about 45 decides a verdict by chance; k folds put
every patient in a test fold exactly once. Each fold keeps an inner validation split, drawn the
same grouped way from its training part, for early stopping, the threshold and calibration.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold

from cardiofusion.errors import CardiofusionError


def fold_splits(index: pd.DataFrame, folds: int, val_fraction: float, seed: int
                ) -> list[pd.Series]:
    """For each fold, the split name ("train", "val", "test") of every row of `index`."""
    labels = index["label"].to_numpy()
    groups = index.get("group", index["patient_id"]).astype(str).to_numpy()
    group_count = len(np.unique(groups))
    if group_count < 2 * folds:
        raise CardiofusionError(
            f"crossval.folds={folds} needs at least {2 * folds} independent groups (patients, "
            f"or rows sharing a file); this dataset has {group_count}"
        )
    outer = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    inner_splits = max(2, round(1 / val_fraction))
    result = []
    for number, (rest, test) in enumerate(outer.split(labels, labels, groups)):
        inner = StratifiedGroupKFold(n_splits=inner_splits, shuffle=True,
                                     random_state=seed + number + 1)
        train, val = next(inner.split(rest, labels[rest], groups[rest]))
        split = np.empty(len(index), dtype=object)
        split[test], split[rest[train]], split[rest[val]] = "test", "train", "val"
        for name in ("train", "val", "test"):
            if len(np.unique(labels[split == name])) < 2:
                raise CardiofusionError(
                    f"crossval fold {number + 1}: its {name} split has one class only; use "
                    "fewer folds (crossval.folds) or more data"
                )
        result.append(pd.Series(split, index=index.index, name="split"))
    return result
