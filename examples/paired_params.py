"""The params file a builder writes beside its metadata CSV: the project's params.yaml with the
dataset's data section, so `cardiofusion validate --params OUT/params.yaml` (then featurize,
train, evaluate, crossval) runs with no other edit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]


def write_params(out: Path, data: dict[str, Any], **sections: dict[str, Any]) -> Path:
    """params.yaml of the project with `data` and other sections' keys replaced, validated."""
    from cardiofusion.config import load_params  # the project's own schema checks it

    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["data"] |= {"csv": str(out / "metadata.csv"), "root": str(out), **data}
    for section, values in sections.items():
        params[section] |= values
    path = out / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    load_params(path)
    return path
