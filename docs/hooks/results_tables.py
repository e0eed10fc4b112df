"""mkdocs hook: `<!-- results: NAME.json -->` in a page becomes the table of docs/results/NAME.json.

The files are written by the benchmarks (`--results`), so a table in the docs is always the one
the last run printed, with its command, machine and date under it. A marker naming a missing or
unreadable file fails the build.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

from cardiofusion.reporting.results_file import load_results, markdown_table

MARKER = re.compile(r"<!-- results: (?P<name>[\w.-]+\.json) -->")


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    folder = Path(config["docs_dir"]) / "results"

    def table(match: re.Match[str]) -> str:
        path = folder / match["name"]
        try:
            return markdown_table(load_results(path))
        except (OSError, ValueError, KeyError) as exc:
            raise PluginError(f"{page.file.src_path}: results file {path} unusable: "
                              f"{exc}") from None

    return MARKER.sub(table, markdown)
