"""params.yaml parsed into typed, validated objects.

Every stage reads its knobs from here, so a typo in params.yaml fails at once with the key's name
and the closest valid one instead of being ignored or failing deep inside a stage.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from cardiofusion.errors import ConfigError
from cardiofusion.params_file import parse_override_value, read_params_file
from cardiofusion.quoting import shown

MODALITIES = ("ecg", "pcg", "clinical")
MODALITY_LABELS = {"ecg": "ECG", "pcg": "PCG", "clinical": "Clinical"}  # for people to read


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PerModality(_Section):
    ecg: float = Field(ge=0)
    pcg: float = Field(ge=0)
    clinical: float = Field(ge=0)

    def as_dict(self) -> dict[str, float]:
        return {m: getattr(self, m) for m in MODALITIES}


class MissingRates(_Section):
    """Share of demo rows that lack each modality (an empty cell), as a clinic's records do."""

    ecg: float = Field(0.03, ge=0, le=0.5)
    pcg: float = Field(0.03, ge=0, le=0.5)
    clinical: float = Field(0.03, ge=0, le=0.5)

    def as_dict(self) -> dict[str, float]:
        return {m: getattr(self, m) for m in MODALITIES}


class DemoParams(_Section):
    out_dir: Path = Path("data/demo")
    patients: int = Field(1500, ge=10)
    abnormal_fraction: float = Field(0.909, gt=0, lt=1)  # healthy : abnormal about 1 : 10
    signal: PerModality = PerModality(ecg=1.0, pcg=1.0, clinical=1.0)
    pcg_seconds: tuple[float, float] = (8.0, 30.0)
    pcg_4khz_fraction: float = Field(0.2, ge=0, le=1)
    stereo_fraction: float = Field(0.15, ge=0, le=1)
    png_fraction: float = Field(0.5, ge=0, le=1)
    missing_fraction: float = Field(0.02, ge=0, le=0.5)
    missing: MissingRates = MissingRates()
    # how each ECG is stored: a printout image, or the signal it is drawn from as a WFDB record
    # (.hea + .dat) or an EDF file
    ecg_format: Literal["image", "wfdb", "edf"] = "image"
    n_jobs: int = Field(2, ge=1)


class SplitFractions(_Section):
    train: float = Field(0.7, gt=0, lt=1)
    val: float = Field(0.15, gt=0, lt=1)
    test: float = Field(0.15, gt=0, lt=1)

    @model_validator(mode="after")
    def _sums_to_one(self) -> SplitFractions:
        if abs(self.train + self.val + self.test - 1.0) > 1e-6:
            raise ValueError("data.split fractions must sum to 1")
        return self


class DataParams(_Section):
    csv: Path = Path("data/demo/metadata.csv")
    root: Path = Path("data/demo")
    id_column: str = "patient_id"
    group_column: str | None = None  # None: every row is its own patient
    # null leaves the modality out of the whole pipeline (a dataset without it)
    ecg_column: str | None = "ecg_path"
    pcg_column: str | None = "pcg_path"
    label_column: str = "output"
    clinical_columns: list[str] | Literal["auto"] = "auto"
    ignore_columns: list[str] = []
    path_rewrite: dict[str, str] = {}
    # other spellings of the label: `{normal: 0, abnormal: 1}`; or the one value meaning abnormal
    label_map: dict[str, Literal[0, 1]] = {}
    positive_label: str | None = None
    split: SplitFractions = SplitFractions()

    @field_validator("label_map", mode="before")
    @classmethod
    def _keys_as_text(cls, value: Any) -> Any:
        """YAML reads `{-1: 0, 1: 1}` with integer keys; labels are matched as CSV text."""
        return {str(k): v for k, v in value.items()} if isinstance(value, dict) else value

    @field_validator("positive_label", mode="before")
    @classmethod
    def _label_as_text(cls, value: Any) -> Any:
        return None if value is None else str(value)

    @property
    def modalities(self) -> tuple[str, ...]:
        """The modalities this dataset has, in the fixed order ECG, PCG, clinical."""
        named = {"ecg": self.ecg_column is not None, "pcg": self.pcg_column is not None,
                 "clinical": self.clinical_columns != []}
        return tuple(m for m in MODALITIES if named[m])

    @model_validator(mode="after")
    def _at_least_one_modality(self) -> DataParams:
        if not self.modalities:
            raise ValueError(
                "data.ecg_column and data.pcg_column are null and data.clinical_columns is "
                "empty: name at least one modality's column(s)"
            )
        return self

    @model_validator(mode="after")
    def _map_agrees_with_positive_label(self) -> DataParams:
        positive = self.positive_label
        if positive is not None and self.label_map and self.label_map.get(positive) != 1:
            raise ValueError(
                f"data.positive_label={positive!r} must map to 1 in data.label_map "
                f"(it maps to {self.label_map.get(positive)!r})"
            )
        return self


class ValidateParams(_Section):
    on_error: Literal["drop", "fail"] = "drop"
    # rows whose ECG or PCG is the same file: one group in the split, keep only the first, or refuse
    shared_files: Literal["group", "drop", "fail"] = "group"
    max_drop_fraction: float = Field(0.1, ge=0, le=1)
    min_pcg_seconds: float = Field(2.0, ge=0)
    min_image_px: int = Field(64, ge=1)
    min_ecg_seconds: float = Field(2.0, ge=0)  # shorter ECG signal records are rejected
    decode_sample: int = Field(32, ge=0)
    ranges: dict[str, tuple[float, float]] = {}


class PcgParams(_Section):
    sample_rate: int = Field(2000, ge=500)
    band_hz: tuple[float, float] = (25.0, 400.0)
    duration_s: float = Field(10.0, gt=0)
    crop: Literal["start", "center"] = "center"
    n_mels: int = Field(64, ge=8)
    n_fft: int = Field(256, ge=32)
    hop_length: int = Field(40, ge=1)

    @model_validator(mode="after")
    def _band_below_nyquist(self) -> PcgParams:
        low, high = self.band_hz
        if not 0 < low < high <= self.sample_rate / 2:
            raise ValueError("pcg.band_hz must satisfy 0 < low < high <= pcg.sample_rate / 2")
        return self


class EcgParams(_Section):
    # printout images
    height: int = Field(192, ge=16)
    width: int = Field(352, ge=16)
    remove_grid: bool = True
    # digital signals (WFDB, EDF)
    leads: list[str] | Literal["auto"] = "auto"  # auto: the ECG leads every record has
    signal_rate: int = Field(250, ge=50, le=2000)  # Hz, every record is resampled to this
    signal_band_hz: tuple[float, float] = (0.5, 40.0)  # baseline wander below, mains above
    signal_seconds: float = Field(10.0, gt=0)  # fixed window; shorter records are zero-padded
    signal_crop: Literal["start", "center"] = "center"
    # lead: each lead standardized alone (its shape); record: one scale for the whole record,
    # so the leads' amplitudes relative to each other (voltage, axis) reach the encoder
    signal_scale: Literal["lead", "record"] = "lead"

    @model_validator(mode="after")
    def _band_below_nyquist(self) -> EcgParams:
        low, high = self.signal_band_hz
        if not 0 < low < high < self.signal_rate / 2:
            raise ValueError("ecg.signal_band_hz must satisfy 0 < low < high < "
                             "ecg.signal_rate / 2")
        return self


class ClinicalParams(_Section):
    # the heart-disease table's categorical columns; `auto`: integer columns with at most
    # max_categories values
    categorical: list[str] | Literal["auto"] = ["cp", "restecg", "slp", "caa", "thall"]
    max_categories: int = Field(10, ge=2)


class FeaturizeParams(_Section):
    n_jobs: int = Field(2, ge=1)
    # per-file features reused across runs; outside the workspace so that `dvc exp run --queue`
    # and `--temp` workspaces (copies of the project) reuse them too
    cache_dir: Path = Path("~/.cache/cardiofusion/features")

    @property
    def cache_path(self) -> Path:
        """cache_dir with `~` and `$VARIABLES` expanded (relative: to the working folder)."""
        return Path(os.path.expandvars(self.cache_dir)).expanduser()


class ModelParams(_Section):
    ecg_channels: list[int] = [8, 16, 32, 64]
    # stride of an image encoder's first convolution (kernel stride + 1); 2 = like the others
    ecg_stem_stride: int = Field(4, ge=2, le=8)
    pcg_stem_stride: int = Field(4, ge=2, le=8)
    ecg_signal_channels: list[int] = [16, 32, 64, 64]  # 1-D encoder of ECG signals
    # one 1-D conv stack shared by every lead, their features joined in lead order; False:
    # the leads are the first convolution's channels
    ecg_signal_per_lead: bool = True
    pcg_channels: list[int] = [16, 32, 64, 64]
    clinical_hidden: list[int] = [64]
    embedding_dim: int = Field(64, ge=2)
    fusion_hidden: int = Field(64, ge=2)
    # mlp: one head over the joined embeddings | additive: one head per modality, logits summed
    fusion: Literal["mlp", "additive"] = "mlp"
    dropout: float = Field(0.2, ge=0, lt=1)
    channels_last: bool = True  # memory layout of the conv encoders; the same model, faster


DEFAULT_AUX_WEIGHT = 0.2  # the top-level aux_weight: main + aux_weight * sum of auxiliary losses


class TrainParams(_Section):
    batch_size: int = Field(16, ge=1)
    epochs: int = Field(60, ge=1)  # an upper bound: early stopping ends most runs
    lr: float = Field(5e-4, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    patience: int = Field(5, ge=0)  # 0 turns early stopping off
    # every learning rate x lr_decay after each lr_patience epochs without progress; 1 = constant
    lr_decay: float = Field(1.0, gt=0, le=1)
    lr_patience: int = Field(2, ge=1)
    # set from the top-level aux_weight (one place in params.yaml); left out of dumps
    aux_weight: float = Field(DEFAULT_AUX_WEIGHT, ge=0, exclude=True)
    lr_multipliers: PerModality = PerModality(ecg=1.0, pcg=2.0, clinical=0.5)
    sampler: Literal["weighted", "none"] = "weighted"
    balance: Literal["aux", "closed_loop", "mmpareto", "ogm_ge", "none"] = "closed_loop"
    ogm_alpha: float = Field(0.3, gt=0)  # strength of the OGM-GE modulation
    balance_rate: float = Field(0.5, gt=0)  # closed_loop: step of the controller per epoch
    max_modality_dropout: float = Field(0.8, ge=0, lt=1)  # closed_loop: fusion dropout cap
    min_signal_auroc: float = Field(0.55, ge=0.5, le=1)  # closed_loop: never push below this
    # closed_loop reads its shares on val, or on val plus the reference train patients
    balance_shares_on: Literal["val", "val_and_train"] = "val_and_train"
    balance_margin: float = Field(4.0, ge=0, le=10)  # closed_loop: keep epochs this far inside
    # closed_loop pushes every share toward the even share, or (band) only shares outside the
    # target band back to its edge, leaving a stronger modality its lead within the criteria
    balance_target: Literal["even", "band"] = "even"
    # the saved model averages the weights of up to this many of the best (in-band) epochs,
    # each kept only if it lowers the validation loss (greedy soup); 1 = the best epoch alone
    average_best: int = Field(5, ge=1, le=20)
    augment: bool = True
    modality_dropout: float = Field(0.0, ge=0, lt=1)
    label_smoothing: float = Field(0.1, ge=0, lt=1)  # targets eps/2 and 1 - eps/2
    # autocast dtype: auto = bf16 where the hardware runs it natively, else fp32; fp16: CUDA only
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "fp32"

    @model_validator(mode="after")
    def _aux_needs_weight(self) -> TrainParams:
        if self.balance in ("aux", "closed_loop", "ogm_ge") and self.aux_weight == 0:
            raise ValueError(
                f"train.balance={self.balance} needs aux_weight > 0 (or set train.balance=none)"
            )
        return self


class ContributionParams(_Section):
    method: Literal["ablation", "shapley"] = "ablation"
    baseline: Literal["mean", "permute", "blank"] = "mean"
    baseline_samples: int = Field(256, ge=1)


class EvaluateParams(_Section):
    threshold: float = Field(0.5, gt=0, lt=1)
    calibrate: bool = True  # prior correction, then temperature or Platt scaling on validation
    bootstrap_samples: int = Field(1000, ge=10)
    calibration_bins: int = Field(10, ge=2)
    swap_delta: float = Field(0.05, gt=0, lt=1)


class ServeParams(_Section):
    model: Path = Path("models/best_multimodal_model.pth")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(1, ge=1)  # uvicorn worker processes, each with its own model copy
    max_upload_mb: float = Field(20.0, gt=0)
    api_key_env: str = "CARDIOFUSION_API_KEY"  # when this variable is set, requests must send it
    concurrent_predictions: int = Field(2, ge=1)  # requests decoding at once; bounds memory
    uploads_in_flight: int = Field(8, ge=1)  # bodies being received at once; more get a 503
    read_timeout_s: float = Field(30.0, gt=0)  # a body that sends nothing this long: 408
    max_connections: int = Field(100, ge=1)  # open connections and requests; more get a 503


class CrossvalParams(_Section):
    folds: int = Field(0, ge=0)  # 0: off; k >= 2: grouped, stratified k-fold

    @model_validator(mode="after")
    def _off_or_at_least_two(self) -> CrossvalParams:
        if self.folds == 1:
            raise ValueError("crossval.folds must be 0 (off) or at least 2")
        return self


class CriteriaParams(_Section):
    share_range: tuple[float, float] = (20.0, 40.0)
    max_share: float = 60.0
    min_share: float = 10.0
    min_balanced_accuracy: float = Field(0.7, ge=0, le=1)


class ReportParams(_Section):
    replaced_shares: PerModality = PerModality(ecg=0.0, pcg=0.2, clinical=99.8)
    compare_with: Path | None = None  # a saved reports/evaluation.json of another run
    compare_label: str = "naive training"


class Params(_Section):
    seed: int = 42
    # at the top level, so `dvc exp run -S aux_weight=0.5` works as written; training reads it
    # as train.aux_weight
    aux_weight: float = Field(DEFAULT_AUX_WEIGHT, ge=0)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    demo: DemoParams = DemoParams()
    data: DataParams = DataParams()
    validate_: ValidateParams = Field(ValidateParams(), alias="validate")
    pcg: PcgParams = PcgParams()
    ecg: EcgParams = EcgParams()
    clinical: ClinicalParams = ClinicalParams()
    featurize: FeaturizeParams = FeaturizeParams()
    model: ModelParams = ModelParams()
    train: TrainParams = TrainParams()
    contributions: ContributionParams = ContributionParams()
    evaluate: EvaluateParams = EvaluateParams()
    crossval: CrossvalParams = CrossvalParams()
    criteria: CriteriaParams = CriteriaParams()
    report: ReportParams = ReportParams()
    serve: ServeParams = ServeParams()

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _aux_weight_into_train(cls, raw: Any) -> Any:
        """The one aux_weight of the params file, handed to the train section."""
        if not isinstance(raw, dict):
            return raw
        train = raw.get("train", {})
        if not isinstance(train, dict):
            return raw
        if "aux_weight" in train:
            raise ValueError("train.aux_weight is now the top-level aux_weight: write "
                             "`aux_weight: ...` at the top of params.yaml (or -S aux_weight=...)")
        return {**raw, "train": {**train, "aux_weight": raw.get("aux_weight", DEFAULT_AUX_WEIGHT)}}


MAX_LISTED_ERRORS = 20


def load_params(path: str | Path = "params.yaml", overrides: list[str] | None = None) -> Params:
    """Read params.yaml, apply `key.sub=value` overrides, and validate everything."""
    path = Path(path)
    raw = read_params_file(path) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    for override in overrides or []:
        _apply_override(raw, override)
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path)) from None


def _apply_override(raw: dict[str, Any], override: str) -> None:
    key, sep, value = override.partition("=")
    if not sep or not key:
        raise ConfigError(f"--set {shown(override)}: expected key=value, e.g. train.epochs=5")
    *parents, leaf = key.split(".")
    node = raw
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"--set {shown(override)}: {part} is not a section")
    node[leaf] = parse_override_value(value, override)


def _describe(exc: ValidationError, path: Path) -> str:
    lines = [f"{path}: invalid parameters"]
    errors = exc.errors()
    for error in errors[:MAX_LISTED_ERRORS]:
        loc = [str(part) for part in error["loc"]]
        key = ".".join(loc) or "(top level)"
        if error["type"] == "extra_forbidden":
            valid = _valid_keys(loc[:-1])
            close = difflib.get_close_matches(loc[-1], valid, n=1, cutoff=0.5)
            hint = f"; did you mean {'.'.join([*loc[:-1], close[0]])}?" if close else ""
            lines.append(f"  {key}: unknown key{hint} (valid here: {', '.join(sorted(valid))})")
        else:
            given = error.get("input")
            quoted = "" if isinstance(given, dict) else f" (got {shown(given)})"
            lines.append(f"  {key}: {error['msg']}{quoted}")
    if len(errors) > MAX_LISTED_ERRORS:
        lines.append(f"  and {len(errors) - MAX_LISTED_ERRORS} more")
    return "\n".join(lines)


def _valid_keys(loc: list[str]) -> list[str]:
    """Names accepted at `loc` in params.yaml (aliases, as a user writes them)."""
    model: Any = Params
    for part in loc:
        fields = {f.alias or name: f for name, f in model.model_fields.items()}
        field = fields.get(part)
        if field is None or not isinstance(field.annotation, type):
            return []
        model = field.annotation
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return []
    return [f.alias or name for name, f in model.model_fields.items()]
