"""Rows that share a file: one group whatever the spelling, symlink or name of the file, so no
file and no patient is in two splits; or dropped, or refused, as the user chooses."""

import json
import os
import shutil

import pandas as pd
import pytest

from cardiofusion.config import Params
from cardiofusion.data.validate import run_validate
from cardiofusion.errors import CardiofusionError
from cardiofusion.paths import PipelinePaths


@pytest.fixture
def demo_copy(tiny_demo, tmp_path):
    """A private copy of the tiny demo (40 rows) that a test may add files and links to."""
    root = tmp_path / "demo"
    shutil.copytree(tiny_demo.parent, root)
    return root


def _run(base: Params, root, table: pd.DataFrame, out, **rules) -> pd.DataFrame:
    table.to_csv(root / "edited.csv", index=False)
    data = base.data.model_copy(update={"csv": root / "edited.csv", "root": root})
    return run_validate(
        base.model_copy(
            update={"data": data, "validate_": base.validate_.model_copy(update=rules)}
        ),
        PipelinePaths(out),
    )


def _table(root) -> pd.DataFrame:
    return pd.read_csv(root / "metadata.csv", dtype=str, keep_default_na=False)


def test_one_scan_under_five_spellings_is_one_group_in_one_split(
    tiny_params, demo_copy, tmp_path
):
    table = _table(demo_copy)
    scan = table.loc[0, "ecg_path"]  # e.g. ecg/P0001.png
    folder, name = scan.split("/")
    os.symlink(demo_copy / scan, demo_copy / folder / f"link_{name}")
    shutil.copy(demo_copy / scan, demo_copy / folder / f"copy_{name}")  # same bytes, new name
    table.loc[1, "ecg_path"] = f"./{scan}"
    table.loc[2, "ecg_path"] = f"{folder}//{name}"
    table.loc[3, "ecg_path"] = str(demo_copy / scan)
    table.loc[4, "ecg_path"] = f"{folder}/link_{name}"
    table.loc[5, "ecg_path"] = f"{folder}\\copy_{name}"
    manifest = _run(tiny_params, demo_copy, table, tmp_path / "out")

    assert len(manifest) == 40  # nothing dropped
    sharing = manifest.iloc[:6]
    assert sharing["group"].nunique() == 1
    assert sharing["split"].nunique() == 1
    summary = json.loads((tmp_path / "out/reports/validation.json").read_text())["shared_files"]
    assert summary["rows_sharing_a_file"] == 6
    assert summary["groups"] == 35
    assert summary["largest_group"] == 6
    assert summary["files"]["ecg_path"]["distinct"] == 35


def test_shared_files_merge_with_patient_groups(tiny_params, demo_copy, tmp_path):
    """Row 0 and 1 share a recording; row 1 and 2 are one patient: all three are one group."""
    table = _table(demo_copy)
    table["patient"] = [f"person{i}" for i in range(len(table))]
    table.loc[2, "patient"] = "person1"
    table.loc[1, "pcg_path"] = table.loc[0, "pcg_path"]
    table.to_csv(demo_copy / "edited.csv", index=False)
    data = tiny_params.data.model_copy(
        update={"csv": demo_copy / "edited.csv", "root": demo_copy, "group_column": "patient",
                "ignore_columns": ["patient"]}
    )
    manifest = run_validate(
        tiny_params.model_copy(update={"data": data}), PipelinePaths(tmp_path / "out")
    )
    assert manifest.loc[:2, "group"].tolist() == ["person0"] * 3
    assert manifest.loc[:2, "split"].nunique() == 1
    assert manifest["group"].nunique() == 38


def test_drop_keeps_the_first_row_of_each_file(tiny_params, demo_copy, tmp_path, capsys):
    table = _table(demo_copy)
    table.loc[7, "ecg_path"] = "./" + table.loc[3, "ecg_path"]
    manifest = _run(
        tiny_params, demo_copy, table, tmp_path / "out", shared_files="drop"
    )
    assert len(manifest) == 39
    assert 9 not in set(manifest["line"])  # row 7 is CSV line 9
    out = capsys.readouterr().out
    assert "shared_file: 1 in 1 rows" in out
    assert f"is the same file as {table.loc[3, 'ecg_path']!r} on line 5" in out


def test_fail_refuses_and_says_how_to_keep_them(tiny_params, demo_copy, tmp_path):
    table = _table(demo_copy)
    table.loc[7, "pcg_path"] = table.loc[3, "pcg_path"]
    with pytest.raises(CardiofusionError, match="validate.shared_files: group"):
        _run(tiny_params, demo_copy, table, tmp_path / "out", shared_files="fail")


def test_symlinked_folder_inside_root_is_accepted(tiny_params, demo_copy, tmp_path):
    """A dataset on another disk, linked under the project: the usual way to bring data in."""
    elsewhere = tmp_path / "other_disk" / "scans"
    shutil.move(demo_copy / "ecg", elsewhere)
    os.symlink(elsewhere, demo_copy / "ecg")
    manifest = _run(tiny_params, demo_copy, _table(demo_copy), tmp_path / "out")
    assert len(manifest) == 40


def test_path_leaving_root_is_refused_with_written_and_resolved_path(
    tiny_params, demo_copy, tmp_path, capsys
):
    table = _table(demo_copy)
    outside = tmp_path / "outside.png"
    shutil.copy(demo_copy / table.loc[0, "ecg_path"], outside)
    table.loc[0, "ecg_path"] = "../outside.png"
    table.loc[1, "ecg_path"] = str(outside)
    manifest = _run(tiny_params, demo_copy, table, tmp_path / "out", max_drop_fraction=0.1)
    assert len(manifest) == 38
    out = capsys.readouterr().out
    assert f"'../outside.png' -> {outside}: leaves data.root ({demo_copy}) as written" in out
    assert f"{str(outside)!r} -> {outside}: leaves data.root" in out
