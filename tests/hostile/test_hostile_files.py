"""Files that are not what they claim: model and training-state files, feature-cache entries,
temporary files of a killed run, and the metadata CSV. Each gives one line naming the file and
the problem, or is silently recomputed / removed when that is safe."""

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from cardiofusion.config import Params
from cardiofusion.data.validate import run_validate
from cardiofusion.errors import CardiofusionError
from cardiofusion.features.file_cache import FeatureStore
from cardiofusion.files import atomic_path, remove_stale_temps
from cardiofusion.inputs import DEFAULT_LIMITS
from cardiofusion.model.checkpoint import (
    load_model,
    load_payload,
    load_training_state,
    save_payload,
    save_training_state,
)
from cardiofusion.model.network import MultimodalNet
from cardiofusion.serve.predictor import Predictor

MODEL = "models/best_multimodal_model_retrained.pth"


def _bad_models(tmp_path, good):
    """name -> a file that is not a usable cardiofusion model."""
    payload = load_payload(good)
    files = {
        "text.pth": b"this is a model, honest\n",
        "empty.pth": b"",
        "random.pth": np.random.default_rng(0).bytes(4096),
        "zip_but_not_torch.pth": b"PK\x03\x04" + bytes(100),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    torch.save(torch.zeros(3), tmp_path / "a_tensor.pth")
    torch.save({"model_state_dict": payload["state_dict"], "epoch": 3}, tmp_path / "foreign.pth")
    narrow = MultimodalNet(Params().model.model_copy(update={"embedding_dim": 8}), 7)
    save_payload(tmp_path / "wrong_shapes.pth", {**payload, "state_dict": narrow.state_dict()})
    save_payload(tmp_path / "wrong_types.pth", {**payload, "threshold": "high"})
    save_payload(tmp_path / "bad_params.pth", {**payload, "model_params": {"dropout": 7}})
    short = {m: t[..., :3] for m, t in payload["baseline_embeddings"].items()}
    save_payload(tmp_path / "short_baseline.pth", {**payload, "baseline_embeddings": short})
    (tmp_path / "a_folder.pth").mkdir()
    return sorted(tmp_path.glob("*.pth"))


def test_every_non_model_file_is_one_line_naming_it(tiny_trained, tmp_path):
    bad = _bad_models(tmp_path, tiny_trained / MODEL)
    assert len(bad) == 11
    for path in bad:
        with pytest.raises(CardiofusionError) as refused:
            load_model(path)
        message = str(refused.value)
        assert message.startswith(f"{path}: not a cardiofusion model: "), message
        assert "\n" not in message and len(message) < 400, message


def test_the_server_refuses_to_start_on_a_non_model(tiny_trained, tmp_path):
    (tmp_path / "empty.pth").write_bytes(b"")
    with pytest.raises(CardiofusionError, match="empty.pth: not a cardiofusion model"):
        Predictor(tmp_path / "empty.pth", torch.device("cpu"), DEFAULT_LIMITS)


@pytest.fixture
def training(tiny_params):
    model = MultimodalNet(tiny_params.model, 5)
    optimizer = torch.optim.AdamW(model.parameters())
    return model, optimizer, torch.Generator().manual_seed(0)


def test_every_broken_training_state_is_one_line_naming_it(tiny_params, training, tmp_path):
    good = tmp_path / "state.pth"
    save_training_state(good, tiny_params, *training,
                        {"epoch": 2, "best": {"val_loss": 0.5, "epoch": 1}, "stale_epochs": 1,
                         "scaler": {}, "candidates": {"size": 5, "epochs": []}})
    assert load_training_state(good, tiny_params, *training)["epoch"] == 2
    state = load_payload(good)
    other = MultimodalNet(tiny_params.model, 9)
    broken = {
        "truncated.pth": good.read_bytes()[:500],
        "empty.pth": b"",
        "text.pth": b"epoch=3\n",
    }
    for name, data in broken.items():
        (tmp_path / name).write_bytes(data)
    variants = {
        "no_optimizer.pth": {k: v for k, v in state.items() if k != "optimizer"},
        "other_shapes.pth": {**state, "model": other.state_dict()},
        "bad_generator.pth": {**state, "generator": torch.zeros(3, dtype=torch.uint8)},
        "bad_progress.pth": {**state, "best": "yesterday"},
        "bad_candidates.pth": {**state, "candidates": {"size": 5, "epochs": [
            (0.4, 1, other.state_dict())]}},
    }
    for name, payload in variants.items():
        save_payload(tmp_path / name, payload)
    for name in [*broken, *variants]:
        with pytest.raises(CardiofusionError) as refused:
            load_training_state(tmp_path / name, tiny_params, *training)
        message = str(refused.value)
        assert message.startswith(f"{tmp_path / name}: not a cardiofusion training state: ")
        assert "\n" not in message, message


def test_a_cache_entry_altered_in_place_is_not_reused(tmp_path):
    store = FeatureStore(tmp_path)
    record = np.dtype([("image", np.uint8, (4, 4))])
    entry = np.zeros((), record)
    entry["image"] = 7
    store.save("ecg", "k", entry)
    assert store.load("ecg", "k", record)["image"].sum() == 7 * 16
    path = tmp_path / "ecg" / "k.npy"
    data = bytearray(path.read_bytes())
    data[-40] ^= 0xFF  # a pixel, header and length intact
    path.write_bytes(bytes(data))
    assert store.load("ecg", "k", record) is None
    path.write_bytes(bytes(data[:-32]))  # an entry written before checksums
    assert store.load("ecg", "k", record) is None


KILLED_WRITER = textwrap.dedent("""
    import os, signal, sys
    from cardiofusion.files import atomic_path
    with atomic_path(sys.argv[1]) as tmp:
        tmp.write_bytes(b"half of an array")
        os.kill(os.getpid(), signal.SIGKILL)
""")


def test_temporary_files_of_a_killed_run_are_removed_by_the_next(tmp_path):
    target = tmp_path / "features" / "ecg.npy"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    killed = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(target)], env=env)
    assert killed.returncode == -signal.SIGKILL
    left = [p.name for p in target.parent.iterdir()]
    assert len(left) == 1 and left[0].startswith(".ecg.") and ".partial" in left[0]
    mine = target.parent / f".index.{os.getpid()}.abcd1234.partial.csv"  # a live writer's
    mine.write_text("in progress")
    with atomic_path(target.parent / "pcg.npy") as tmp:  # the next run's first write there
        tmp.write_bytes(b"whole")
    assert sorted(p.name for p in target.parent.iterdir()) == [mine.name, "pcg.npy"]
    assert remove_stale_temps(target.parent) == []  # once per folder and process


@pytest.mark.parametrize(("content", "problem"), [
    (b"", "the metadata CSV is empty"),
    (b"\n\n", "the metadata CSV is empty"),
    (b"patient_id,ecg_path,pcg_path,output\n", "has a header but no rows"),
    (b"\xff\xfe\x00garbage\x00", "not a readable CSV"),
])
def test_an_empty_or_unreadable_csv_is_one_clear_line(tiny_params, tmp_path, content, problem):
    csv = tmp_path / "metadata.csv"
    csv.write_bytes(content)
    params = tiny_params.model_copy(
        update={"data": tiny_params.data.model_copy(update={"csv": csv})})
    with pytest.raises(CardiofusionError, match=problem) as refused:
        run_validate(params)
    assert str(refused.value).startswith(str(csv)) and "\n" not in str(refused.value)
