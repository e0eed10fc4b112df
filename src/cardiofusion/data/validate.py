"""The data-quality gate between a metadata CSV and everything downstream.

Every problem is reported by CSV row, column and file, counted by reason, and either dropped by
the user's rule (`validate.on_error: drop`) or refused (`fail`). Nothing is dropped silently and
nothing downstream re-reads the CSV: the manifest carries resolved paths, labels, clinical values
and the split.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from cardiofusion.config import DataParams, Params, ValidateParams
from cardiofusion.console import print_class_counts, print_validation
from cardiofusion.data.file_checks import check_audio, check_image, check_path
from cardiofusion.data.resolve import resolve_path
from cardiofusion.data.split import SPLITS, grouped_stratified_split
from cardiofusion.data.table_checks import (
    Problem,
    Rows,
    check_clinical,
    check_duplicates,
    check_labels,
    dataset_findings,
    is_label_like,
)
from cardiofusion.errors import CardiofusionError
from cardiofusion.files import atomic_path, write_metrics
from cardiofusion.paths import DEFAULT_PATHS, PipelinePaths

EXAMPLES_PER_REASON = 5


def run_validate(params: Params, paths: PipelinePaths = DEFAULT_PATHS) -> pd.DataFrame:
    """Check the CSV named in params, write the manifest and metrics, return the manifest."""
    data, rules = params.data, params.validate_
    table = _read_csv(data.csv)
    clinical = _clinical_columns(table, data)
    _require_columns(table, data, clinical)
    ids = table[data.id_column].astype(str)
    rows = Rows(pd.Series(np.arange(len(table)) + 2, index=table.index), ids)

    labels, problems = check_labels(table[data.label_column], rows)
    values, value_problems = check_clinical(table, clinical, dict(rules.ranges), rows)
    problems += value_problems
    problems += check_duplicates(table, [data.id_column, data.ecg_column, data.pcg_column], rows)
    ecg_paths = [resolve_path(p, data.root, data.path_rewrite) for p in table[data.ecg_column]]
    pcg_paths = [resolve_path(p, data.root, data.path_rewrite) for p in table[data.pcg_column]]
    problems += _check_files(ecg_paths, pcg_paths, rows, data, rules, params.seed)

    keep = ~rows.lines.isin({p.line for p in problems})
    label_columns = [c for c in table.columns if is_label_like(c) and c != data.label_column]
    findings = dataset_findings(table, values, labels, label_columns)
    report = _report(table, int(keep.sum()), problems, findings)
    print_validation(report, problems, EXAMPLES_PER_REASON)
    _apply_policy(report, rules)

    groups = table[data.group_column].astype(str) if data.group_column else ids
    manifest = (
        pd.DataFrame(
            {
                "line": rows.lines,
                "patient_id": ids,
                "group": groups,
                "ecg_path": [str(p) for p in ecg_paths],
                "pcg_path": [str(p) for p in pcg_paths],
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
    candidates = [c for c in table.columns if c not in reserved and not is_label_like(c)]
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


def _check_files(
    ecg_paths: list[Path],
    pcg_paths: list[Path],
    rows: Rows,
    data: DataParams,
    rules: ValidateParams,
    seed: int,
) -> list[Problem]:
    """Header checks of every file in parallel; a full decode of a seeded sample of them."""
    sampled = set(
        np.random.default_rng(seed).permutation(len(ecg_paths))[: rules.decode_sample].tolist()
    )

    def one(i: int) -> list[Problem]:
        found = []
        for column, path, check in (
            (
                data.ecg_column,
                ecg_paths[i],
                lambda p: check_image(p, rules.min_image_px, i in sampled),
            ),
            (
                data.pcg_column,
                pcg_paths[i],
                lambda p: check_audio(p, rules.min_pcg_seconds, i in sampled),
            ),
        ):
            issue = check_path(path, data.root) or check(path)
            if issue:
                found.append(rows.problem(rows.lines.index[i], column, *issue))
        return found

    with ThreadPoolExecutor(max_workers=8) as pool:
        return [p for found in pool.map(one, range(len(ecg_paths))) for p in found]


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
