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
from pydantic import ValidationError

from cardiofusion import __version__
from cardiofusion.config import MODALITIES, ModelParams, Params
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
    risk_tiers: list[dict[str, object]] | None  # observed rate per tier, stored by promote
    robustness: list[dict[str, object]] | None  # test figures per modality subset, by promote
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
        "modalities": list(model.modalities),
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


# models saved before these were params: stride-2 stems throughout, and an ECG signal encoder
# reading the leads as its first convolution's channels
SAVED_BEFORE_PARAMS = {"ecg_stem_stride": 2, "pcg_stem_stride": 2, "ecg_signal_per_lead": False}
MODEL_KEYS = ("state_dict", "model_params", "clinical_features", "feature_spec",
              "baseline_embeddings", "threshold", "info", "versions")
STATE_KEYS = ("params", "model", "optimizer", "generator", "torch_rng", "epoch", "best",
              "stale_epochs", "scaler", "candidates")
# what a file of the wrong kind or shape raises while it is being read into objects
_MISFITS = (KeyError, TypeError, ValueError, AttributeError, IndexError, RuntimeError)


def load_payload(path: Path, device: torch.device | str = "cpu",
                 what: str = "cardiofusion model") -> dict[str, Any]:
    """The saved dict as stored (weights_only: loading never runs code from the file); any
    file that is not one gives a one-line CardiofusionError naming it."""
    try:
        payload = torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise CardiofusionError(
            f"{path}: no model file; run `dvc repro` (or the train stage)"
        ) from None
    except Exception as exc:  # noqa: BLE001 - whatever a foreign or damaged file makes torch
        # raise (UnpicklingError, EOFError, IndexError from random bytes ...) means the same
        raise _not_a(path, what, _load_problem(exc)) from None
    if not isinstance(payload, dict):
        raise _not_a(path, what, f"it holds a {type(payload).__name__}, not a saved dict")
    return payload


def load_model(path: Path, device: torch.device | str = "cpu") -> LoadedModel:
    """The model and everything to preprocess and interpret an input, checked to fit."""
    payload = load_payload(path, device)
    _require_keys(path, payload, MODEL_KEYS, "cardiofusion model")
    try:
        spec = FeatureSpec.from_dict(payload["feature_spec"])
        model = MultimodalNet(
            ModelParams.model_validate({**SAVED_BEFORE_PARAMS, **payload["model_params"]}),
            int(payload["clinical_features"]),
            _modalities(payload.get("modalities", MODALITIES)),
            len(spec.ecg_leads),
        )
        model.load_state_dict(payload["state_dict"])
        model.to(device).eval()
        return LoadedModel(
            model=model,
            spec=spec,
            baseline=_baseline(payload["baseline_embeddings"], model, device),
            threshold=float(payload["threshold"]),
            temperature=float(payload.get("temperature", 1.0)),
            logit_shift=float(payload.get("logit_shift", 0.0)),
            risk_tiers=payload.get("risk_tiers"),
            robustness=payload.get("robustness"),
            info={**payload["info"], "versions": payload["versions"]},
        )
    except (*_MISFITS, ValidationError) as exc:
        raise _not_a(path, "cardiofusion model", _first_line(exc)) from None


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
    what = "cardiofusion training state"
    state = load_payload(path, "cpu", what)
    _require_keys(path, state, STATE_KEYS, what)
    if state["params"] != params.model_dump(mode="json", by_alias=True):
        raise CardiofusionError(
            f"{path} was written with other params; resume only with the same params.yaml "
            "(or run without --resume)"
        )
    try:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        int(state["epoch"]), int(state["stale_epochs"]), float(state["best"]["val_loss"])
        _check_candidates(state["candidates"], model)
    except _MISFITS as exc:
        raise _not_a(path, what, _first_line(exc)) from None
    return state


def _check_candidates(saved: dict[str, Any], model: MultimodalNet) -> None:
    """The epochs kept for averaging (training/soup.py): (loss, epoch, weights) entries whose
    weights fit the model, or ValueError."""
    int(saved["size"])
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    for loss, epoch, weights in saved["epochs"]:
        float(loss), int(epoch)
        if {k: getattr(v, "shape", None) for k, v in weights.items()} != shapes:
            raise ValueError(f"the weights kept from epoch {epoch} do not fit the model")


def _baseline(saved: dict[str, torch.Tensor], model: MultimodalNet,
              device: torch.device | str) -> dict[str, torch.Tensor]:
    """One embedding-sized row per modality, or ValueError."""
    size = model.aux_heads[model.modalities[0]].in_features  # the embedding size
    for m in model.modalities:
        if not isinstance(saved[m], torch.Tensor) or saved[m].numel() != size:
            raise ValueError(f"baseline embedding of {m} does not have {size} values")
    return {m: saved[m].reshape(1, -1).to(device) for m in model.modalities}


def _modalities(saved: object) -> tuple[str, ...]:
    """The modalities a model was trained with (files saved before absence: all three)."""
    if not isinstance(saved, list | tuple) or not saved or not set(saved) <= set(MODALITIES):
        raise ValueError(f"modalities {str(saved)[:80]} are not a subset of {MODALITIES}")
    return tuple(m for m in MODALITIES if m in saved)


def _require_keys(path: Path, payload: dict[str, Any], keys: tuple[str, ...], what: str
                  ) -> None:
    missing = [key for key in keys if key not in payload]
    if missing:
        found = ", ".join(sorted(map(str, payload))[:6]) or "nothing"
        raise _not_a(path, what, f"keys {', '.join(missing)} are missing (it has {found})")


def _not_a(path: Path, what: str, problem: str) -> CardiofusionError:
    return CardiofusionError(f"{path}: not a {what}: {problem}; retrain it with the train stage "
                             "(`dvc repro`)")


def _load_problem(exc: Exception) -> str:
    if isinstance(exc, EOFError):
        return "the file is empty or cut short"
    if isinstance(exc, pickle.UnpicklingError | IndexError | KeyError | UnicodeDecodeError):
        return "not a torch file, or one holding more than plain tensors and containers"
    return _first_line(exc)


def _first_line(exc: BaseException) -> str:
    """The first line of an error message, short: torch's can run to pages."""
    line = (str(exc).strip().splitlines() or [""])[0]
    return line[:200] if line else type(exc).__name__
