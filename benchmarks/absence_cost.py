"""What absent modalities cost: the information they remove, and training with them.

Run from the repository root, after `benchmarks/balance.py --crossval K` has trained the same
patients twice in one --workdir, once with some modalities absent and once complete, e.g.
`--methods defaults --variant
complete:demo.missing.ecg=0,demo.missing.pcg=0,demo.missing.clinical=0`:
    python benchmarks/absence_cost.py [--workdir /tmp/cardiofusion-balance] [--absent defaults]
                                      [--complete complete] [--seeds 42 1 2 3 4] [--results FILE]

Cross-validation's folds depend on labels and patients only, so both runs of a seed test the
same patients in each fold. Each fold's saved models rescore that fold's test patients three
ways: the complete run's model with every input; the same model with the absent run's
absences withheld (an absent modality is the train-split mean embedding, as evaluate does); the
absent run's model with the same inputs. The first gap is what the information costs, the
second what training with the absences costs. Printed per seed as the mean AUROC of its test
folds, over all patients and over those with every modality.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import roc_auc_score

from cardiofusion.features.dataset import FeatureSet
from cardiofusion.model.checkpoint import load_model
from cardiofusion.model.network import fill_absent
from cardiofusion.model.splits import embed_split, load_split
from cardiofusion.reporting.results_file import markdown_table, results_record, write_results

WAYS = ("complete model, every input", "complete model, the absences withheld",
        "model trained with the absences")
HEADER = ["seed", *WAYS, "with every modality: complete model", "with every modality: absent model"]


def fold_scores(run: Path, withhold: pd.DataFrame | None = None
                ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Each crossval fold's fused logits on its test patients (indexed by patient id), with the
    fold, the label and which modalities were given; with `withhold` (patient x modality, True =
    present) also the logits of the same embeddings given only what it marks present."""
    frames: dict[str, list[pd.DataFrame]] = {"given": [], "withheld": []}
    for fold in sorted((run / "data" / "crossval").glob("fold*"), key=lambda p: int(p.name[4:])):
        loaded = load_model(fold / "models" / "best_multimodal_model_retrained.pth")
        test = load_split(FeatureSet.load(fold / "data" / "features"), "test", torch.device("cpu"))
        ids = list(test.patient_ids)
        embeddings = embed_split(loaded.model, test)
        presences = {"given": test.present}
        if withhold is not None:
            presences["withheld"] = {m: torch.tensor(withhold.loc[ids, m].to_numpy())
                                     for m in test.present}
        for way, present in presences.items():
            with torch.no_grad():
                logits = loaded.model.fuse(fill_absent(embeddings, present, loaded.baseline))
            frame = pd.DataFrame({"fold": fold.name, "score": logits.numpy(),
                                  "label": test.labels.numpy()}, index=ids)
            frames[way].append(frame.assign(**{m: p.numpy() for m, p in present.items()}))
    if not frames["given"]:
        raise SystemExit(f"{run}: no crossval folds; run benchmarks/balance.py --crossval K first")
    withheld = pd.concat(frames["withheld"]) if withhold is not None else None
    return pd.concat(frames["given"]), withheld


def fold_mean_auroc(scores: pd.DataFrame, rows: np.ndarray) -> float:
    """The mean over folds of each fold's AUROC on the chosen rows."""
    return statistics.mean(roc_auc_score(part["label"], part["score"])
                           for _, part in scores[rows].groupby("fold"))


def seed_figures(workdir: Path, seed: int, absent: str, complete: str) -> list[float]:
    """The five figures of HEADER (after the seed) for one seed."""
    absent_scores, _ = fold_scores(workdir / f"seed{seed}" / absent)
    modalities = [c for c in absent_scores.columns if c not in ("fold", "score", "label")]
    complete_scores, withheld = fold_scores(workdir / f"seed{seed}" / complete,
                                            absent_scores[modalities])
    complete_scores = complete_scores.loc[absent_scores.index]
    withheld = withheld.loc[absent_scores.index]
    if not (complete_scores["fold"] == absent_scores["fold"]).all():
        raise SystemExit(f"seed {seed}: the two runs' folds differ; they are not the same patients")
    everyone = np.ones(len(absent_scores), dtype=bool)
    whole = absent_scores[modalities].all(axis=1).to_numpy()
    return [fold_mean_auroc(complete_scores, everyone), fold_mean_auroc(withheld, everyone),
            fold_mean_auroc(absent_scores, everyone), fold_mean_auroc(complete_scores, whole),
            fold_mean_auroc(absent_scores, whole)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/cardiofusion-balance"),
                        help="balance.py's --workdir")
    parser.add_argument("--absent", default="defaults", help="the run with absent modalities")
    parser.add_argument("--complete", default="complete", help="the same patients, complete")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 1, 2, 3, 4])
    parser.add_argument("--results", type=Path, help="also write the table here (JSON)")
    args = parser.parse_args()
    raw = {seed: seed_figures(args.workdir, seed, args.absent, args.complete)
           for seed in args.seeds}
    means = [statistics.mean(column) for column in zip(*raw.values(), strict=True)]
    rows = [[str(seed), *(f"{v:.3f}" for v in values)] for seed, values in raw.items()]
    rows.append(["**mean**", *(f"{v:.3f}" for v in means)])
    record = results_record("absence_cost", HEADER, rows, {str(s): v for s, v in raw.items()},
                            seeds=args.seeds)
    print(markdown_table(record))
    print(f"the information: {means[0] - means[1]:.3f}; training with the absences: "
          f"{means[1] - means[2]:.3f} (mean AUROC of each seed's test folds)")
    if args.results:
        write_results(args.results, record)


if __name__ == "__main__":
    main()
