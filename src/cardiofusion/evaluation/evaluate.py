"""Evaluate stage: held-out test metrics, modality contributions, diagnostics and the verdict.

Writes `metrics/eval.json` (DVC metrics: the headline only), `reports/evaluation.json` (the whole
evaluation, plain JSON) and the plot data under `plots/data/` (DVC plots):
ROC, precision-recall, calibration, final contributions and per-patient test predictions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import precision_recall_curve, roc_curve

from cardiofusion.config import MODALITY_LABELS, Params
from cardiofusion.console import print_evaluation
from cardiofusion.errors import CardiofusionError
from cardiofusion.evaluation.bootstrap import (
    auroc_rows,
    balanced_accuracy_rows,
    bootstrap_interval,
    independent_groups,
    share_rows,
)
from cardiofusion.evaluation.calibration import Recalibration, fit_recalibration, prior_offset
from cardiofusion.evaluation.diagnostics import label_signal, swap_moved_fraction
from cardiofusion.evaluation.result import (
    Calibration,
    Contributions,
    Evaluation,
    Interval,
    LabelSignal,
    MethodShares,
    PredictionsVary,
    Shares,
    ThresholdMetrics,
)
from cardiofusion.evaluation.robustness import (
    absent_table,
    robustness_table,
    subset_probabilities,
)
from cardiofusion.evaluation.verdict import judge
from cardiofusion.features.dataset import FeatureSet
from cardiofusion.files import atomic_path, write_json
from cardiofusion.model.checkpoint import LoadedModel, load_model, model_id
from cardiofusion.model.contributions import (
    ablation_effects,
    baseline_embeddings,
    blank_embeddings,
    effect_matrix,
    shapley_effects,
    shares,
)
from cardiofusion.model.metrics import (
    brier_score,
    calibration_table,
    expected_calibration_error,
    ranking_metrics,
    threshold_metrics,
)
from cardiofusion.model.network import fill_absent
from cardiofusion.model.risk_tiers import tier_evidence
from cardiofusion.model.splits import SplitTensors, embed_split, load_split
from cardiofusion.paths import DEFAULT_PATHS, PipelinePaths
from cardiofusion.runtime import pick_device, seed_everything

BASELINES = ("mean", "permute", "blank")
CLASS_NAMES = np.array(["healthy", "abnormal"])


def run_evaluate(params: Params, paths: PipelinePaths = DEFAULT_PATHS) -> Evaluation:
    """Evaluate the retrained model on the test split; write eval.json and the plot data."""
    ep = params.evaluate
    seed_everything(params.seed)
    device = pick_device(params.device)
    loaded = load_model(paths.retrained_model, device)
    features = FeatureSet.load(paths.features)
    test = load_split(features, "test", device)
    labels = test.labels.cpu().numpy().astype(int)
    groups = np.asarray(test.groups)
    _require_both_classes(labels)
    model = loaded.model
    modalities = model.modalities
    embeddings, logits, aux_logits = _outputs(loaded, test)
    val = load_split(features, "val", device)
    _, val_logits, val_aux_logits = _outputs(loaded, val)
    val_labels = val.labels.cpu().numpy().astype(int)
    recalibration, calibration = None, None
    if ep.calibrate:
        train_prevalence = float(features.index.loc[features.rows("train"), "label"].mean())
        trained_for = 0.5 if params.train.sampler == "weighted" else train_prevalence
        recalibration, calibration = _calibrate(
            val_logits, val.labels.double(), prior_offset(train_prevalence, trained_for),
            labels, logits, ep.calibration_bins)
    if recalibration:
        probabilities = recalibration.apply(logits).cpu().numpy()
        val_probabilities = recalibration.apply(val_logits).cpu().numpy()
        threshold = recalibration.threshold(loaded.threshold)
    else:
        probabilities, threshold = torch.sigmoid(logits).cpu().numpy(), loaded.threshold
        val_probabilities = torch.sigmoid(val_logits).cpu().numpy()

    def at_threshold(at: float) -> ThresholdMetrics:
        predicted = (probabilities >= at).astype(int)
        interval = bootstrap_interval(balanced_accuracy_rows, labels, predicted,
                                      ep.bootstrap_samples, params.seed, groups)
        return ThresholdMetrics(**threshold_metrics(labels, probabilities, at),
                                balanced_accuracy_ci=interval)

    tuned, fixed = at_threshold(threshold), at_threshold(ep.threshold)
    ranking = ranking_metrics(labels, probabilities)
    by_baseline = measure_contributions(loaded, embeddings, test, params.seed)
    heads_trained = params.train.balance != "none"
    test_present = {m: p.cpu().numpy() for m, p in test.present.items()}
    val_present = {m: p.cpu().numpy() for m, p in val.present.items()}
    val_groups = np.asarray(val.groups)
    unimodal = {m: _unimodal(_having(test_present[m], labels, aux_logits[m], groups),
                             _having(val_present[m], val_labels, val_aux_logits[m], val_groups),
                             heads_trained, ep.bootstrap_samples, params.seed)
                for m in modalities}
    to_probability = recalibration.apply if recalibration else torch.sigmoid
    by_subset = subset_probabilities(model, embeddings, loaded.baseline,
                                     lambda z: to_probability(z).cpu().numpy())
    used = by_baseline[params.contributions.baseline]
    share_cis = share_intervals(loaded, embeddings, test, params, groups)
    verdict = judge({m: (ci.low, ci.high) for m, ci in share_cis.items()},
                    (tuned.balanced_accuracy_ci.low, tuned.balanced_accuracy_ci.high),
                    {m: u.model_dump() for m, u in unimodal.items()}, params.criteria)

    evaluation = Evaluation(
        model_id=model_id(paths.retrained_model),
        verdict=verdict.outcome,
        modalities=list(modalities),
        test_patients=len(labels),
        test_healthy=int(np.sum(labels == 0)),
        test_abnormal=int(np.sum(labels == 1)),
        test_groups=independent_groups(groups, len(labels)),
        temperature=recalibration.temperature if recalibration else 1.0,
        logit_shift=recalibration.shift if recalibration else 0.0,
        threshold=threshold,
        auroc=ranking["auroc"],
        auroc_ci=bootstrap_interval(auroc_rows, labels, probabilities, ep.bootstrap_samples,
                                    params.seed, groups),
        auprc=ranking["auprc"],
        brier=brier_score(labels, probabilities),
        ece=expected_calibration_error(labels, probabilities, ep.calibration_bins),
        balanced_accuracy=tuned.balanced_accuracy,
        balanced_accuracy_ci=tuned.balanced_accuracy_ci,
        tuned_threshold=tuned,
        fixed_threshold=fixed,
        calibration=calibration,
        contributions=Contributions(
            method=params.contributions.method,
            baseline=params.contributions.baseline,
            ablation=used.ablation,
            shapley=used.shapley,
            by_baseline=by_baseline,
            intervals=share_cis,
        ),
        unimodal=unimodal,
        unimodal_heads_trained=heads_trained,
        predictions_vary=PredictionsVary(
            probability_std=float(np.std(probabilities)),
            probability_mean=float(np.mean(probabilities)),
            swap_delta=ep.swap_delta,
            moved_fraction=swap_moved_fraction(
                model, embeddings, ep.swap_delta, torch.Generator().manual_seed(params.seed),
                recalibration),
        ),
        risk_tiers=tier_evidence(val_probabilities, val_labels, np.asarray(val.groups)),
        risk_tiers_test=tier_evidence(probabilities, labels, groups),
        checks=verdict.checks,
        evidence=verdict.evidence,
        exempt=verdict.exempt,
        share_scale=verdict.share_scale,
        share_range=verdict.share_range,
        robustness=robustness_table(by_subset, labels, groups, threshold, ep.bootstrap_samples,
                                    params.seed),
        absent=absent_table(test_present, labels, probabilities, groups, threshold,
                            ep.bootstrap_samples, params.seed),
    )
    evaluation.save(paths.eval_details)
    write_json(paths.eval_metrics, headline(evaluation))
    _write_plot_data(paths, test, labels, probabilities, tuned, fixed, used, ep.calibration_bins,
                     aux_logits, by_subset)
    print_evaluation(evaluation)
    return evaluation


@torch.no_grad()
def measure_contributions(
    loaded: LoadedModel, embeddings: dict[str, torch.Tensor], test: SplitTensors, seed: int
) -> dict[str, MethodShares]:
    """Shares (%) by baseline ("without m" = mean, another patient, blank input) and method."""
    model = loaded.model
    result = {}
    for kind in BASELINES:
        baseline = _baseline(loaded, embeddings, test, kind, seed)
        result[kind] = MethodShares(
            ablation=Shares(**shares(ablation_effects(model, embeddings, baseline),
                                     test.present)),
            shapley=Shares(**shares(shapley_effects(model, embeddings, baseline), test.present)),
        )
    return result


def _baseline(loaded: LoadedModel, embeddings: dict[str, torch.Tensor], test: SplitTensors,
              kind: str, seed: int) -> dict[str, torch.Tensor]:
    """The embeddings "without m" stands for: train mean, another patient's, or blank input."""
    reference = blank_embeddings(loaded.model, test.inputs) if kind == "blank" else loaded.baseline
    return baseline_embeddings(embeddings, kind, reference, torch.Generator().manual_seed(seed))


def share_intervals(loaded: LoadedModel, embeddings: dict[str, torch.Tensor],
                    test: SplitTensors, params: Params, groups: np.ndarray) -> dict[str, Interval]:
    """95% interval of each share the verdict judges, resampling patients (or groups)."""
    method, kind = params.contributions.method, params.contributions.baseline
    measure = shapley_effects if method == "shapley" else ablation_effects
    effects = measure(loaded.model, embeddings, _baseline(loaded, embeddings, test, kind,
                                                          params.seed))
    matrix = effect_matrix(effects, test.present)
    labels = test.labels.cpu().numpy().astype(int)
    return {
        m: Interval(**bootstrap_interval(share_rows(i), labels, matrix,
                                         params.evaluate.bootstrap_samples, params.seed, groups))
        for i, m in enumerate(effects)
    }


@torch.no_grad()
def _outputs(
    loaded: LoadedModel, split: SplitTensors
) -> tuple[dict[str, torch.Tensor], torch.Tensor, dict[str, np.ndarray]]:
    """Embeddings (absent modalities at the train-split mean), fused logits (float64) and
    auxiliary-head logits of one split."""
    model = loaded.model
    embeddings = fill_absent(embed_split(model, split), split.present, loaded.baseline)
    aux = {m: v.double().cpu().numpy() for m, v in model.aux_logits(embeddings).items()}
    return embeddings, model.fuse(embeddings).double(), aux


def _having(present: np.ndarray, labels: np.ndarray, scores: np.ndarray, groups: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows of the patients who have the modality: a head is judged on its own input."""
    return labels[present], scores[present], groups[present]


def _calibrate(
    logits: torch.Tensor, labels: torch.Tensor, offset: float, test_labels: np.ndarray,
    test_logits: torch.Tensor, bins: int,
) -> tuple[Recalibration, Calibration]:
    """Prior correction plus the better of temperature and Platt scaling on validation; the
    validation NLL of each, and the test Brier score and ECE before it (after it: the top-level
    figures)."""
    recalibration, nll = fit_recalibration(logits, labels, offset)
    uncalibrated = torch.sigmoid(test_logits).cpu().numpy()
    return recalibration, Calibration(
        method=recalibration.method,
        temperature=recalibration.temperature,
        shift=recalibration.shift,
        prior_shift=recalibration.prior_shift,
        val_nll_before=nll["uncalibrated"],
        val_nll_temperature=nll["temperature"],
        val_nll_platt=nll["platt"],
        brier_before=brier_score(test_labels, uncalibrated),
        ece_before=expected_calibration_error(test_labels, uncalibrated, bins),
    )


def _unimodal(
    test: tuple[np.ndarray, np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray, np.ndarray],
    heads_trained: bool, samples: int, seed: int,
) -> LabelSignal:
    """Label signal of one auxiliary head on test (the verdict's), with the validation split's
    as a second opinion; unknown (None) when the heads were never trained.

    A noise modality still looks informative on one split in about 1 of 20 runs at the 95%
    level; a verdict that hinges on a test-only "signal" the validation split does not repeat
    deserves a second look, so both are reported.
    """
    labels, scores, groups = test
    if len(np.unique(labels)) < 2:
        raise CardiofusionError(
            "the test patients who have one modality are all of one class, so its label signal "
            "cannot be measured: use more patients or a larger data.split.test")
    result = label_signal(labels, scores, samples, seed, groups)
    if len(np.unique(val[0])) == 2:
        result["validation"] = label_signal(*val[:2], samples, seed, val[2])
    if not heads_trained:
        result["label_signal"] = None
        result.get("validation", {})["label_signal"] = None
    return LabelSignal.model_validate(result)


def _require_both_classes(labels: np.ndarray) -> None:
    counts = np.bincount(labels, minlength=2)
    if counts.min() == 0:
        raise CardiofusionError(
            f"the test split holds {counts[0]} healthy and {counts[1]} abnormal patients; "
            "AUROC and balanced accuracy need both classes: use more patients or a larger "
            "data.split.test"
        )


def _write_plot_data(
    paths: PipelinePaths,
    test: SplitTensors,
    labels: np.ndarray,
    probabilities: np.ndarray,
    tuned: ThresholdMetrics,
    fixed: ThresholdMetrics,
    contribution_shares: MethodShares,
    bins: int,
    aux_logits: dict[str, np.ndarray],
    by_subset: dict[str, np.ndarray],
) -> None:
    """CSV series for `dvc plots` and the report figures; the per-patient predictions keep each
    patient's group and auxiliary-head scores, so folds can be pooled."""
    fpr, tpr, thresholds = roc_curve(labels, probabilities)
    precision, recall, _ = precision_recall_curve(labels, probabilities)
    tables = {
        paths.roc: pd.DataFrame({"fpr": fpr, "tpr": tpr,
                                "threshold": np.minimum(thresholds, 1.0)}),  # first is inf
        paths.precision_recall: pd.DataFrame({"recall": recall, "precision": precision}),
        paths.calibration: calibration_table(labels, probabilities, bins),
        paths.contributions: pd.DataFrame({
            "modality": [MODALITY_LABELS[m] for m in aux_logits],
            **{method: [contribution_shares[method][m] for m in aux_logits]
               for method in ("ablation", "shapley")},
        }),
        paths.predictions: pd.DataFrame({
            "patient_id": test.patient_ids,
            "group": test.groups,
            "actual": CLASS_NAMES[labels],
            "predicted": CLASS_NAMES[(probabilities >= tuned.threshold).astype(int)],
            "predicted_at_fixed": CLASS_NAMES[(probabilities >= fixed.threshold).astype(int)],
            "probability": probabilities,
            **{f"{m}_score": aux_logits[m] for m in aux_logits},
            **{f"has_{m}": p.cpu().numpy() for m, p in test.present.items()},
            **{f"probability_{key}": p for key, p in by_subset.items()},
        }),
    }
    for path, table in tables.items():
        with atomic_path(path) as tmp:
            table.to_csv(tmp, index=False)


def headline(evaluation: Evaluation) -> dict[str, object]:
    """The figures `dvc exp show` compares across experiments; the rest stays in the details."""
    return {"verdict": evaluation.verdict, "auroc": evaluation.auroc,
            "balanced_accuracy": evaluation.balanced_accuracy, "ece": evaluation.ece,
            "contributions": evaluation.contributions.used.as_dict()}
