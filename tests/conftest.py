"""Shared fixtures: the real sample files (skipped when absent) and a tiny demo dataset."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
from fastapi.testclient import TestClient

from cardiofusion.config import Params, load_params

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = REPO.parent / "shared" / "data" / "real"


@pytest.fixture(scope="session")
def load_benchmark() -> Callable[[str], ModuleType]:
    """A script of benchmarks/ imported as a module (the folder is not a package)."""

    def load(name: str) -> ModuleType:
        spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


@pytest.fixture(scope="session")
def real_paired() -> Path:
    """The real paired sets (PhysioNet 2016 training-a, PTB-XL) beside the repository."""
    if not (REAL_DATA / "paired" / "physionet2016-a").is_dir():
        pytest.skip(f"real paired data not found at {REAL_DATA / 'paired'}")
    return REAL_DATA / "paired"


@pytest.fixture(scope="session")
def real_data() -> Path:
    """PhysioNet 2016 recordings and ECG scans shipped beside the repository, when present."""
    if not (REAL_DATA / "pcg").is_dir():
        pytest.skip(f"real sample data not found at {REAL_DATA}")
    return REAL_DATA


def tiny_overrides(out_dir: Path) -> list[str]:
    """A configuration small enough for a test but with every class in every split."""
    return [
        f"demo.out_dir={out_dir}",
        "demo.patients=40",
        "demo.abnormal_fraction=0.7",
        "demo.pcg_seconds=[4, 9]",
        "demo.n_jobs=1",
        # every patient complete: the absent-modality tests make their own incomplete demo
        "demo.missing.ecg=0", "demo.missing.pcg=0", "demo.missing.clinical=0",
        f"data.csv={out_dir}/metadata.csv",
        f"data.root={out_dir}",
        "featurize.n_jobs=1",
        "featurize.cache_dir=data/featurize_cache",  # per test folder, never the user's cache
        "train.epochs=2",
    ]


@pytest.fixture(scope="session")
def tiny_params(tmp_path_factory: pytest.TempPathFactory) -> Params:
    out = tmp_path_factory.mktemp("demo")
    return load_params(REPO / "params.yaml", tiny_overrides(out))


@pytest.fixture(scope="session")
def tiny_demo(tiny_params: Params) -> Path:
    """A 40-patient demo dataset written once per test session; returns its CSV path."""
    from cardiofusion.demo.generate import generate_demo

    return generate_demo(tiny_params.demo, tiny_params.seed)


@pytest.fixture(scope="session")
def tiny_trained(
    tiny_params: Params, tiny_demo: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A working directory where validate, featurize and train (2 epochs) have run on the tiny
    demo; tests `monkeypatch.chdir()` into it (stage paths are relative) and must not modify it."""
    from cardiofusion.data.validate import run_validate
    from cardiofusion.features.featurize import run_featurize
    from cardiofusion.training.train import run_train

    workdir = tmp_path_factory.mktemp("trained")
    previous = Path.cwd()
    os.chdir(workdir)
    try:
        run_validate(tiny_params)
        run_featurize(tiny_params)
        run_train(tiny_params)
    finally:
        os.chdir(previous)
    return workdir


@pytest.fixture(scope="module")
def model_path(tiny_trained: Path) -> Path:
    """The tiny trained model, as the API tests serve it."""
    return tiny_trained / "models/best_multimodal_model_retrained.pth"


@pytest.fixture(scope="module")
def client(model_path: Path, tiny_params: Params) -> Iterator[TestClient]:
    """The app on the tiny model; a server error is a response, as a real client sees it."""
    from cardiofusion.serve import create_app

    with TestClient(create_app(model_path, tiny_params), raise_server_exceptions=False) as c:
        yield c
