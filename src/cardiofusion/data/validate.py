"""The data-quality gate between a metadata CSV and everything downstream.

Every problem is reported by CSV row, column and file, counted by reason, and either dropped by
the user's rule (`validate.on_error: drop`) or refused (`fail`). Nothing is dropped silently and
nothing downstream re-reads the CSV: the manifest carries resolved paths, labels, clinical values
and the split.
"""

from __future__ import annotations

import csv
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from cardiofusion.config import DataParams, Params, ValidateParams
from cardiofusion.console import print_class_counts, print_shared_files, print_validation
from cardiofusion.data.file_checks import check_audio, check_image
from cardiofusion.data.labels import check_labels
from cardiofusion.data.resolve import check_path, describe_path, resolve_path
from cardiofusion.data.shared_files import file_identities, merge_groups, repeats
from cardiofusion.data.split import SPLITS, grouped_stratified_split
from cardiofusion.data.table_checks import (
    Problem,
    Rows,
    check_clinical,
    check_duplicate_ids,
    check_header,
    dataset_findings,
    is_label_like,
    label_copies,
)
from cardiofusion.errors import CardiofusionError
from cardiofusion.files import atomic_path, write_metrics
from cardiofusion.paths import DEFAULT_PATHS, PipelinePaths

EXAMPLES_PER_REASON = 5


def run_validate(params: Params, paths: PipelinePaths = DEFAULT_PATHS) -> pd.DataFrame:
    """Check the CSV named in params, write the manifest and metrics, return the manifest."""
    data, rules = params.data, params.validate_
    table = _read_csv(data.csv)
    _require_columns(table, data, _named_columns(data))
    ids = table[data.id_column].astype(str)
    rows = Rows(pd.Series(np.arange(len(table)) + 2, index=table.index), ids)
    labels, problems = check_labels(table[data.label_column], rows, data)
    clinical, leaks = _clinical_columns(table, data, labels)
    _require_columns(table, data, {f"data.clinical_columns[{c}]": c for c in clinical})
    if not clinical:
        raise CardiofusionError(f"{data.csv}: no numeric clinical columns found")

    values, value_problems = check_clinical(table, clinical, dict(rules.ranges), rows)
    problems += value_problems
    problems += check_duplicate_ids(ids, data.id_column, rows)
    files = {
        column: [resolve_path(p, data.root, data.path_rewrite) for p in table[column]]
        for column in (data.ecg_column, data.pcg_column)
    }
    problems += _check_files(table, files, rows, data, rules, params.seed)
    checked = ~rows.lines.isin({p.line for p in problems})
    identities = {c: file_identities([files[c][i] for i in np.flatnonzero(checked)]) for c in files}
    problems += _shared_file_problems(table, identities, checked, rows, rules)
    keep = ~rows.lines.isin({p.line for p in problems})

    label_columns = [c for c in table.columns if is_label_like(c) and c != data.label_column]
    findings = dataset_findings(table, values, labels, label_columns)
    report = _report(table, int(keep.sum()), problems, {"label_leak_columns": leaks, **findings})
    base = table[data.group_column].astype(str) if data.group_column else ids
    groups = merge_groups(base[keep], _still_kept(identities, checked, keep))
    report["shared_files"] = groups.summary
    print_validation(report, problems, EXAMPLES_PER_REASON)
    print_shared_files(groups.summary)
    _apply_policy(report, rules)

    manifest = (
        pd.DataFrame(
            {
                "line": rows.lines,
                "patient_id": ids,
                "group": groups.names.reindex(table.index),
                "ecg_path": [str(p) for p in files[data.ecg_column]],
                "pcg_path": [str(p) for p in files[data.pcg_column]],
                "label": labels,
            }
        )
        .join(values)[keep]
        .reset_index(drop=True)
    )
    manifest["label"] = manifest["label"].astype(int)
    split = grouped_stratified_split(manifest["label"], manifest["group"], data.split, params.seed)
    manifest.insert(len(manifest.columns) - len(clinical), "split", split)
    report["class_counts"] = {
        name: {
            str(k): int(n) for k, n in manifest.loc[split == name, "label"].value_counts().items()
        }
        for name in SPLITS
    }
    with atomic_path(paths.manifest) as tmp:
        manifest.to_csv(tmp, index=False)
    write_metrics(paths.validation_metrics, paths.validation_details, report,
                  ["rows_in", "rows_kept", "rows_dropped"])
    print_class_counts(report["class_counts"])
    return manifest


def _read_csv(path: Path) -> pd.DataFrame:
    """The metadata table as text; a missing, empty or unreadable file is one clear line."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), [])
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError:
        raise CardiofusionError(
            f"{path}: metadata CSV not found; set data.csv in params.yaml"
        ) from None
    except pd.errors.EmptyDataError:
        raise CardiofusionError(
            f"{path}: the metadata CSV is empty; it needs a header line (patient_id, ecg_path, "
            "pcg_path, the clinical columns, output) and one row per patient"
        ) from None
    except IsADirectoryError:
        raise CardiofusionError(f"{path}: is a folder; set data.csv to the CSV file") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        problem = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise CardiofusionError(f"{path}: not a readable CSV ({problem})") from None
    duplicate = check_header(header)
    if duplicate:
        raise CardiofusionError(f"{path}: {duplicate}")
    if table.empty:
        raise CardiofusionError(f"{path}: the metadata CSV has a header but no rows")
    return table


def _clinical_columns(
    table: pd.DataFrame, data: DataParams, labels: pd.Series
) -> tuple[list[str], list[str]]:
    """The clinical inputs, and the columns left out because they copy the label."""
    reserved = {data.id_column, data.ecg_column, data.pcg_column, data.label_column}
    reserved |= {data.group_column, *data.ignore_columns} - {None}
    if data.clinical_columns != "auto":
        chosen = [c for c in data.clinical_columns if c in table]
        leaks = label_copies(table, labels, chosen)
        if leaks:
            raise CardiofusionError(
                f"{data.csv}: clinical column(s) {', '.join(map(repr, leaks))} equal the label "
                f"column {data.label_column!r} on every row: a label leak. Remove them from "
                "data.clinical_columns."
            )
        return list(data.clinical_columns), []
    candidates = [c for c in table.columns if c not in reserved and not is_label_like(c)]
    numeric = [c for c in candidates if pd.to_numeric(table[c], errors="coerce").notna().any()]
    leaks = label_copies(table, labels, numeric)
    return [c for c in numeric if c not in leaks], leaks


def _named_columns(data: DataParams) -> dict[str, str]:
    named = {
        "data.id_column": data.id_column,
        "data.ecg_column": data.ecg_column,
        "data.pcg_column": data.pcg_column,
        "data.label_column": data.label_column,
    }
    if data.group_column:
        named["data.group_column"] = data.group_column
    return named


def _require_columns(table: pd.DataFrame, data: DataParams, named: dict[str, str]) -> None:
    missing = [f"{key} = {col!r}" for key, col in named.items() if col not in table.columns]
    if missing:
        raise CardiofusionError(
            f"{data.csv}: columns not found: {'; '.join(missing)}. "
            f"The CSV has: {', '.join(table.columns)}. Fix the column names in params.yaml."
        )


def _check_files(
    table: pd.DataFrame,
    files: dict[str, list[Path]],
    rows: Rows,
    data: DataParams,
    rules: ValidateParams,
    seed: int,
) -> list[Problem]:
    """Header checks of every file in parallel; a full decode of a seeded sample of them.

    Each message shows the path as written, the file it resolved to, and why."""
    sampled = set(
        np.random.default_rng(seed).permutation(len(table))[: rules.decode_sample].tolist()
    )
    checks = {
        data.ecg_column: lambda path, full: check_image(path, rules.min_image_px, full),
        data.pcg_column: lambda path, full: check_audio(path, rules.min_pcg_seconds, full),
    }

    def one(i: int) -> list[Problem]:
        found = []
        for column, check in checks.items():
            path = files[column][i]
            issue = check_path(path, data.root) or check(path, i in sampled)
            if issue:
                reason, detail = issue
                where = describe_path(table[column].iat[i], path)
                detail = f"{where}: {detail.removeprefix(f'{path}: ')}"
                found.append(rows.problem(rows.lines.index[i], column, reason, detail))
        return found

    with ThreadPoolExecutor(max_workers=8) as pool:
        return [p for found in pool.map(one, range(len(table))) for p in found]


def _still_kept(
    identities: dict[str, list[str]], checked: pd.Series, keep: pd.Series
) -> dict[str, list[str]]:
    """Identities (computed for the rows that passed the checks) of the rows still kept."""
    still = keep[checked].to_numpy()
    return {c: list(np.asarray(ids, dtype=object)[still]) for c, ids in identities.items()}


def _shared_file_problems(
    table: pd.DataFrame,
    identities: dict[str, list[str]],
    keep: pd.Series,
    rows: Rows,
    rules: ValidateParams,
) -> list[Problem]:
    """Under `validate.shared_files: drop` a row whose file an earlier row has is a problem;
    under `fail` any sharing refuses the run; under `group` sharing is not a problem."""
    if rules.shared_files == "group":
        return []
    index = keep.index[keep.to_numpy()]
    found = [
        rows.problem(
            index[row],
            column,
            "shared_file",
            f"{table.at[index[row], column]!r} is the same file as "
            f"{table.at[index[first], column]!r} on line {rows.lines[index[first]]}",
        )
        for row, column, first in repeats(identities)
    ]
    if found and rules.shared_files == "fail":
        shown = "\n  ".join(map(str, found[:EXAMPLES_PER_REASON]))
        raise CardiofusionError(
            f"{len(found)} rows use a file an earlier row uses (validate.shared_files: fail):\n"
            f"  {shown}\nSet validate.shared_files: group to keep them together in one split, "
            "or drop to keep only the first row of each file."
        )
    return found


def _report(
    table: pd.DataFrame, kept: int, problems: list[Problem], findings: dict[str, object]
) -> dict[str, object]:
    return {
        "rows_in": len(table),
        "rows_kept": kept,
        "rows_dropped": len(table) - kept,
        "problems_by_reason": dict(Counter(p.reason for p in problems).most_common()),
        **findings,
    }


def _apply_policy(report: dict[str, object], rules: ValidateParams) -> None:
    rows_in, dropped = report["rows_in"], report["rows_dropped"]
    if dropped and rules.on_error == "fail":
        raise CardiofusionError(
            f"validation failed (validate.on_error: fail): {dropped} of {rows_in} rows have "
            "problems, listed above by reason. Fix them, or set validate.on_error: drop."
        )
    if dropped == rows_in:
        raise CardiofusionError(
            f"validation dropped all {rows_in} rows (reasons above); nothing is left to train on"
        )
    if dropped / rows_in > rules.max_drop_fraction:
        raise CardiofusionError(
            f"validation would drop {dropped} of {rows_in} rows ({dropped / rows_in:.1%}), more "
            f"than validate.max_drop_fraction={rules.max_drop_fraction} (reasons above)"
        )
