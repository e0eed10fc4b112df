from pathlib import Path

import pytest

from cardiofusion.cli import main
from cardiofusion.config import load_params
from cardiofusion.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def test_repository_params_are_valid_and_keep_the_original_recipe():
    params = load_params(REPO / "params.yaml")
    assert params.train.batch_size == 16
    assert params.train.epochs == 60
    assert params.train.lr == 5e-4  # changed from 1e-4 for a measured reason (params.yaml)
    assert params.train.patience == 5
    assert params.train.aux_weight == 0.2
    assert params.train.lr_multipliers.as_dict() == {"ecg": 1.0, "pcg": 2.0, "clinical": 0.5}
    assert params.demo.patients >= 600


def test_unknown_key_names_the_key_and_the_closest_valid_one(tmp_path):
    with pytest.raises(ConfigError, match=r"train\.patiance: unknown key; did you mean "
                                          r"train\.patience\?"):
        load_params(REPO / "params.yaml", ["train.patiance=5"])


def test_the_auxiliary_weight_has_one_place_the_top_level():
    assert load_params(REPO / "params.yaml", ["aux_weight=0.5"]).train.aux_weight == 0.5
    with pytest.raises(ConfigError, match="top-level aux_weight"):
        load_params(REPO / "params.yaml", ["train.aux_weight=0.5"])


def test_wrong_type_names_the_key():
    with pytest.raises(ConfigError, match=r"train\.epochs: .*integer.*'many'"):
        load_params(REPO / "params.yaml", ["train.epochs=many"])


def test_overrides_are_parsed_as_yaml():
    params = load_params(REPO / "params.yaml", ["train.lr=0.001", "pcg.band_hz=[20, 300]"])
    assert params.train.lr == 0.001
    assert params.pcg.band_hz == (20.0, 300.0)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("aux_weight=0", "balance=closed_loop needs aux_weight > 0"),
        ("pcg.band_hz=[25, 1500]", "band_hz must satisfy"),
        ("data.split={train: 0.8, val: 0.3, test: 0.1}", "must sum to 1"),
    ],
)
def test_invalid_combinations_are_clear_errors(override, message):
    with pytest.raises(ConfigError, match=message):
        load_params(REPO / "params.yaml", [override])


def test_cli_exits_2_without_traceback(capsys, tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("train:\n  epocs: 3\n")
    assert main(["train", "--params", str(params)]) == 2
    err = capsys.readouterr().err
    assert "train.epocs: unknown key; did you mean train.epochs?" in err
    assert "Traceback" not in err


def test_missing_params_file_is_a_clear_error(capsys, tmp_path):
    assert main(["validate", "--params", str(tmp_path / "nope.yaml")]) == 2
    assert "no such params file" in capsys.readouterr().err
