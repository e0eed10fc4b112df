"""The data-quality gate between a metadata CSV and everything downstream.

Every problem is reported by CSV row, column and file, counted by reason, and either dropped by
the user's rule (`validate.on_error: drop`) or refused (`fail`). Nothing is dropped silently and
nothing downstream re-reads the CSV: the manifest carries resolved paths, labels, clinical values
and the split.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
from PIL import Image, UnidentifiedImageError

from cardiofusion.config import DataParams, Params, ValidateParams
from cardiofusion.data.paths import resolve_path
from cardiofusion.data.split import SPLITS, grouped_stratified_split
from cardiofusion.errors import CardiofusionError
from cardiofusion.io import atomic_path, write_json

MANIFEST_PATH = Path("data/validated/manifest.csv")
METRICS_PATH = Path("metrics/validation.json")
EXAMPLES_PER_REASON = 5


@dataclass(frozen=True)
class Problem:
    line: int  # line in the CSV file (header is line 1)
    patient_id: str
    column: str
    reason: str
    detail: str

    def __str__(self) -> str:
        return f"line {self.line} ({self.patient_id}), column {self.column}: {self.detail}"


def run_validate(params: Params) -> pd.DataFrame:
    """Check the CSV named in params, write the manifest and metrics, return the manifest."""
    data, rules = params.data, params.validate_
    table = _read_csv(data.csv)
    clinical = _clinical_columns(table, data)
    _require_columns(table, data, clinical)
    lines = pd.Series(np.arange(len(table)) + 2, index=table.index)
    ids = table[data.id_column].astype(str)

    problems: list[Problem] = []
    labels, label_problems = _check_labels(table[data.label_column], lines, ids, data.label_column)
    problems += label_problems
    values, value_problems = _check_clinical(table, clinical, lines, ids)
    problems += value_problems
    problems += _check_duplicates(ids, lines, data.id_column)
    ecg_paths = [resolve_path(p, data.root, data.path_rewrite) for p in table[data.ecg_column]]
    pcg_paths = [resolve_path(p, data.root, data.path_rewrite) for p in table[data.pcg_column]]
    problems += _check_files(ecg_paths, pcg_paths, lines, ids, data, rules)

    bad_lines = {p.line for p in problems}
    keep = ~lines.isin(bad_lines)
    _apply_policy(problems, len(table), int((~keep).sum()), rules)

    groups = table[data.group_column].astype(str) if data.group_column else ids
    manifest = pd.DataFrame(
        {
            "line": lines,
            "patient_id": ids,
            "group": groups,
            "ecg_path": [str(p) for p in ecg_paths],
            "pcg_path": [str(p) for p in pcg_paths],
            "label": labels,
        }
    ).join(values)[keep].reset_index(drop=True)
    manifest["label"] = manifest["label"].astype(int)
    manifest.insert(
        len(manifest.columns) - len(clinical),
        "split",
        grouped_stratified_split(manifest["label"], manifest["group"], data.split, params.seed),
    )
    with atomic_path(MANIFEST_PATH) as tmp:
        manifest.to_csv(tmp, index=False)
    report = _report(table, manifest, problems, values)
    write_json(METRICS_PATH, report)
    _print_summary(report, problems)
    return manifest


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise CardiofusionError(
            f"{path}: metadata CSV not found; set data.csv in params.yaml"
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise CardiofusionError(f"{path}: not a readable CSV ({exc})") from None


def _clinical_columns(table: pd.DataFrame, data: DataParams) -> list[str]:
    if data.clinical_columns != "auto":
        return list(data.clinical_columns)
    reserved = {data.id_column, data.ecg_column, data.pcg_column, data.label_column}
    reserved |= {data.group_column, *data.ignore_columns} - {None}
    candidates = [c for c in table.columns if c not in reserved]
    return [c for c in candidates if pd.to_numeric(table[c], errors="coerce").notna().any()]


def _require_columns(table: pd.DataFrame, data: DataParams, clinical: list[str]) -> None:
    named = {
        "data.id_column": data.id_column,
        "data.ecg_column": data.ecg_column,
        "data.pcg_column": data.pcg_column,
        "data.label_column": data.label_column,
    }
    if data.group_column:
        named["data.group_column"] = data.group_column
    named |= {f"data.clinical_columns[{c}]": c for c in clinical}
    missing = [f"{key} = {col!r}" for key, col in named.items() if col not in table.columns]
    if missing:
        raise CardiofusionError(
            f"{data.csv}: columns not found: {'; '.join(missing)}. "
            f"The CSV has: {', '.join(table.columns)}. Fix the column names in params.yaml."
        )
    if not clinical:
        raise CardiofusionError(f"{data.csv}: no numeric clinical columns found")


def _check_labels(
    raw: pd.Series, lines: pd.Series, ids: pd.Series, column: str
) -> tuple[pd.Series, list[Problem]]:
    numeric = pd.to_numeric(raw, errors="coerce")
    problems = []
    for i in raw.index:
        value, text = numeric[i], raw[i].strip()
        if text == "":
            reason, detail = "label_missing", "label is missing"
        elif np.isnan(value):
            reason, detail = "label_not_numeric", f"label {text!r} is not a number"
        elif value != round(value):
            reason, detail = "label_not_integral", f"label {text} is not 0 or 1 (never rounded)"
        elif value not in (0, 1):
            reason, detail = "label_out_of_range", f"label {text} is not 0 (healthy) or 1"
        else:
            continue
        problems.append(Problem(int(lines[i]), ids[i], column, reason, detail))
    return numeric, problems


def _check_clinical(
    table: pd.DataFrame, columns: list[str], lines: pd.Series, ids: pd.Series
) -> tuple[pd.DataFrame, list[Problem]]:
    values = table[columns].apply(pd.to_numeric, errors="coerce")
    problems = []
    for column in columns:
        text = table[column].str.strip()
        for i in text.index[(text != "") & values[column].isna()]:
            detail = f"value {text[i]!r} is not a number (leave it empty if unknown)"
            problems.append(Problem(int(lines[i]), ids[i], column, "clinical_not_numeric", detail))
    return values, problems


def _check_duplicates(ids: pd.Series, lines: pd.Series, column: str) -> list[Problem]:
    repeated = ids.duplicated(keep="first")
    return [
        Problem(int(lines[i]), ids[i], column, "duplicate_id", f"patient id {ids[i]} repeats")
        for i in ids.index[repeated]
    ]


def _check_files(
    ecg_paths: list[Path],
    pcg_paths: list[Path],
    lines: pd.Series,
    ids: pd.Series,
    data: DataParams,
    rules: ValidateParams,
) -> list[Problem]:
    with ThreadPoolExecutor(max_workers=8) as pool:
        ecg = list(pool.map(lambda p: _check_image(p, rules.min_image_px), ecg_paths))
        pcg = list(pool.map(lambda p: _check_audio(p, rules.min_pcg_seconds), pcg_paths))
    problems = []
    for i, (ecg_issue, pcg_issue) in enumerate(zip(ecg, pcg, strict=True)):
        line, pid = int(lines.iloc[i]), ids.iloc[i]
        if ecg_issue:
            problems.append(Problem(line, pid, data.ecg_column, *ecg_issue))
        if pcg_issue:
            problems.append(Problem(line, pid, data.pcg_column, *pcg_issue))
    return problems


def _check_image(path: Path, min_px: int) -> tuple[str, str] | None:
    """Header check: exists, non-empty, an image Pillow can identify, not tiny."""
    if not path.is_file():
        return "file_missing", f"{path}: file not found (check data.root / data.path_rewrite)"
    if path.stat().st_size == 0:
        return "file_empty", f"{path}: file is empty"
    try:
        with Image.open(path) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError) as exc:
        return "image_unreadable", f"{path}: not a readable image ({exc})"
    if min(width, height) < min_px:
        return "image_too_small", f"{path}: {width}x{height} px, below {min_px} px"
    return None


def _check_audio(path: Path, min_seconds: float) -> tuple[str, str] | None:
    """Header check: exists, non-empty, audio soundfile can read, long enough."""
    if not path.is_file():
        return "file_missing", f"{path}: file not found (check data.root / data.path_rewrite)"
    if path.stat().st_size == 0:
        return "file_empty", f"{path}: file is empty"
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as exc:
        return "audio_unreadable", f"{path}: not readable audio ({exc})"
    if info.duration < min_seconds:
        return "audio_too_short", f"{path}: {info.duration:.2f} s, below {min_seconds} s"
    return None


def _apply_policy(problems: list[Problem], n_rows: int, n_bad: int, rules: ValidateParams) -> None:
    if not problems:
        return
    if rules.on_error == "fail":
        raise CardiofusionError(
            f"validation failed (validate.on_error: fail): {n_bad} of {n_rows} rows have "
            f"problems\n{_summary(problems)}"
        )
    if n_bad / n_rows > rules.max_drop_fraction:
        raise CardiofusionError(
            f"validation would drop {n_bad} of {n_rows} rows ({n_bad / n_rows:.1%}), more than "
            f"validate.max_drop_fraction={rules.max_drop_fraction}\n{_summary(problems)}"
        )


def _summary(problems: list[Problem]) -> str:
    lines = []
    for reason, count in Counter(p.reason for p in problems).most_common():
        lines.append(f"  {reason}: {count}")
        examples = [p for p in problems if p.reason == reason][:EXAMPLES_PER_REASON]
        lines += [f"    {p}" for p in examples]
    return "\n".join(lines)


def _report(
    table: pd.DataFrame, manifest: pd.DataFrame, problems: list[Problem], values: pd.DataFrame
) -> dict[str, object]:
    classes = {
        split: {
            str(label): int(n)
            for label, n in manifest.loc[manifest.split == split, "label"].value_counts().items()
        }
        for split in SPLITS
    }
    return {
        "rows_in": len(table),
        "rows_kept": len(manifest),
        "rows_dropped": len(table) - len(manifest),
        "problems_by_reason": dict(Counter(p.reason for p in problems).most_common()),
        "missing_clinical_values": {c: int(n) for c, n in values.isna().sum().items() if n},
        "class_counts": classes,
    }


def _print_summary(report: dict[str, object], problems: list[Problem]) -> None:
    print(f"🔎 Validated {report['rows_in']} rows: kept {report['rows_kept']}, "
          f"dropped {report['rows_dropped']}")
    if problems:
        print(_summary(problems))
    for split, counts in report["class_counts"].items():  # type: ignore[union-attr]
        print(f"   {split}: healthy {counts.get('0', 0)}, abnormal {counts.get('1', 0)}")
