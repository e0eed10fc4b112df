"""Evaluate stage: held-out test metrics, modality contributions and the success verdict."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import confusion_matrix, roc_auc_score

from cardiofusion.checkpoint import load_model
from cardiofusion.config import MODALITIES, CriteriaParams, Params
from cardiofusion.contributions import (
    ablation_effects,
    baseline_embeddings,
    shapley_effects,
    shares,
)
from cardiofusion.features.cache import FeatureSet
from cardiofusion.inference import embed_split, load_split
from cardiofusion.io import atomic_path, write_json
from cardiofusion.metrics import classification_metrics
from cardiofusion.reproducibility import pick_device, seed_everything
from cardiofusion.train import MODEL_PATH

METRICS_PATH = Path("metrics/eval.json")
PREDICTIONS_PATH = Path("plots/data/test_predictions.csv")


def run_evaluate(params: Params) -> dict[str, object]:
    seed_everything(params.seed)
    device = pick_device(params.device)
    loaded = load_model(MODEL_PATH, device)
    test = load_split(FeatureSet.load(), "test", device)
    model = loaded.model
    with torch.no_grad():
        embeddings = embed_split(model, test)
        probabilities = torch.sigmoid(model.fuse(embeddings)).cpu().numpy()
        aux = {m: torch.sigmoid(v).cpu().numpy() for m, v in model.aux_logits(embeddings).items()}
        baseline = baseline_embeddings(
            embeddings, params.contributions.baseline, loaded.baseline,
            torch.Generator().manual_seed(params.seed),
        )
        contributions = {
            "ablation": shares(ablation_effects(model, embeddings, baseline)),
            "shapley": shares(shapley_effects(model, embeddings, baseline)),
        }
    labels = test.labels.cpu().numpy().astype(int)
    threshold = params.evaluate.threshold
    predicted = (probabilities >= threshold).astype(int)
    used = contributions[params.contributions.method]
    checks = verdict_checks(used, classification_metrics(labels, probabilities, threshold),
                            params.criteria)
    report = {
        "test_patients": len(labels),
        "threshold": threshold,
        **classification_metrics(labels, probabilities, threshold),
        "confusion_matrix": confusion_matrix(labels, predicted, labels=[0, 1]).tolist(),
        "prediction_std": float(np.std(probabilities)),
        "contributions": {"method": params.contributions.method, **contributions},
        "unimodal_auroc": {m: float(roc_auc_score(labels, aux[m])) for m in MODALITIES},
        "checks": checks,
        "verdict": "pass" if all(checks.values()) else "fail",
    }
    write_json(METRICS_PATH, report)
    with atomic_path(PREDICTIONS_PATH) as tmp:
        pd.DataFrame(
            {"patient_id": test.patient_ids, "actual": labels, "predicted": predicted,
             "probability": probabilities}
        ).to_csv(tmp, index=False)
    _print(report)
    return report


def verdict_checks(
    contribution_shares: dict[str, float], metrics: dict[str, float], criteria: CriteriaParams
) -> dict[str, bool]:
    """The seed's success criteria, one boolean per check."""
    low, high = criteria.share_range
    values = contribution_shares.values()
    return {
        **{f"{m}_share_in_{low:g}_{high:g}": bool(low <= contribution_shares[m] <= high)
           for m in MODALITIES},
        f"no_share_above_{criteria.max_share:g}": bool(max(values) <= criteria.max_share),
        f"no_share_below_{criteria.min_share:g}": bool(min(values) >= criteria.min_share),
        "balanced_accuracy_at_least_"
        f"{criteria.min_balanced_accuracy:g}": bool(
            metrics["balanced_accuracy"] >= criteria.min_balanced_accuracy
        ),
    }


def _print(report: dict[str, object]) -> None:
    print(f"🧪 Test set: {report['test_patients']} patients | Acc {report['accuracy']:.2%} | "
          f"Balanced Acc {report['balanced_accuracy']:.2%} | AUROC {report['auroc']:.3f}")
    contributions = report["contributions"]
    for method in ("ablation", "shapley"):
        values = contributions[method]  # type: ignore[index]
        print(f"   Modality Contributions ({method}): "
              + ", ".join(f"{m.upper() if m != 'clinical' else 'Clinical'}={values[m]:.1f}%"
                          for m in MODALITIES))
    print("   Unimodal AUROC: " + ", ".join(
        f"{m}={v:.3f}" for m, v in report["unimodal_auroc"].items()))  # type: ignore[union-attr]
    for name, ok in report["checks"].items():  # type: ignore[union-attr]
        print(f"   {'✅' if ok else '❌'} {name}")
    print(f"   Verdict: {str(report['verdict']).upper()}")
