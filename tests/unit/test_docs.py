"""The documentation: the site builds with --strict (a broken link or a missing results file
fails it), the README fits on a screen or two, and the README's figures are the results file's."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cardiofusion.reporting.results_file import load_results

REPO = Path(__file__).resolve().parents[2]


def test_the_site_builds_strictly(tmp_path):
    mkdocs = shutil.which("mkdocs", path=str(Path(sys.executable).parent))
    if mkdocs is None:
        pytest.skip("mkdocs not installed (pip install -e '.[dev]')")
    done = subprocess.run([mkdocs, "build", "--strict", "-d", str(tmp_path / "site")], cwd=REPO,
                          capture_output=True, text=True, timeout=300,
                          env={"NO_MKDOCS_2_WARNING": "1", "PATH": str(Path(sys.executable)
                                                                       .parent)})
    assert done.returncode == 0, done.stderr[-3000:]
    results = (tmp_path / "site/results/index.html").read_text()
    assert "benchmarks/balance.py" in results and "<table>" in results


def test_the_readme_fits_on_a_screen_or_two():
    assert len((REPO / "README.md").read_bytes()) < 8 * 1024


def test_the_readme_table_is_the_results_file():
    rows = {row[0]: row for row in load_results(REPO / "docs/results/balance_demo.json")["rows"]}
    readme = (REPO / "README.md").read_text()
    for method, label in (("naive", "naive training"), ("defaults", "cardiofusion defaults")):
        line = next(line for line in readme.splitlines() if line.startswith(f"| {label} |"))
        cells = [c.strip() for c in line.strip("|").split("|")]
        _, auroc, median, _, ecg, pcg, clinical, met, _ = rows[method]
        assert cells[1:] == [ecg, pcg, clinical, median, met], (line, rows[method])


def test_every_results_marker_names_a_committed_file():
    for page in (REPO / "docs").glob("*.md"):
        for name in re.findall(r"<!-- results: ([\w.-]+) -->", page.read_text()):
            assert (REPO / "docs/results" / name).is_file(), (page.name, name)
