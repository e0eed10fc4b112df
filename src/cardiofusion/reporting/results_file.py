"""Benchmark results as committed files, and the tables the documentation renders from them.

A benchmark that measures something writes one JSON record: the command that ran, the machine,
when, the seeds, the table it printed and the raw figures behind it. The docs build renders the
table from that file (docs/hooks/results_tables.py), so re-running the benchmark updates the
docs and no figure is copied by hand.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cardiofusion.files import write_json

# the widest first: what a machine name reports of its CPU flags
VECTOR_UNITS = (("AVX-512, AMX", {"avx512f", "amx_tile"}), ("AVX-512", {"avx512f"}),
                ("AVX2", {"avx2"}))


def machine() -> str:
    """The CPU model, its widest vector units (speed figures differ several-fold between AVX2
    and AVX-512 with AMX), the core count and the OS, as a results file names the machine."""
    model = platform.processor() or platform.machine()
    units = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        lines = cpuinfo.read_text().splitlines()
        names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
        model = names[0] if names else model
        flags = next((set(line.split(":", 1)[1].split()) for line in lines
                      if line.startswith("flags")), set())
        units = next((f" ({name})" for name, needed in VECTOR_UNITS if needed <= flags), "")
    return f"{model}{units}, {os.cpu_count()} cores, {platform.system()}"


def results_record(benchmark: str, header: list[str], rows: list[list[str]],
                   raw: Any, measured: str | None = None, **about: Any) -> dict[str, Any]:
    """One benchmark's table and the figures behind it, with how and where they were made."""
    return {
        "benchmark": benchmark,
        "command": " ".join(["python", *sys.argv]),
        "machine": machine(),
        "measured": measured or datetime.now(timezone.utc).date().isoformat(),
        **about,
        "header": header,
        "rows": rows,
        "raw": raw,
    }


def write_results(path: str | Path, record: dict[str, Any]) -> None:
    write_json(path, record)


def markdown_table(record: dict[str, Any]) -> str:
    """The record's table in Markdown, followed by the line saying where it comes from."""
    header, rows = record["header"], record["rows"]
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    seeds = record.get("seeds")
    over = f", seeds {', '.join(map(str, seeds))}" if seeds else ""
    lines.append("")
    lines.append(f"*`{record['command']}` on {record['machine']}, {record['measured']}{over}.*")
    return "\n".join(lines)


def load_results(path: str | Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())
