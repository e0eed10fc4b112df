"""`dvc repro` end to end on a tiny configuration, in a fresh git + DVC repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cardiofusion.features.dataset import FeatureSet
from cardiofusion.features.patient import featurize_patient
from cardiofusion.inputs import DEFAULT_LIMITS
from cardiofusion.model.checkpoint import load_model
from cardiofusion.paths import DEFAULT_PATHS

pytestmark = pytest.mark.slow  # end to end: runs the real processes

FEATURES = DEFAULT_PATHS.features

REPO = Path(__file__).resolve().parents[2]
STAGES = ["demo_data", "validate", "featurize", "train", "evaluate", "crossval", "report"]
RETRAINED = ["train", "evaluate", "crossval", "report"]  # crossval (off) reads train params too


def _tiny_params(feature_cache: Path) -> dict:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["demo"] |= {"patients": 40, "abnormal_fraction": 0.7, "pcg_seconds": [4, 9],
                       "n_jobs": 1, "missing": {"ecg": 0.1, "pcg": 0.1, "clinical": 0.1}}
    params["featurize"] |= {"n_jobs": 1, "cache_dir": str(feature_cache)}  # outside, like ~
    params["train"] |= {"epochs": 3, "patience": 0}
    return params


def _run(*args: str, cwd: Path) -> str:
    env = os.environ | {"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
                        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _ran(output: str) -> list[str]:
    return [s for s in STAGES if f"Running stage '{s}'" in output]


def _new_project(tmp_path_factory: pytest.TempPathFactory, params: dict) -> Path:
    root = tmp_path_factory.mktemp("project")
    for name in ("src", "stages"):
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "dvc.yaml", root)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    _run("git", "init", "-q", cwd=root)
    _run("dvc", "init", "-q", cwd=root)
    _run("dvc", "config", "core.analytics", "false", cwd=root)
    _run("git", "add", "-A", cwd=root)
    _run("git", "commit", "-qm", "tiny project", cwd=root)  # like a fresh clone
    return root


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Rows missing each modality (demo.missing 10% each)."""
    return _new_project(tmp_path_factory, _tiny_params(tmp_path_factory.mktemp("cache")))


def test_repro_builds_model_metrics_and_figure(project):
    output = _run("dvc", "repro", cwd=project)
    assert _ran(output) == STAGES
    assert (project / "models/best_multimodal_model_retrained.pth").is_file()
    for name in ("validation", "train", "eval"):
        assert json.loads((project / f"metrics/{name}.json").read_text())
    evaluation = json.loads((project / "reports/evaluation.json").read_text())
    assert sum(evaluation["contributions"]["ablation"].values()) == pytest.approx(100)
    assert evaluation["verdict"] in ("pass", "fail", "uncertain") and evaluation["checks"]
    for name in ("training_history", "evaluation", "modalities"):
        assert (project / f"plots/{name}.png").stat().st_size > 20_000
    assert f"Verdict: {evaluation['verdict'].upper()}" in (project / "plots/report.md").read_text()
    assert "Modality Contributions: ECG=" in output
    validation = json.loads((project / "reports/validation.json").read_text())
    assert min(validation["rows_with_modality"].values()) < validation["rows_kept"]
    assert len(evaluation["robustness"]) == 7
    assert (project / "plots/robustness.png").stat().st_size > 10_000


def test_repro_of_a_dataset_without_heart_sounds(tmp_path_factory):
    params = _tiny_params(tmp_path_factory.mktemp("cache"))
    params["data"] |= {"pcg_column": None, "ignore_columns": ["pcg_path"]}
    root = _new_project(tmp_path_factory, params)
    output = _run("dvc", "repro", cwd=root)
    assert _ran(output) == STAGES
    evaluation = json.loads((root / "reports/evaluation.json").read_text())
    assert evaluation["modalities"] == ["ecg", "clinical"]
    assert set(evaluation["contributions"]["ablation"]) == {"ecg", "clinical"}
    assert not (root / "data/features/pcg.npy").exists()
    assert "Modality Contributions: ECG=" in output and "PCG=" not in output


def test_repro_of_a_demo_whose_ecgs_are_wfdb_records(tmp_path_factory):
    params = _tiny_params(tmp_path_factory.mktemp("cache"))
    params["demo"]["ecg_format"] = "wfdb"
    root = _new_project(tmp_path_factory, params)
    output = _run("dvc", "repro", cwd=root)
    assert _ran(output) == STAGES
    spec = json.loads((root / "data/features/spec.json").read_text())
    assert len(spec["ecg_leads"]) == 12
    assert load_model(root / "models/best_multimodal_model_retrained.pth").model.ecg_signal
    assert "Verdict:" in (root / "plots/report.md").read_text()


def test_second_repro_is_up_to_date(project):
    output = _run("dvc", "repro", cwd=project)
    assert _ran(output) == []


def test_train_param_reruns_only_train_evaluate_report(project):
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["aux_weight"] = 0.35
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert _ran(_run("dvc", "repro", cwd=project)) == RETRAINED


def test_saved_model_preprocesses_one_patient_like_the_cache(project, monkeypatch):
    monkeypatch.chdir(project)
    loaded = load_model(Path("models/best_multimodal_model_retrained.pth"))
    features = FeatureSet.load(FEATURES)
    manifest = __import__("pandas").read_csv("data/validated/manifest.csv")
    first = manifest.dropna().index[0]  # a patient with every modality and value
    row = manifest.loc[first]
    clinical = {c: row[c] for c in loaded.spec.clinical.numeric + list(loaded.spec.clinical
                                                                        .categorical)}
    one = featurize_patient(row["ecg_path"], row["pcg_path"], clinical, loaded.spec,
                            DEFAULT_LIMITS)
    assert (one.arrays["ecg"] == features.arrays["ecg"][first]).all()
    assert (one.arrays["pcg"].astype("float16") == features.arrays["pcg"][first]).all()
    assert one.arrays["clinical"] == pytest.approx(features.arrays["clinical"][first],
                                                   abs=1e-6)


def test_the_design_cards_commands_work_verbatim(project):
    """`dvc repro`, `dvc exp run -S aux_weight=0.5`, `dvc metrics diff`, `dvc plots show`,
    exactly as the README gives them."""
    _run("git", "add", "-A", cwd=project)
    _run("git", "commit", "-qm", "baseline", cwd=project)
    assert _ran(_run("dvc", "repro", cwd=project)) == []
    assert _ran(_run("dvc", "exp", "run", "-S", "aux_weight=0.5", cwd=project)) == RETRAINED
    assert yaml.safe_load((project / "params.yaml").read_text())["aux_weight"] == 0.5
    diff = _run("dvc", "metrics", "diff", cwd=project)
    assert "metrics/eval.json" in diff  # headline figures moved (which depends on the run)
    _run("dvc", "plots", "show", cwd=project)
    page = (project / "dvc_plots/index.html").read_text()
    for series in ("contributions", "loss", "fpr", "precision", "mean_predicted", "modality"):
        assert series in page
    _run("dvc", "plots", "diff", "HEAD", "-o", "diff_html", cwd=project)
    assert "fpr" in (project / "diff_html/index.html").read_text()


def test_temporary_experiment_reuses_the_features(project):
    """A `--temp` (or queued) workspace is a copy of the project: featurize must not run again
    there, and the experiment table stays small."""
    _run("git", "add", "-A", cwd=project)
    _run("git", "commit", "-qm", "before the temporary experiment", cwd=project)
    output = _run("dvc", "exp", "run", "--temp", "-S", "aux_weight=0.4", cwd=project)
    assert _ran(output) == RETRAINED
    shown = json.loads(_run("dvc", "metrics", "show", "--json", cwd=project))
    files = next(iter(shown.values()))["data"]
    leaves = {name: _leaves(entry["data"]) for name, entry in files.items()}
    assert set(leaves) == {"metrics/validation.json", "metrics/train.json", "metrics/eval.json",
                           "metrics/crossval.json"}
    assert sum(leaves.values()) == 3 + 2 + 7 + 1  # headline only: the table stays small


def _leaves(node: object) -> int:
    return sum(map(_leaves, node.values())) if isinstance(node, dict) else 1
