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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from cardiofusion.clinical_values import is_missing
from cardiofusion.config import MODALITY_LABELS, DataParams, Params, ValidateParams
from cardiofusion.console import print_class_counts, print_shared_files, print_validation
from cardiofusion.data.file_checks import check_audio, check_image, check_signal
from cardiofusion.data.labels import check_labels
from cardiofusion.data.leaks import separating_columns
from cardiofusion.data.resolve import check_path, describe_path, resolve_path
from cardiofusion.data.shared_files import file_identities, merge_groups, repeats
from cardiofusion.data.split import SPLITS, grouped_stratified_split
from cardiofusion.data.table_checks import (
    Problem,
    Rows,
    check_clinical,
    check_duplicate_ids,
    check_header,
    column_kinds,
    dataset_findings,
    free_text_columns,
    is_label_like,
    label_copies,
)
from cardiofusion.errors import CardiofusionError
from cardiofusion.files import atomic_path, write_metrics
from cardiofusion.inputs import InputLimits, InputRejected, is_signal_record, signal_header
from cardiofusion.inputs.signals import LEAD_SEPARATOR
from cardiofusion.paths import DEFAULT_PATHS, PipelinePaths
from cardiofusion.quoting import shown

EXAMPLES_PER_REASON = 5


def run_validate(params: Params, paths: PipelinePaths = DEFAULT_PATHS) -> pd.DataFrame:
    """Check the CSV named in params, write the manifest and metrics, return the manifest."""
    data, rules = params.data, params.validate_
    table = _read_csv(data.csv)
    _require_columns(table, data, _named_columns(data))
    ids = table[data.id_column].astype(str)
    rows = Rows(pd.Series(np.arange(len(table)) + 2, index=table.index), ids)
    labels, problems = check_labels(table[data.label_column], rows, data)
    chosen = _clinical_columns(table, data, labels, rows)
    values, value_problems = check_clinical(table, chosen.kinds, dict(rules.ranges), rows)
    problems += value_problems
    problems += check_duplicate_ids(ids, data.id_column, rows)
    columns = file_columns(data)
    files = {
        column: [None if is_missing(p) else resolve_path(p, data.root, data.path_rewrite)
                 for p in table[column]]
        for column in columns.values()
    }
    leads = _ecg_leads(table, files, rows, params)
    problems += _check_files(table, files, rows, data, rules, params.seed, leads)
    presence = _presence(files, columns, values, data.modalities)
    problems += _rows_without_modality(presence, rows, data)
    checked = ~rows.lines.isin({p.line for p in problems})
    identities = {c: file_identities([files[c][i] for i in np.flatnonzero(checked)]) for c in files}
    problems += _shared_file_problems(table, identities, checked, rows, rules)
    keep = ~rows.lines.isin({p.line for p in problems})

    label_columns = [c for c in table.columns if is_label_like(c) and c != data.label_column]
    findings = dataset_findings(table, values, labels, label_columns)
    report = _report(table, int(keep.sum()), problems, {
        "modalities": list(data.modalities),
        **modality_counts(presence[keep.to_numpy()]),
        "clinical_column_kinds": chosen.kinds,
        "label_leak_columns": chosen.leaks,
        "label_leaks_kept": chosen.kept_leaks,
        "free_text_columns": chosen.free_text,
        **findings,
    })
    base = table[data.group_column].astype(str) if data.group_column else ids
    groups = merge_groups(base[keep], _still_kept(identities, checked, keep))
    report["shared_files"] = groups.summary
    print_validation(report, problems, EXAMPLES_PER_REASON)
    print_shared_files(groups.summary)
    _apply_policy(report, rules)

    manifest = pd.DataFrame(
        {
            "line": rows.lines,
            "patient_id": ids,
            "group": groups.names.reindex(table.index),
            **{f"{m}_path": ["" if p is None else str(p) for p in files[column]]
               for m, column in columns.items()},
            **({"ecg_leads": LEAD_SEPARATOR.join(leads)} if leads else {}),
            "label": labels,
        }
    )
    manifest = manifest.join(values)[keep].reset_index(drop=True)
    manifest["label"] = manifest["label"].astype(int)
    combination = presence[keep.to_numpy()].apply(combination_name, axis=1).to_numpy()
    split = grouped_stratified_split(manifest["label"], manifest["group"], data.split, params.seed,
                                     pd.Series(combination))
    manifest.insert(len(manifest.columns) - len(chosen.kinds), "split", split)
    report["class_counts"] = {
        name: {
            str(k): int(n) for k, n in manifest.loc[split == name, "label"].value_counts().items()
        }
        for name in SPLITS
    }
    report["combinations_by_split"] = {
        name: dict(Counter(combination[(split == name).to_numpy()]).most_common())
        for name in SPLITS
    }
    with atomic_path(paths.manifest) as tmp:
        manifest.to_csv(tmp, index=False)
    write_metrics(paths.validation_metrics, paths.validation_details, report,
                  ["rows_in", "rows_kept", "rows_dropped"])
    print_class_counts(report["class_counts"])
    return manifest


def file_columns(data: DataParams) -> dict[str, str]:
    """modality -> the CSV column naming its files, for the file modalities the dataset has."""
    named = {"ecg": data.ecg_column, "pcg": data.pcg_column}
    return {m: column for m, column in named.items() if column is not None}


def _presence(files: dict[str, list[Path | None]], columns: dict[str, str],
              values: pd.DataFrame, modalities: tuple[str, ...]) -> pd.DataFrame:
    """Which modality each row has: a file named, or (clinical) at least one value filled."""
    presence = pd.DataFrame(index=values.index)
    for m in modalities:
        if m == "clinical":
            presence[m] = values.notna().any(axis=1).to_numpy()
        else:
            presence[m] = [p is not None for p in files[columns[m]]]
    return presence


def modality_counts(presence: pd.DataFrame) -> dict[str, object]:
    """Rows having each modality and the count of each combination, largest first."""
    combinations = Counter(presence.apply(combination_name, axis=1))
    return {
        "rows_with_modality": {m: int(presence[m].sum()) for m in presence},
        "modality_combinations": dict(combinations.most_common()),
    }


def combination_name(row: pd.Series) -> str:
    """`ECG+PCG+clinical`, `ECG+clinical`, ... (`none` for a row with nothing)."""
    return "+".join(MODALITY_LABELS[m] if m != "clinical" else m for m in row.index[row.to_numpy(
        dtype=bool)]) or "none"


def _rows_without_modality(presence: pd.DataFrame, rows: Rows, data: DataParams
                           ) -> list[Problem]:
    named = [f"{m} ({c})" for m, c in file_columns(data).items()]
    if "clinical" in data.modalities:
        named.append("clinical values")
    detail = f"no modality at all: {', '.join(named)} all empty; nothing to predict from"
    return [rows.problem(i, "(all inputs)", "no_modality", detail)
            for i in presence.index[~presence.any(axis=1)]]


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


@dataclass(frozen=True)
class ClinicalChoice:
    """The clinical inputs and what was left out of them, each with its reason."""

    kinds: dict[str, str]  # column -> numeric | categorical, in input order
    leaks: dict[str, str] = field(default_factory=dict)  # left out: column -> pattern
    kept_leaks: dict[str, str] = field(default_factory=dict)  # listed explicitly: kept, warned
    free_text: dict[str, int] = field(default_factory=dict)  # left out: distinct values


def _clinical_columns(table: pd.DataFrame, data: DataParams, labels: pd.Series, rows: Rows
                      ) -> ClinicalChoice:
    """The clinical inputs: listed ones, or (auto) every other column with a value; `auto`
    never takes a column that separates the labels or is free text, and says so."""
    if data.clinical_columns == []:
        return ClinicalChoice({})
    if data.clinical_columns != "auto":
        chosen = list(data.clinical_columns)
        _require_columns(table, data, {f"data.clinical_columns[{c}]": c for c in chosen})
        copies = label_copies(table, labels, chosen)
        if copies:
            raise CardiofusionError(
                f"{data.csv}: clinical column(s) {', '.join(map(repr, copies))} equal the label "
                f"column {data.label_column!r} on every row: a label leak. Remove them from "
                "data.clinical_columns."
            )
        kinds = column_kinds(table, chosen)
        free = free_text_columns(table, kinds)
        if free:
            listed = ", ".join(f"{c!r} ({n} distinct values)" for c, n in free.items())
            raise CardiofusionError(
                f"{data.csv}: clinical column(s) {listed} hold free text, not categories; "
                "remove them from data.clinical_columns (or recode them as a few categories)"
            )
        kinds = {c: ("numeric" if k == "empty" else k) for c, k in kinds.items()}
        values, _ = check_clinical(table, kinds, {}, rows)
        return ClinicalChoice(kinds, kept_leaks=separating_columns(values, labels, chosen))
    reserved = {data.id_column, data.label_column, *file_columns(data).values()}
    reserved |= {data.group_column, *data.ignore_columns} - {None}
    candidates = [c for c in table.columns if c not in reserved and not is_label_like(c)]
    kinds = {c: k for c, k in column_kinds(table, candidates).items() if k != "empty"}
    free = free_text_columns(table, kinds)
    kinds = {c: k for c, k in kinds.items() if c not in free}
    values, _ = check_clinical(table, kinds, {}, rows)
    leaks = {c: "equals the label on every row" for c in label_copies(table, labels, list(kinds))}
    leaks.update({c: p for c, p in separating_columns(values, labels, list(kinds)).items()
                  if c not in leaks})
    chosen = {c: k for c, k in kinds.items() if c not in leaks}
    if not chosen:
        raise CardiofusionError(
            f"{data.csv}: no usable clinical columns found (clinical_columns: auto); list them "
            "in data.clinical_columns, or set data.clinical_columns: [] for a dataset without a "
            "clinical table"
        )
    return ClinicalChoice(chosen, leaks, {}, free)


def _named_columns(data: DataParams) -> dict[str, str]:
    named = {"data.id_column": data.id_column, "data.label_column": data.label_column}
    named |= {f"data.{m}_column": column for m, column in file_columns(data).items()}
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
    files: dict[str, list[Path | None]],
    rows: Rows,
    data: DataParams,
    rules: ValidateParams,
    seed: int,
    leads: list[str],
) -> list[Problem]:
    """Header checks of every file in parallel; a full decode of a seeded sample of them.
    ECG signal records (`leads` chosen) are held to the signal contract, images to the image
    one. Each message shows the path as written, the file it resolved to, and why."""
    limits = InputLimits.from_params(rules)
    sampled = set(
        np.random.default_rng(seed).permutation(len(table))[: rules.decode_sample].tolist()
    )
    checks = {
        data.ecg_column: (lambda path, full: check_signal(path, limits, leads, full)) if leads
        else (lambda path, full: check_image(path, rules.min_image_px, full)),
        data.pcg_column: lambda path, full: check_audio(path, rules.min_pcg_seconds, full),
    }
    checks = {column: check for column, check in checks.items() if column in files}

    def one(i: int) -> list[Problem]:
        found = []
        for column, check in checks.items():
            path = files[column][i]
            if path is None:  # an empty cell: this patient has none of this modality
                continue
            # signal records are small: every one decoded, so featurize never meets a bad one
            full = i in sampled or (bool(leads) and column == data.ecg_column)
            issue = check_path(path, data.root) or check(path, full)
            if issue:
                reason, detail = issue
                where = describe_path(table[column].iat[i], path)
                detail = f"{where}: {detail.removeprefix(f'{path}: ')}"
                found.append(rows.problem(rows.lines.index[i], column, reason, detail))
        return found

    with ThreadPoolExecutor(max_workers=8) as pool:
        checked = tqdm(pool.map(one, range(len(table))), total=len(table), desc="check files",
                       unit="row", leave=False, disable=None)  # a bar on a terminal only
        return [p for found in checked for p in found]


def _ecg_leads(table: pd.DataFrame, files: dict[str, list[Path | None]], rows: Rows,
               params: Params) -> list[str]:
    """For a dataset of ECG signal records, the leads to use: `ecg.leads`, or (auto) the ECG
    leads every readable record has, in the first record's order; [] for images. A column
    mixing images and signal records is refused, naming rows of each."""
    column = params.data.ecg_column
    if column is None:
        return []
    named = [(i, p) for i, p in enumerate(files[column]) if p is not None]
    signal = [(i, p) for i, p in named if is_signal_record(p)]
    if not signal:
        return []
    if len(signal) < len(named):
        images = [i for i, p in named if not is_signal_record(p)][:3]
        raise CardiofusionError(
            f"{params.data.csv}: column {column!r} mixes ECG images (e.g. lines "
            f"{', '.join(str(rows.lines.iat[i]) for i in images)}) and signal records (e.g. "
            f"lines {', '.join(str(rows.lines.iat[i]) for i, _ in signal[:3])}); one dataset "
            "holds one kind: convert one of them, or split the CSV")
    if params.ecg.leads != "auto":
        return list(params.ecg.leads)
    limits = InputLimits.from_params(params.validate_)

    def leads_of(path: Path) -> list[str] | None:
        try:
            return signal_header(path, limits).ecg_leads
        except (InputRejected, OSError, ValueError):  # reported by the file checks
            return None

    with ThreadPoolExecutor(max_workers=8) as pool:
        found = [leads for leads in pool.map(leads_of, [p for _, p in signal]) if leads]
    shared = [lead for lead in found[0] if all(lead in other for other in found)] if found else []
    if not shared:
        raise CardiofusionError(
            f"{params.data.csv}: the ECG records share no lead; list the leads to use in "
            "ecg.leads (a record lacking one is then a problem of its row)")
    return shared


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
            f"{shown(table.at[index[row], column])} is the same file as "
            f"{shown(table.at[index[first], column])} on line {rows.lines[index[first]]}",
        )
        for row, column, first in repeats(identities)
    ]
    if found and rules.shared_files == "fail":
        examples = "\n  ".join(map(str, found[:EXAMPLES_PER_REASON]))
        raise CardiofusionError(
            f"{len(found)} rows use a file an earlier row uses (validate.shared_files: fail):\n"
            f"  {examples}\nSet validate.shared_files: group to keep them together in one split, "
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
