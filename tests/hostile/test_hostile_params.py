"""Params files and overrides that would hang the machine or end in a traceback: each is one
line (or a short list) naming the file and the fix, read in time proportional to the file and
echoing at most a short prefix of what was sent."""

import os
from pathlib import Path

import pytest

from cardiofusion.cli import main
from cardiofusion.config import load_params
from cardiofusion.errors import ConfigError
from cardiofusion.serve import create_app

REPO = Path(__file__).resolve().parents[2]


def _bomb(levels: int = 9) -> str:
    """Anchors of 9 aliases of the one before: 9**9 values once expanded."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines)


def _refused(path: Path, *overrides: str) -> str:
    with pytest.raises(ConfigError) as refused:
        load_params(path, list(overrides))
    message = str(refused.value)
    assert len(message) < 2_000, message[:300]
    return message


@pytest.mark.parametrize("key", ["seed", "data:\n  ignore_columns", "validate:\n  ranges"])
def test_an_alias_bomb_is_refused_before_it_expands(tmp_path, key):
    (tmp_path / "params.yaml").write_text(f"{_bomb()}\n{key}: *a8\n")
    assert "expands to more than" in _refused(tmp_path / "params.yaml")


def test_a_recursive_alias_is_refused(tmp_path):
    (tmp_path / "params.yaml").write_text("seed: &a [*a]\n")
    assert "refers to itself" in _refused(tmp_path / "params.yaml")


@pytest.mark.parametrize("path,said", [("/dev/zero", "character device"),
                                       ("/tmp", "a directory")])
def test_a_params_path_that_is_not_a_regular_file_is_refused_unread(path, said):
    assert said in _refused(Path(path))


def test_a_fifo_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "params.yaml")
    assert "FIFO" in _refused(tmp_path / "params.yaml")


def test_a_params_file_far_larger_than_one_is_refused_by_its_size(tmp_path):
    (tmp_path / "params.yaml").write_text("#" * (2 << 20))
    assert "over the 1 MB" in _refused(tmp_path / "params.yaml")


@pytest.mark.parametrize("data,said", [
    ("seed: 1\n".encode("utf-16"), "not UTF-8"),
    (bytes(range(256)) * 4, "not UTF-8"),
    (b"seed: " + b"[" * 100_000 + b"]" * 100_000, "nested"),
    (b"seed: " + b"9" * 100_000, "thousands of digits"),
    (b"seed: [1,\n", "not valid YAML"),
])
def test_unreadable_params_are_one_clear_line(tmp_path, data, said):
    (tmp_path / "params.yaml").write_bytes(data)
    message = _refused(tmp_path / "params.yaml")
    assert said in message and "Traceback" not in message


def test_a_key_written_twice_is_an_error_naming_both_lines(tmp_path):
    (tmp_path / "params.yaml").write_text("seed: 1\ntrain:\n  epochs: 2\nseed: 3\n")
    message = _refused(tmp_path / "params.yaml")
    assert "line 4" in message and "line 1" in message and "'seed'" in message


@pytest.mark.parametrize("override,said", [
    ("train.epochs=5\nseed: 1", "spans several lines"),
    ("train.epochs=[1,", "not valid YAML"),
    ("seed=" + "9" * 100_000, "thousands of digits"),
    ("seed=" + "[" * 5_000, "nested"),
    ("seed", "expected key=value"),
])
def test_bad_overrides_are_one_line_with_a_short_echo(override, said):
    message = _refused(REPO / "params.yaml", override)
    assert said in message and len(message) < 600


def test_a_huge_invalid_value_is_not_echoed_whole(tmp_path):
    (tmp_path / "params.yaml").write_text(f"seed: {'x' * 100_000}\n")
    message = _refused(tmp_path / "params.yaml")
    assert "seed" in message and len(message) < 400


def test_the_cli_prints_one_line_and_exits_2(tmp_path, capsys):
    (tmp_path / "params.yaml").write_text(f"{_bomb()}\nseed: *a8\n")
    assert main(["validate", "--params", str(tmp_path / "params.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1


def test_a_malformed_cardiofusion_set_stops_the_app_factory_with_a_clear_error(monkeypatch):
    monkeypatch.setenv("CARDIOFUSION_PARAMS", str(REPO / "params.yaml"))
    monkeypatch.setenv("CARDIOFUSION_SET", "train.epochs=[1,")
    with pytest.raises(ConfigError, match="not valid YAML"):
        create_app()
