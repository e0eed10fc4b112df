"""Folds keep groups whole, test every patient once, and keep both classes everywhere."""

import numpy as np
import pandas as pd
import pytest

from cardiofusion.crossval.folds import fold_splits
from cardiofusion.errors import CardiofusionError


def _index(n: int = 120, group_size: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(n // group_size), group_size).astype(str)
    labels = np.repeat(rng.random(n // group_size) < 0.7, group_size).astype(int)
    return pd.DataFrame({"patient_id": [f"P{i}" for i in range(n)], "group": groups,
                         "label": labels})


def test_every_patient_is_tested_once_and_groups_stay_whole():
    index = _index()
    splits = fold_splits(index, folds=5, val_fraction=0.18, seed=1)
    tested = np.zeros(len(index), dtype=int)
    for split in splits:
        tested += (split == "test").to_numpy()
        for name in ("train", "val", "test"):
            assert set(index.loc[split == name, "label"]) == {0, 1}
        per_group = pd.DataFrame({"group": index["group"], "split": split}).groupby("group")
        assert (per_group["split"].nunique() == 1).all()  # no group in two splits
        assert 0.1 < (split == "val").mean() < 0.25
    assert (tested == 1).all()


def test_too_few_groups_for_the_folds_is_a_clear_error():
    with pytest.raises(CardiofusionError, match="needs at least 20 independent groups"):
        fold_splits(_index(n=30, group_size=3), folds=10, val_fraction=0.2, seed=0)
