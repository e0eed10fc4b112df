"""Patient-grouped, label-stratified train/val/test split.

Whole groups (patients, and rows sharing a file) are assigned to one split, so nothing leaks
between training and evaluation; groups are drawn per class so every split keeps the class
balance, and filled by rows, so a split of a few large groups still gets its share of rows.
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
    """Return the split name per row; a group's class is its highest label.

    Groups are shuffled, then val and test take whole groups until they hold their fraction of
    the class's rows (with one row per group, that is the fraction of groups)."""
    group_label = labels.groupby(groups).max()
    group_size = groups.value_counts()
    rng = np.random.default_rng(seed)
    assignment: dict[object, str] = {}
    for label, members in group_label.groupby(group_label):
        names = members.index.to_numpy().copy()
        rng.shuffle(names)
        sizes = group_size[names].to_numpy()
        before = np.cumsum(sizes) - sizes  # rows in the groups drawn earlier
        n_val, n_test = round(sizes.sum() * fractions.val), round(sizes.sum() * fractions.test)
        chosen = np.where(before < n_val, "val", np.where(before < n_val + n_test, "test", "train"))
        if len(set(chosen)) < len(SPLITS):
            raise CardiofusionError(
                f"class {label} has only {len(names)} independent groups (patients, or rows "
                f"sharing a file): too few to put at least one in each of train/val/test at "
                f"fractions {fractions.train}/{fractions.val}/{fractions.test}; add data or "
                "change data.split"
            )
        assignment.update(zip(names, chosen, strict=True))
    return groups.map(assignment).rename("split")
