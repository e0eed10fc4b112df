"""Evaluate: diagnostics, verdict rules, temperature scaling, and the stage on a tiny model."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from cardiofusion.config import CriteriaParams, ModelParams
from cardiofusion.evaluation.calibration import Recalibration, fit_recalibration, prior_offset
from cardiofusion.evaluation.diagnostics import label_signal, partner_order, swap_moved_fraction
from cardiofusion.evaluation.verdict import judge, share_checks
from cardiofusion.model.checkpoint import load_model, model_id
from cardiofusion.model.metrics import expected_calibration_error
from cardiofusion.model.network import MultimodalNet
from cardiofusion.paths import PipelinePaths

SIGNAL = {"auroc": 0.8, "auroc_ci": {"low": 0.7, "high": 0.9}, "label_signal": True}
NOISE = {"auroc": 0.52, "auroc_ci": {"low": 0.40, "high": 0.64}, "label_signal": False}


def test_a_modality_fed_pure_noise_is_reported_as_carrying_no_signal():
    rng = np.random.default_rng(0)
    labels = np.array([0] * 20 + [1] * 200)
    noise = label_signal(labels, rng.normal(size=len(labels)), samples=1000, seed=0)
    assert noise["auroc_ci"]["low"] < 0.5 < noise["auroc_ci"]["high"]
    assert noise["label_signal"] is False
    informative = label_signal(labels, labels + rng.normal(size=len(labels)), 1000, seed=0)
    assert informative["auroc_ci"]["low"] > 0.5 and informative["label_signal"] is True


def test_verdict_passes_balanced_shares_and_names_each_check():
    verdict = judge({"ecg": 30.0, "pcg": 33.0, "clinical": 37.0}, 0.8,
                    {m: SIGNAL for m in ("ecg", "pcg", "clinical")}, CriteriaParams())
    assert verdict.outcome == "pass" and verdict.exempt == {} and verdict.share_scale == 1
    assert set(verdict.checks) == {"ecg_share_in_20_40", "pcg_share_in_20_40",
                                   "clinical_share_in_20_40", "no_share_above_60",
                                   "no_share_below_10", "balanced_accuracy_at_least_0.7"}
    assert judge({"ecg": 30.0, "pcg": 33.0, "clinical": 37.0}, 0.69,
                 {m: SIGNAL for m in ("ecg", "pcg", "clinical")}, CriteriaParams()
                 ).outcome == "fail"


def test_an_interval_that_straddles_a_threshold_is_uncertain_and_named():
    signal = {m: SIGNAL for m in ("ecg", "pcg", "clinical")}
    shares = {"ecg": (17.0, 26.0), "pcg": (30.0, 36.0), "clinical": (35.0, 39.0)}
    verdict = judge(shares, (0.74, 0.86), signal, CriteriaParams())
    assert verdict.outcome == "uncertain"
    assert verdict.checks["ecg_share_in_20_40"] == "uncertain"
    assert verdict.evidence["ecg_share_in_20_40"] == "ecg share 17.0-26.0%"
    assert verdict.checks["pcg_share_in_20_40"] == "pass"
    # balanced accuracy whose interval reaches below 0.7
    assert judge({"ecg": 30.0, "pcg": 33.0, "clinical": 37.0}, (0.66, 0.8), signal,
                 CriteriaParams()).checks["balanced_accuracy_at_least_0.7"] == "uncertain"
    # a certain failure outweighs an uncertain check
    shares["pcg"] = (41.0, 45.0)
    assert judge(shares, (0.74, 0.86), signal, CriteriaParams()).outcome == "fail"


def test_a_low_share_of_a_modality_without_signal_is_exempt_not_failed():
    shares = {"ecg": 4.0, "pcg": 46.0, "clinical": 50.0}
    unimodal = {"ecg": NOISE, "pcg": SIGNAL, "clinical": SIGNAL}
    verdict = judge(shares, 0.8, unimodal, CriteriaParams())
    assert verdict.outcome == "pass"
    assert verdict.share_scale == 1.5 and verdict.share_range == [30.0, 60.0]
    assert set(verdict.exempt) == {"ecg_share_in_30_60", "no_share_below_15"}
    assert "no label signal" in verdict.exempt["ecg_share_in_30_60"]
    # the same shares with the signal untested (heads not trained) fail
    unknown = {m: {**SIGNAL, "label_signal": None} for m in shares}
    assert judge(shares, 0.8, unknown, CriteriaParams()).outcome == "fail"
    # a modality without signal may still not dominate
    greedy = judge({"ecg": 70.0, "pcg": 15.0, "clinical": 15.0}, 0.8, unimodal, CriteriaParams())
    assert greedy.checks["ecg_share_in_30_60"] == "fail"
    assert "ecg_share_in_30_60" not in greedy.exempt


def test_the_replaced_system_fails_the_contribution_checks():
    verdict = share_checks({"ecg": 0.0, "pcg": 0.2, "clinical": 99.8}, None, CriteriaParams())
    assert verdict.outcome == "fail"
    assert [name for name, outcome in verdict.checks.items() if outcome == "pass"] == []


class _SumFusion(MultimodalNet):
    """logit = sum of the first embedding unit of each modality."""

    def fuse(self, embeddings):
        return sum(embeddings[m][:, 0] for m in ("ecg", "pcg", "clinical"))


def test_swap_test_counts_patients_whose_prediction_moves():
    model = _SumFusion(ModelParams(ecg_channels=[4], pcg_channels=[4], clinical_hidden=[4],
                                   embedding_dim=2, fusion_hidden=2), clinical_features=1)
    n = 50
    embeddings = {"ecg": torch.zeros(n, 2), "pcg": torch.zeros(n, 2),
                  "clinical": torch.zeros(n, 2)}
    embeddings["pcg"][:, 0] = torch.linspace(-4, 4, n)  # every patient differs
    embeddings["clinical"][:25, 0] = 2.0  # two groups of identical patients
    moved = swap_moved_fraction(model, embeddings, 0.05, torch.Generator().manual_seed(0))
    assert moved["ecg"] == 0.0  # identical in every patient: swapping changes nothing
    assert moved["pcg"] > 0.6  # all but swaps within a saturated end of the sigmoid
    assert 0.2 < moved["clinical"] < 0.8  # only swaps across the two groups move


def test_partner_order_never_gives_a_patient_their_own_data():
    for seed in range(20):
        order = partner_order(7, torch.Generator().manual_seed(seed))
        assert sorted(order.tolist()) == list(range(7))
        assert (order != torch.arange(7)).all()


def test_temperature_scaling_recovers_an_overconfident_scale():
    generator = torch.Generator().manual_seed(0)
    true_logits = torch.randn(4000, generator=generator) * 2
    labels = torch.bernoulli(torch.sigmoid(true_logits), generator=generator)
    for scale in (3.0, 0.5):
        fitted, nll = fit_recalibration(scale * true_logits, labels, offset=0.0)
        assert fitted.temperature == pytest.approx(scale, rel=0.1)
        assert nll[fitted.method] < nll["uncalibrated"]


def test_prior_shift_is_undone_and_brings_the_ece_down():
    """A model trained for a 50:50 prior, applied where 90% are abnormal: its probabilities
    understate abnormal; the prior correction plus calibration fixes that."""
    generator = torch.Generator().manual_seed(1)
    n = 6000
    labels = (torch.rand(n, generator=generator) < 0.9).double()
    # logits of a model that saw both classes equally often: log-likelihood ratio only
    logits = (2 * labels - 1) * 1.5 + torch.randn(n, generator=generator, dtype=torch.float64)
    offset = prior_offset(0.9, 0.5)
    assert offset == pytest.approx(np.log(9))
    fitted, _ = fit_recalibration(logits[: n // 2], labels[: n // 2], offset)
    test_labels, test_logits = labels[n // 2:].numpy(), logits[n // 2:]
    before = expected_calibration_error(test_labels, torch.sigmoid(test_logits).numpy(), 10)
    after = expected_calibration_error(test_labels, fitted.apply(test_logits).numpy(), 10)
    assert before > 0.1 and after < 0.03


@pytest.mark.parametrize("method", ["temperature", "platt"])
def test_recalibration_keeps_every_decision(method):
    logits = torch.linspace(-6, 6, 1001, dtype=torch.float64)
    for threshold, temperature, shift in ((0.65, 1.4, 0.3), (0.3, 0.7, -1.2), (0.5, 3.0, 2.2)):
        fitted = Recalibration(method, temperature, shift, prior_shift=0.0)
        before = torch.sigmoid(logits) >= threshold
        after = fitted.apply(logits) >= fitted.threshold(threshold)
        assert torch.equal(before, after)


@pytest.fixture(scope="module")
def evaluated(tiny_trained, tiny_params, tmp_path_factory):
    """The tiny trained directory, copied, then evaluated with temperature scaling on."""
    from cardiofusion.evaluation.evaluate import run_evaluate

    workdir = tmp_path_factory.mktemp("evaluated") / "project"
    shutil.copytree(tiny_trained, workdir)
    params = tiny_params.model_copy(update={
        "evaluate": tiny_params.evaluate.model_copy(update={"calibrate": True,
                                                            "bootstrap_samples": 200})})
    run_evaluate(params, PipelinePaths(workdir))
    return workdir


def test_eval_json_keeps_the_contract(evaluated):
    report = json.loads((evaluated / "reports/evaluation.json").read_text())
    model_path = evaluated / "models/best_multimodal_model_retrained.pth"
    assert report["model_id"] == model_id(model_path)
    outcomes = set(report["checks"].values())
    assert report["verdict"] == ("fail" if "fail" in outcomes else
                                 "uncertain" if "uncertain" in outcomes else "pass")
    assert set(report["contributions"]["intervals"]) == {"ecg", "pcg", "clinical"}
    for key in ("auroc", "auprc", "balanced_accuracy", "temperature", "threshold"):
        assert isinstance(report[key], float)
    contributions = report["contributions"]
    assert contributions["method"] == "ablation"
    for method in ("ablation", "shapley"):
        assert sum(contributions[method].values()) == pytest.approx(100)
        assert contributions[method] == contributions["by_baseline"]["mean"][method]
    assert set(contributions["by_baseline"]) == {"mean", "permute", "blank"}
    assert report["auroc_ci"]["low"] <= report["auroc"] <= report["auroc_ci"]["high"]
    assert set(report["unimodal"]) == {"ecg", "pcg", "clinical"}
    for diagnostic in report["unimodal"].values():  # test decides, validation second opinion
        assert diagnostic["label_signal"] in (True, False)
        assert diagnostic["validation"]["label_signal"] in (True, False)
    assert report["tuned_threshold"]["threshold"] == report["threshold"]
    assert report["fixed_threshold"]["threshold"] == 0.5


def test_metrics_file_holds_the_headline_of_the_evaluation(evaluated):
    details = json.loads((evaluated / "reports/evaluation.json").read_text())
    headline = json.loads((evaluated / "metrics/eval.json").read_text())
    assert set(headline) == {"verdict", "auroc", "balanced_accuracy", "ece", "contributions"}
    assert headline["contributions"] == details["contributions"]["ablation"]
    assert all(headline[key] == details[key] for key in ("verdict", "auroc", "ece"))


def test_calibration_moves_the_threshold_but_no_decision(evaluated):
    report = json.loads((evaluated / "reports/evaluation.json").read_text())
    loaded = load_model(evaluated / "models/best_multimodal_model_retrained.pth")
    assert loaded.temperature == 1.0  # the train stage's output is left as it was
    temperature, shift = report["temperature"], report["logit_shift"]
    fitted = Recalibration(report["calibration"]["method"], temperature, shift, 0.0)
    assert report["threshold"] == pytest.approx(fitted.threshold(loaded.threshold))
    predictions = pd.read_csv(evaluated / "plots/data/test_predictions.csv")
    p = predictions["probability"].clip(1e-12, 1 - 1e-12)
    raw = 1 / (1 + np.exp(-(np.log(p / (1 - p)) - shift) * temperature))  # undo calibration
    uncalibrated = np.where(raw >= loaded.threshold, "abnormal", "healthy")
    assert (predictions["predicted"] == uncalibrated).all()


def test_plot_data_is_written_for_dvc_plots(evaluated):
    data = evaluated / "plots/data"
    roc = pd.read_csv(data / "roc.csv")
    assert roc["fpr"].is_monotonic_increasing and roc["tpr"].iloc[-1] == 1.0
    assert list(pd.read_csv(data / "pr.csv").columns) == ["recall", "precision"]
    assert pd.read_csv(data / "calibration.csv")["count"].sum() == len(
        pd.read_csv(data / "test_predictions.csv"))
    contributions = pd.read_csv(data / "contributions.csv")
    assert list(contributions["modality"]) == ["ECG", "PCG", "Clinical"]
    assert contributions["ablation"].sum() == pytest.approx(100)
