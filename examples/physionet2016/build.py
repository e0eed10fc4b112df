"""Build a metadata CSV from PhysioNet/CinC 2016 "training-a": a simultaneous single-lead ECG
(WFDB) and heart sound (WAV) from one person per record, no clinical table.

    python examples/physionet2016/build.py --source ../shared/data/real/paired/physionet2016-a \\
        --out data/physionet2016

DIR holds `aNNNN.hea`, `aNNNN.dat`, `aNNNN.wav` and `REFERENCE.csv` (record,label with 1 =
abnormal, -1 = normal), as the shared folder and the public release do. Writes OUT/metadata.csv
(`records/` in OUT links to DIR) and OUT/params.yaml. A record whose header names no ECG signal
(or whose .dat is absent) is a row without ECG; a record without its .wav, a row without PCG.
The public release has no patient identifiers (about 121 people made its 409 recordings), so
every record is its own group: records of one person may fall into two folds, and figures on
this set are optimistic by that much.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd
import wfdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from paired_params import write_params  # noqa: E402

LABELS = {1: 1, -1: 0}


def has_ecg(header: Path) -> bool:
    """The header names an ECG signal whose file is there."""
    try:
        record = wfdb.rdheader(str(header.with_suffix("")))
    except Exception:  # noqa: BLE001 - an unreadable header: validate reports the row
        return header.is_file()
    return any(name.upper() == "ECG" and (header.parent / file).is_file()
               for name, file in zip(record.sig_name, record.file_name, strict=True))


def build(source: Path, out: Path) -> pd.DataFrame:
    reference = pd.read_csv(source / "REFERENCE.csv", header=None, names=["record", "label"])
    rows = []
    for record, label in zip(reference["record"], reference["label"], strict=True):
        header = source / f"{record}.hea"
        rows.append({
            "patient_id": record,
            "ecg_path": f"records/{record}.hea" if has_ecg(header) else "",
            "pcg_path": f"records/{record}.wav" if (source / f"{record}.wav").is_file() else "",
            "output": LABELS.get(int(label), ""),
        })
    out.mkdir(parents=True, exist_ok=True)
    link = out / "records"
    if link.is_symlink() or link.exists():
        link.unlink()
    os.symlink(source.resolve(), link, target_is_directory=True)
    table = pd.DataFrame(rows)
    table.to_csv(out / "metadata.csv", index=False)
    write_params(out, {"pcg_column": "pcg_path", "ecg_column": "ecg_path",
                       "clinical_columns": [], "group_column": None},
                 crossval={"folds": 5})
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, required=True, help="the training-a folder")
    parser.add_argument("--out", type=Path, default=Path("data/physionet2016"))
    args = parser.parse_args()
    table = build(args.source, args.out)
    print(f"{args.out / 'metadata.csv'}: {len(table)} records (normal "
          f"{int((table.output == 0).sum())}, abnormal {int((table.output == 1).sum())}), "
          f"{int((table.ecg_path == '').sum())} without ECG, "
          f"{int((table.pcg_path == '').sum())} without PCG; params: {args.out / 'params.yaml'}")


if __name__ == "__main__":
    main()
