"""The saved model: weights plus everything needed to preprocess and interpret an input.

Only tensors and plain containers are stored, so it loads with `torch.load(weights_only=True)`:
opening a model file never executes code from it.
"""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from cardiofusion import __version__
from cardiofusion.config import ModelParams, Params
from cardiofusion.errors import CardiofusionError
from cardiofusion.features.patient import FeatureSpec
from cardiofusion.files import atomic_path
from cardiofusion.model.network import MultimodalNet

CLASS_NAMES = ["healthy", "abnormal"]


@dataclass
class LoadedModel:
    model: MultimodalNet
    spec: FeatureSpec
    baseline: dict[str, torch.Tensor]  # train-split mean embedding per modality
    threshold: float  # tuned on the validation split (Youden)
    temperature: float  # probability = sigmoid(logit / temperature + logit_shift)
    logit_shift: float  # 0.0 unless calibrated (the sampler's prior undone, Platt bias)
    info: dict[str, object]  # epoch, validation metrics, versions


def save_model(
    path: Path,
    model: MultimodalNet,
    model_params: ModelParams,
    spec: FeatureSpec,
    baseline: dict[str, torch.Tensor],
    threshold: float,
    info: dict[str, object],
) -> None:
    payload = {
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "model_params": model_params.model_dump(mode="json"),
        "clinical_features": len(spec.clinical.feature_names),
        "feature_spec": spec.to_dict(),
        "baseline_embeddings": {m: t.detach().cpu() for m, t in baseline.items()},
        "class_names": CLASS_NAMES,
        "threshold": float(threshold),
        "temperature": 1.0,
        "logit_shift": 0.0,
        "info": info,
        "versions": {"cardiofusion": __version__, "torch": str(torch.__version__)},
    }
    save_payload(path, payload)


def save_payload(path: Path, payload: dict[str, Any]) -> None:
    """Write a model payload atomically: a reader never sees a half-written model.

    Saving through a file handle keeps the random temporary name out of the archive, so equal
    payloads give byte-equal files (and equal `model_id`s).
    """
    with atomic_path(path) as tmp, tmp.open("wb") as handle:
        torch.save(payload, handle)


def load_payload(path: Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    """The saved dict as stored (weights_only: loading never runs code from the file)."""
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise CardiofusionError(
            f"{path}: no model file; run `dvc repro` (or the train stage)"
        ) from None
    except (pickle.UnpicklingError, RuntimeError, EOFError) as exc:
        raise CardiofusionError(
            f"{path}: not a loadable cardiofusion model ({str(exc).splitlines()[0]}); "
            "retrain it with the train stage"
        ) from None


def load_model(path: Path, device: torch.device | str = "cpu") -> LoadedModel:
    payload = load_payload(path, device)
    model = MultimodalNet(
        ModelParams.model_validate(payload["model_params"]), payload["clinical_features"]
    )
    model.load_state_dict(payload["state_dict"])
    model.to(device).eval()
    return LoadedModel(
        model=model,
        spec=FeatureSpec.from_dict(payload["feature_spec"]),
        baseline={m: t.to(device) for m, t in payload["baseline_embeddings"].items()},
        threshold=float(payload["threshold"]),
        temperature=float(payload.get("temperature", 1.0)),
        logit_shift=float(payload.get("logit_shift", 0.0)),
        info={**payload["info"], "versions": payload["versions"]},
    )


def model_id(path: Path) -> str:
    """Short content hash naming one model file (equal files, equal ids)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def save_training_state(
    path: Path,
    params: Params,
    model: MultimodalNet,
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
    progress: dict[str, object],
) -> None:
    """Everything a resumed run needs to continue exactly as an uninterrupted one would."""
    payload = {
        "params": params.model_dump(mode="json", by_alias=True),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "generator": generator.get_state(),
        "torch_rng": torch.get_rng_state(),
        **progress,
    }
    save_payload(path, payload)


def load_training_state(
    path: Path,
    params: Params,
    model: MultimodalNet,
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
) -> dict[str, Any]:
    """Restore model, optimizer and random state in place; return the saved progress."""
    if not path.is_file():
        raise CardiofusionError(f"{path}: no training checkpoint to resume from; run without "
                                "--resume")
    state = torch.load(path, weights_only=True)
    if state["params"] != params.model_dump(mode="json", by_alias=True):
        raise CardiofusionError(
            f"{path} was written with other params; resume only with the same params.yaml "
            "(or run without --resume)"
        )
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    generator.set_state(state["generator"])
    torch.set_rng_state(state["torch_rng"])
    return state
