"""Patient-grouped, label-stratified train/val/test split.

Whole groups (patients) are assigned to one split, so no patient's data leaks between training
and evaluation; groups are drawn per class so every split keeps the class balance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cardiofusion.config import SplitFractions
from cardiofusion.errors import CardiofusionError

SPLITS = ("train", "val", "test")


def grouped_stratified_split(
    labels: pd.Series, groups: pd.Series, fractions: SplitFractions, seed: int
) -> pd.Series:
    """Return the split name per row; a group's class is its highest label."""
    group_label = labels.groupby(groups).max()
    rng = np.random.default_rng(seed)
    assignment: dict[object, str] = {}
    for label, members in group_label.groupby(group_label):
        names = members.index.to_numpy().copy()
        rng.shuffle(names)
        n_val = round(len(names) * fractions.val)
        n_test = round(len(names) * fractions.test)
        n_train = len(names) - n_val - n_test
        if min(n_train, n_val, n_test) < 1:
            raise CardiofusionError(
                f"class {label} has only {len(names)} patients: too few to put at least one in "
                f"each of train/val/test at fractions {fractions.train}/{fractions.val}/"
                f"{fractions.test}; add data or change data.split"
            )
        for i, name in enumerate(names):
            assignment[name] = "val" if i < n_val else "test" if i < n_val + n_test else "train"
    return groups.map(assignment).rename("split")
