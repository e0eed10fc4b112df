"""The per-file feature cache: a re-run decodes only what changed, and bad entries heal."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cardiofusion.config import Params
from cardiofusion.data.validate import run_validate
from cardiofusion.errors import CardiofusionError
from cardiofusion.features.dataset import FeatureSet
from cardiofusion.features.featurize import run_featurize
from cardiofusion.features.file_cache import FEATURE_VERSION, FeatureStore
from cardiofusion.files import file_digest
from cardiofusion.paths import DEFAULT_PATHS

FEATURES = DEFAULT_PATHS.features

CACHE = Path("data/featurize_cache")


def _params(tiny_params: Params, csv: Path, root: Path, **sections: dict) -> Params:
    data = tiny_params.data.model_copy(update={"csv": csv, "root": root})
    updates = {name: getattr(tiny_params, name).model_copy(update=values)
               for name, values in sections.items()}
    return tiny_params.model_copy(update={"data": data, **updates})


def _featurize(params: Params, capsys: pytest.CaptureFixture[str]) -> tuple[FeatureSet, str]:
    capsys.readouterr()
    features = run_featurize(params)
    return features, capsys.readouterr().out


@pytest.fixture(scope="module")
def warm(tiny_params: Params, tiny_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project folder featurized once from all demo patients but the last."""
    folder = tmp_path_factory.mktemp("warm")
    rows = pd.read_csv(tiny_demo)
    rows.iloc[:-1].to_csv(folder / "first.csv", index=False)
    rows.to_csv(folder / "all.csv", index=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        params = _params(tiny_params, folder / "first.csv", tiny_demo.parent)
        run_validate(params)
        run_featurize(params)
    return folder


@pytest.fixture()
def project(warm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the warm project, as the working directory."""
    shutil.copytree(warm, tmp_path, dirs_exist_ok=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_added_row_decodes_only_its_two_files(project, tiny_params, tiny_demo, capsys):
    params = _params(tiny_params, project / "all.csv", tiny_demo.parent)
    run_validate(params)
    features, out = _featurize(params, capsys)
    patients = len(features.index)
    assert (f"ECG decoded 1, reused {patients - 1}; PCG decoded 1, reused {patients - 1}"
            in out)


@pytest.mark.parametrize(("section", "change", "decoded"), [
    ("pcg", {"n_mels": 32}, "ECG decoded 0, reused {n}; PCG decoded {n}, reused 0"),
    ("ecg", {"remove_grid": False}, "ECG decoded {n}, reused 0; PCG decoded 0, reused {n}"),
])
def test_a_modality_param_redecodes_that_modality_only(
    project, tiny_params, tiny_demo, capsys, section, change, decoded
):
    params = _params(tiny_params, project / "first.csv", tiny_demo.parent, **{section: change})
    features, out = _featurize(params, capsys)
    assert decoded.format(n=len(features.index)) in out
    if section == "pcg":
        assert features.arrays["pcg"].shape[1] == 32


def test_rerun_gives_the_same_arrays_and_records_versions(project, tiny_params, tiny_demo,
                                                         capsys):
    before = FeatureSet.load(FEATURES)
    ecg, pcg = np.array(before.arrays["ecg"]), np.array(before.arrays["pcg"])
    params = _params(tiny_params, project / "first.csv", tiny_demo.parent)
    features, out = _featurize(params, capsys)
    assert "ECG decoded 0, reused" in out and "PCG decoded 0, reused" in out
    assert np.array_equal(features.arrays["ecg"], ecg)
    assert np.array_equal(features.arrays["pcg"], pcg)
    assert features.index.equals(before.index)
    spec = json.loads(Path("data/features/spec.json").read_text())
    assert spec["feature_version"] == FEATURE_VERSION
    assert set(spec["versions"]) == {"cardiofusion", "numpy", "librosa", "soundfile", "Pillow"}
    assert FeatureSet.load(FEATURES).spec == features.spec  # extra keys do not disturb loading


def test_damaged_entries_are_recomputed(project, tiny_params, tiny_demo, capsys):
    before = FeatureSet.load(FEATURES)
    ecg, pcg = np.array(before.arrays["ecg"]), np.array(before.arrays["pcg"])
    truncated = sorted((CACHE / "pcg").glob("*.npy"))[0]
    truncated.write_bytes(truncated.read_bytes()[:200])
    sorted((CACHE / "ecg").glob("*.npy"))[0].write_bytes(b"not an array")
    params = _params(tiny_params, project / "first.csv", tiny_demo.parent)
    features, out = _featurize(params, capsys)
    assert "ECG decoded 1, reused" in out and "PCG decoded 1, reused" in out
    assert np.array_equal(features.arrays["ecg"], ecg)
    assert np.array_equal(features.arrays["pcg"], pcg)


def test_cache_keeps_itself_out_of_git(project):
    assert (CACHE / ".gitignore").read_text() == "*\n"


def test_remembered_digest_follows_an_edit_of_the_same_size(tmp_path):
    store = FeatureStore(tmp_path / "cache")
    store.prepare()
    recording = tmp_path / "a.wav"
    recording.write_bytes(b"one")
    first = store.file_digests([str(recording)], n_jobs=1)
    assert store.file_digests([str(recording)], n_jobs=1) == first == [file_digest(recording)]
    recording.write_bytes(b"two")
    assert store.file_digests([str(recording)], n_jobs=1) == [file_digest(recording)] != first


def test_damaged_digest_memo_is_rebuilt(tmp_path):
    store = FeatureStore(tmp_path / "cache")
    store.prepare()
    recording = tmp_path / "a.wav"
    recording.write_bytes(b"one")
    (tmp_path / "cache" / "digests.json").write_text('{"x": 3, "' + str(recording) + '": [1]}')
    assert store.file_digests([str(recording)], n_jobs=1) == [file_digest(recording)]


def test_unreadable_file_is_named(tmp_path):
    with pytest.raises(CardiofusionError, match="missing.wav"):
        file_digest(tmp_path / "missing.wav")
    with pytest.raises(CardiofusionError, match="missing.wav"):
        FeatureStore(tmp_path).file_digests([str(tmp_path / "missing.wav")], n_jobs=1)
