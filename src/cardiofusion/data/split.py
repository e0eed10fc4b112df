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
    labels: pd.Series, groups: pd.Series, fractions: SplitFractions, seed: int,
    combinations: pd.Series | None = None,
) -> pd.Series:
    """Return the split name per row; a group's class is its highest label.

    Groups are shuffled, then val and test take whole groups until they hold their fraction of
    the class's rows (with one row per group, that is the fraction of groups). With
    `combinations` (which modalities each row has) every combination of a class that has
    enough groups to reach all three splits is split on its own, so each split holds patients
    without an ECG, without a recording, ...; the rarer ones are split together."""
    group_label = labels.groupby(groups).max()
    group_size = groups.value_counts()
    if combinations is None:
        combinations = pd.Series("all", index=labels.index)
    group_kind = combinations.set_axis(labels.index).groupby(groups).first()
    rng = np.random.default_rng(seed)
    assignment: dict[object, str] = {}
    for label, members in group_label.groupby(group_label):
        kinds = group_kind[members.index]
        strata = [kinds.index[kinds == kind].to_numpy() for kind in sorted(kinds.unique())]
        large = [names for names in strata if _reaches_every_split(len(names), fractions)]
        rest = [names for names in strata if not _reaches_every_split(len(names), fractions)]
        for names in [*large, np.concatenate(rest) if rest else np.array([])]:
            assignment.update(_assign(names.copy(), group_size, fractions, rng))
        if len({assignment[name] for name in members.index}) < len(SPLITS):
            raise CardiofusionError(
                f"class {label} has only {len(members)} independent groups (patients, or rows "
                f"sharing a file): too few to put at least one in each of train/val/test at "
                f"fractions {fractions.train}/{fractions.val}/{fractions.test}; add data or "
                "change data.split"
            )
    return groups.map(assignment).rename("split")


def _reaches_every_split(groups: int, fractions: SplitFractions) -> bool:
    return round(groups * fractions.val) >= 1 and round(groups * fractions.test) >= 1 and (
        groups - round(groups * fractions.val) - round(groups * fractions.test) >= 1)


def _assign(names: np.ndarray, group_size: pd.Series, fractions: SplitFractions,
            rng: np.random.Generator) -> dict[object, str]:
    if not len(names):
        return {}
    rng.shuffle(names)
    sizes = group_size[names].to_numpy()
    before = np.cumsum(sizes) - sizes  # rows in the groups drawn earlier
    n_val, n_test = round(sizes.sum() * fractions.val), round(sizes.sum() * fractions.test)
    chosen = np.where(before < n_val, "val", np.where(before < n_val + n_test, "test", "train"))
    return dict(zip(names, chosen, strict=True))
