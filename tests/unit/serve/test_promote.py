"""`cardiofusion promote`: only an evaluation of this very model that passed promotes it."""

import json
import math
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cardiofusion.cli import main
from cardiofusion.errors import CardiofusionError
from cardiofusion.model.checkpoint import load_model, load_payload, model_id
from cardiofusion.paths import DEFAULT_PATHS
from cardiofusion.serve import create_app
from cardiofusion.serve.promote import run_promote

REPO = Path(__file__).resolve().parents[3]
PROMOTED = Path("models/best_multimodal_model.pth")
RETRAINED_PATH = DEFAULT_PATHS.retrained_model
EVAL_PATH = DEFAULT_PATHS.eval_details


@pytest.fixture
def workdir(tiny_trained, tmp_path, monkeypatch):
    """A working directory holding a copy of the tiny retrained model."""
    (tmp_path / "models").mkdir()
    shutil.copy(tiny_trained / RETRAINED_PATH, tmp_path / RETRAINED_PATH)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_evaluation(**changes):
    """reports/evaluation.json with the evaluate stage's contract keys, for the retrained model."""
    report = {
        "model_id": model_id(RETRAINED_PATH), "verdict": "pass", "temperature": 1.0,
        "threshold": 0.5, "auroc": 0.9, "auprc": 0.97, "balanced_accuracy": 0.8,
        "contributions": {"method": "ablation",
                          "ablation": {"ecg": 25.0, "pcg": 37.0, "clinical": 38.0},
                          "shapley": {"ecg": 27.0, "pcg": 37.0, "clinical": 36.0}},
        "checks": {"ecg_share_in_20_40": "pass", "balanced_accuracy_at_least_0.7": "pass"},
    }
    report.update(changes)
    report = {key: value for key, value in report.items() if value is not None}
    EVAL_PATH.parent.mkdir(exist_ok=True)
    EVAL_PATH.write_text(json.dumps(report))


def test_promotion_stores_temperature_and_test_metrics(workdir, tiny_params, capsys):
    write_evaluation(temperature=1.5)
    run_promote(tiny_params)
    payload = load_payload(PROMOTED)
    assert payload["temperature"] == 1.5
    metrics = payload["info"]["test_metrics"]
    assert metrics["auroc"] == 0.9 and metrics["verdict"] == "pass"
    assert metrics["model_id"] == model_id(RETRAINED_PATH)
    source = load_payload(RETRAINED_PATH)
    assert all((payload["state_dict"][k] == v).all() for k, v in source["state_dict"].items())
    assert load_model(PROMOTED).temperature == 1.5  # loads with weights_only
    out = capsys.readouterr().out
    assert "AUROC: n/a → 0.900" in out and "ECG/PCG/clinical 25/37/38 % (ablation)" in out


def test_a_promoted_model_answers_with_the_auroc_of_the_modalities_sent(
    workdir, tiny_params, tiny_demo
):
    interval = {"low": 0.7, "high": 0.95}
    write_evaluation(robustness=[
        {"modalities": ["ecg", "pcg", "clinical"], "patients": 6, "auroc": 0.9,
         "auroc_ci": interval, "balanced_accuracy": 0.8, "balanced_accuracy_ci": interval},
        {"modalities": ["ecg", "clinical"], "patients": 6, "auroc": 0.87, "auroc_ci": interval,
         "balanced_accuracy": 0.75, "balanced_accuracy_ci": interval}])
    run_promote(tiny_params)
    row = __import__("pandas").read_csv(tiny_demo).iloc[0]
    scan = (tiny_demo.parent / row["ecg_path"]).read_bytes()
    with TestClient(create_app(PROMOTED, tiny_params)) as client:
        body = client.post("/predict", files={"ecg_image": ("a.png", scan)},
                           data={"age": "55"}).json()
    assert body["modalities_used"] == ["ecg", "clinical"]
    assert body["modalities_evaluation"] == {"auroc": 0.87, "auroc_low": 0.7, "auroc_high": 0.95,
                                             "balanced_accuracy": 0.75, "test_patients": 6}


def test_a_second_promotion_prints_old_to_new_and_leaves_no_copies(workdir, tiny_params,
                                                                   capsys):
    write_evaluation(auroc=0.8)
    run_promote(tiny_params)
    write_evaluation(auroc=0.9)
    promotion = run_promote(tiny_params)
    assert promotion.version is None  # no stage: nothing registered
    assert not list(Path("models").glob("best_multimodal_model.*.pth"))  # no dated copies
    assert "AUROC: 0.800 → 0.900" in capsys.readouterr().out


REFUSALS = {
    "no evaluation": (None, "no evaluation"),
    "evaluation names no model": ({"model_id": None}, "cannot be confirmed"),
    "evaluation of another model": ({"model_id": "0123456789ab"}, "stale evaluation"),
    "failed verdict": ({"verdict": "fail", "checks": {"ecg_share_in_20_40": "fail"}},
                       "checks not passed: ecg_share_in_20_40"),
    "uncertain verdict": ({"verdict": "uncertain", "checks": {"ecg_share_in_20_40": "uncertain"}},
                          "evaluation verdict is 'uncertain', not 'pass'"),
}


@pytest.mark.parametrize("case", REFUSALS.values(), ids=REFUSALS.keys())
def test_promotion_is_refused_unless_forced(workdir, tiny_params, case):
    changes, message = case
    if changes is not None:
        write_evaluation(**changes)
    with pytest.raises(CardiofusionError, match=message):
        run_promote(tiny_params)
    assert not PROMOTED.exists()
    run_promote(tiny_params, force=True)
    assert load_payload(PROMOTED)["info"]["promoted_with_force"] is True


def test_cli_exits_non_zero_on_a_failed_verdict(workdir, capsys):
    write_evaluation(verdict="fail")
    assert main(["promote", "--params", str(REPO / "params.yaml")]) == 1
    assert "not promoting" in capsys.readouterr().err and not PROMOTED.exists()
    assert main(["promote", "--params", str(REPO / "params.yaml"), "--force",
                 "--stage", ""]) == 0
    assert PROMOTED.exists()


def test_served_temperature_rescales_probabilities_without_changing_decisions(
    workdir, tiny_params, tiny_demo
):
    write_evaluation(temperature=2.0)
    run_promote(tiny_params)
    root = tiny_params.demo.out_dir
    patients = sorted((root / "ecg").iterdir())[:4]
    answers = {}
    for path in (RETRAINED_PATH, PROMOTED):
        with TestClient(create_app(path, tiny_params)) as client:
            health = client.get("/health").json()
            answers[path] = [client.post("/predict", files={
                "ecg_image": (ecg.name, ecg.read_bytes()),
                "pcg_audio": ("p.wav", (root / "pcg" / f"{ecg.stem}.wav").read_bytes()),
            }).json() for ecg in patients]
    assert health["temperature"] == 2.0 and health["test_metrics"]["auroc"] == 0.9
    for plain, scaled in zip(answers[RETRAINED_PATH], answers[PROMOTED], strict=True):
        logit = math.log(plain["probability"] / (1 - plain["probability"]))
        assert scaled["probability"] == pytest.approx(1 / (1 + math.exp(-logit / 2)), abs=1e-6)
        assert scaled["class"] == plain["class"]
