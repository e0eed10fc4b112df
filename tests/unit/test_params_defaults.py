"""params.yaml and the schema's defaults say the same thing, so either one can be read as the
documentation of a knob, and a key left out of a user's params file means what params.yaml says."""

from pathlib import Path

import yaml

from cardiofusion.config import Params

REPO = Path(__file__).resolve().parents[2]


def _flatten(node: object, prefix: str = "") -> dict[str, object]:
    if not isinstance(node, dict):
        return {prefix: node}
    flat: dict[str, object] = {}
    for key, value in node.items():
        flat |= _flatten(value, f"{prefix}.{key}" if prefix else str(key))
    return flat


def test_params_yaml_sets_every_knob_to_the_schema_default():
    written = _flatten(yaml.safe_load((REPO / "params.yaml").read_text()))
    schema = _flatten(Params().model_dump(mode="json", by_alias=True))
    assert sorted(written) == sorted(schema)
    different = {key: (written[key], schema[key]) for key in schema
                 if written[key] != schema[key]}
    assert not different, f"params.yaml vs schema default: {different}"
