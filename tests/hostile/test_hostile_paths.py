"""Path cells the system itself refuses, and paths to things that are not files: each is a row
problem that says what it is, never a traceback or a misleading "file not found"; and a CSV
thousands of columns wide is read in time linear in its columns."""

import json
import os

import pandas as pd
import pytest

from cardiofusion.data.validate import run_validate
from cardiofusion.paths import PipelinePaths


@pytest.fixture
def validated(tiny_params, tiny_demo, tmp_path):
    """Validate a copy of the tiny demo CSV after `edit(table, root)`, under a data.root of its
    own (the demo's folders linked in); the manifest and the report."""
    root = tmp_path / "root"
    root.mkdir()
    for folder in tiny_demo.parent.iterdir():
        if folder.is_dir():
            (root / folder.name).symlink_to(folder)

    def run(edit):
        table = pd.read_csv(tiny_demo, dtype=str, keep_default_na=False)
        edit(table, root)
        table.to_csv(tmp_path / "edited.csv", index=False)
        data = tiny_params.data.model_copy(update={"csv": tmp_path / "edited.csv",
                                                   "root": root})
        rules = tiny_params.validate_.model_copy(update={"max_drop_fraction": 1.0})
        params = tiny_params.model_copy(update={"data": data, "validate_": rules})
        paths = PipelinePaths(tmp_path / "out")
        manifest = run_validate(params, paths)
        return manifest, json.loads(paths.validation_details.read_text())

    return run


def test_paths_the_system_refuses_are_row_problems_saying_why(validated, capsys):
    def edit(table, root):
        (root / "a_folder").mkdir()
        os.mkfifo(root / "a_fifo")
        os.symlink("a_loop", root / "a_loop")
        table.loc[0, "ecg_path"] = "n" * 300 + ".png"
        table.loc[1, "ecg_path"] = "ecg/scan\x00.png"
        table.loc[2, "ecg_path"] = "a_folder"
        table.loc[3, "pcg_path"] = "a_fifo"
        table.loc[4, "pcg_path"] = "a_loop"

    manifest, report = validated(edit)
    out = capsys.readouterr().out
    assert report["problems_by_reason"] == {"path_invalid": 3, "file_not_regular": 2}
    assert "longer than the system allows" in out and "NUL byte" in out
    assert "is a directory" in out and "FIFO" in out and "symlinks form a loop" in out
    assert "n" * 200 not in out  # the 300-character name is cut
    assert len(manifest) == 35


def test_a_csv_with_thousands_of_extra_columns_is_validated(validated):
    def edit(table, root):
        extra = pd.DataFrame({f"x{i}": [str((j * i) % 7) for j in range(len(table))]
                              for i in range(3_000)}, index=table.index)
        table[extra.columns] = extra

    manifest, report = validated(edit)
    assert report["rows_kept"] == 40 and "x2999" in manifest.columns
