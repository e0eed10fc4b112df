"""Build a metadata CSV from PTB-XL: a 12-lead ECG (WFDB) and age, sex, height and weight of one
person per record, no heart sound.

    python examples/ptbxl/build.py --source ../shared/data/real/paired/ptbxl --out data/ptbxl

DIR holds `ptbxl_database.csv`, `scp_statements.csv` and `records500/` (or `records100/` with
`--rate 100`), as the shared folder and the public release do. Writes OUT/metadata.csv
(`records/` in OUT links to DIR) and OUT/params.yaml. Labels from the diagnostic statements
(`scp_codes` through `scp_statements.csv`): normal when NORM is the only diagnostic class,
abnormal when any of MI, STTC, CD or HYP is present; a record with no diagnostic statement has
no label and is left out (counted). Groups: `patient_id`, so no patient is in two folds. Never
an input: the cardiologist's `report` (it states the diagnosis), recording metadata (`nurse`,
`site`, `device`, dates, `strat_fold`), or anything else derived from the label.
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from paired_params import write_params  # noqa: E402

ABNORMAL = {"MI", "STTC", "CD", "HYP"}
AGE_CODED = 300  # PTB-XL writes 300 for every patient aged 90 or more (privacy)


def diagnostic_classes(source: Path) -> dict[str, str]:
    """SCP code -> diagnostic class, for the diagnostic statements only."""
    statements = pd.read_csv(source / "scp_statements.csv", index_col=0)
    diagnostic = statements[statements["diagnostic"] == 1]
    return diagnostic["diagnostic_class"].dropna().to_dict()


def label(codes: str, classes: dict[str, str]) -> int | None:
    found = {classes[code] for code in ast.literal_eval(codes) if code in classes}
    if found & ABNORMAL:
        return 1
    return 0 if found == {"NORM"} else None


def build(source: Path, out: Path, rate: int) -> tuple[pd.DataFrame, int]:
    database = pd.read_csv(source / "ptbxl_database.csv")
    classes = diagnostic_classes(source)
    labels = database["scp_codes"].map(lambda codes: label(codes, classes))
    column = "filename_hr" if rate == 500 else "filename_lr"
    present = database[column].map(lambda f: (source / f"{f}.hea").is_file())
    keep = labels.notna() & present
    rows = database[keep]
    age = rows["age"].where(rows["age"] < AGE_CODED, 90.0)
    table = pd.DataFrame({
        "ecg_id": rows["ecg_id"].astype(int).map(lambda i: f"E{i:05d}"),
        "patient": rows["patient_id"].astype(int).map(lambda i: f"P{i:05d}"),
        "ecg_path": [f"records/{f}.hea" for f in rows[column]],
        "age": age,
        "sex": rows["sex"].map({0: "male", 1: "female"}),
        "height": rows["height"],
        "weight": rows["weight"],
        "output": labels[keep].astype(int),
    })
    out.mkdir(parents=True, exist_ok=True)
    link = out / "records"
    if link.is_symlink() or link.exists():
        link.unlink()
    os.symlink(source.resolve(), link, target_is_directory=True)
    table.to_csv(out / "metadata.csv", index=False)
    write_params(out, {"id_column": "ecg_id", "group_column": "patient", "ecg_column": "ecg_path",
                       "pcg_column": None, "clinical_columns": ["age", "sex", "height", "weight"]},
                 clinical={"categorical": []}, crossval={"folds": 5})
    return table, int((~labels.notna() & present).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, required=True, help="the PTB-XL folder")
    parser.add_argument("--out", type=Path, default=Path("data/ptbxl"))
    parser.add_argument("--rate", type=int, choices=[100, 500], default=500)
    args = parser.parse_args()
    table, unlabelled = build(args.source, args.out, args.rate)
    print(f"{args.out / 'metadata.csv'}: {len(table)} ECGs of {table.patient.nunique()} patients "
          f"(normal {int((table.output == 0).sum())}, abnormal {int((table.output == 1).sum())});"
          f" {unlabelled} without a diagnostic statement left out; params: "
          f"{args.out / 'params.yaml'}")


if __name__ == "__main__":
    main()
