"""Featurize stage: decode every file once into cached arrays that training reads fast.

Each file's features are kept in a content-addressed store (features/file_cache.py), so a re-run
decodes only files it has not seen with the current parameters: new rows, edited files, or one
modality whose parameters changed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from cardiofusion.config import MODALITY_LABELS, EcgParams, Params, PcgParams
from cardiofusion.errors import CardiofusionError
from cardiofusion.features.clinical import ClinicalEncoder
from cardiofusion.features.dataset import FeatureSet
from cardiofusion.features.ecg_signal import window_samples
from cardiofusion.features.file_cache import FeatureStore, entry_key
from cardiofusion.features.patient import FeatureSpec, ecg_array, pcg_array, signal_array
from cardiofusion.features.pcg import frame_count
from cardiofusion.inputs import InputLimits, is_signal_record
from cardiofusion.inputs.signals import LEAD_SEPARATOR, record_files
from cardiofusion.parallel import process_map
from cardiofusion.paths import DEFAULT_PATHS, PipelinePaths

MANIFEST_COLUMNS = ("line", "patient_id", "group", "ecg_path", "ecg_leads", "pcg_path", "label",
                    "split")
FILE_MODALITIES = ("ecg", "pcg")


def run_featurize(params: Params, paths: PipelinePaths = DEFAULT_PATHS) -> FeatureSet:
    manifest = read_manifest(paths.manifest)
    clinical_columns = [c for c in manifest.columns if c not in MANIFEST_COLUMNS]
    modalities = tuple(m for m in FILE_MODALITIES if f"{m}_path" in manifest)
    modalities += ("clinical",) if clinical_columns else ()
    present = {m: (manifest[f"{m}_path"] != "").to_numpy() for m in modalities if m != "clinical"}
    if clinical_columns:
        present["clinical"] = manifest[clinical_columns].notna().any(axis=1).to_numpy()
    categorical = _categorical_columns(manifest, clinical_columns, params)
    unknown = sorted(set(categorical) - set(clinical_columns))
    if unknown and params.clinical.categorical != "auto" and clinical_columns:
        raise CardiofusionError(
            f"clinical.categorical names {unknown}, which are not clinical columns of the "
            f"manifest ({', '.join(clinical_columns)}); list your CSV's categorical columns "
            "there, or set clinical.categorical: auto"
        )
    leads = _signal_leads(manifest)
    signals = _signal_features(manifest, params, present, leads)
    train = manifest[(manifest["split"] == "train").to_numpy() & present.get(
        "clinical", np.ones(len(manifest), dtype=bool))]
    encoder = ClinicalEncoder.fit(train, clinical_columns, categorical)
    arrays = {"ecg": next(iter(signals["ecg"].values()))} if "ecg" in signals else {}
    arrays |= {"pcg": signals["pcg"]["spectrogram"]} if "pcg" in signals else {}
    if clinical_columns:
        arrays["clinical"] = encoder.transform(manifest)
    padded = signals["pcg"]["padded"] if "pcg" in signals else np.zeros(len(manifest), bool)
    features = FeatureSet(
        arrays=arrays,
        index=manifest[["patient_id", "group", "label", "split"]].assign(
            pcg_padded=padded, **{f"has_{m}": present[m] for m in modalities}
        ),
        spec=FeatureSpec(pcg=params.pcg, ecg=params.ecg, clinical=encoder,
                         modalities=modalities, ecg_leads=tuple(leads)),
    )
    features.save(paths.features)
    print(f"🧮 Featurized {len(manifest)} patients: " + ", ".join(
        f"{MODALITY_LABELS[m]} {_shape(features.arrays[m])} ({int(present[m].sum())} have it)"
        for m in modalities))
    if "pcg" in modalities:
        print(f"   {int(padded.sum())} recordings shorter than {params.pcg.duration_s:g} s were "
              "padded")
    return features


def read_manifest(path: Path) -> pd.DataFrame:
    """The manifest with text kept as written: an empty cell is a missing value (or, in a path
    column, a patient without that file); a clinical column is numbers when every value is one,
    else text categories (`True`, `Female`, `NA` stay categories, never parsed as booleans or
    missing)."""
    manifest = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    for column in manifest.columns:
        if column in ("ecg_path", "pcg_path"):
            manifest[column] = manifest[column].fillna("")
        elif column in ("line", "label"):
            manifest[column] = manifest[column].astype(int)
        elif column not in MANIFEST_COLUMNS:
            numbers = pd.to_numeric(manifest[column], errors="coerce")
            if numbers.notna().sum() == manifest[column].notna().sum():
                manifest[column] = numbers
    return manifest


def _signal_leads(manifest: pd.DataFrame) -> list[str]:
    """The ECG leads validate chose for a dataset of signal records ([] for images)."""
    if "ecg_leads" not in manifest:
        return []
    return str(manifest["ecg_leads"].dropna().iloc[0]).split(LEAD_SEPARATOR)


def _shape(array: np.ndarray) -> str:
    shape = array.shape[1:]
    return f"{shape[0]} features" if len(shape) == 1 else "x".join(map(str, shape))


def _categorical_columns(
    manifest: pd.DataFrame, columns: list[str], params: Params
) -> list[str]:
    """Text columns always; then the declared categorical columns, or (auto) integer-valued
    ones with few distinct values."""
    text = [c for c in columns if not pd.api.types.is_numeric_dtype(manifest[c])]
    if params.clinical.categorical != "auto":
        declared = [c for c in params.clinical.categorical if c not in text]
        return [*text, *declared]
    inferred = []
    for column in columns:
        values = manifest[column].dropna()
        if column in text or not len(values):
            continue
        few = values.nunique() <= params.clinical.max_categories
        if few and (values == values.round()).all():
            inferred.append(column)
    print(f"   Categorical clinical columns (auto): {', '.join(text + inferred) or 'none'}")
    return [*text, *inferred]


@dataclass(frozen=True)
class _Modality:
    """How one kind of file becomes a store record: its layout, its decoder, and the params
    that name its entries (only those that change its output)."""

    record: Callable[[Any], np.dtype]
    decode: Callable[[str, Any, InputLimits], np.ndarray]
    key: Callable[[Any], BaseModel]


class _ImageKey(BaseModel):
    """The params an ECG image's features depend on, and the decoder's version: 3 computes
    version 1's pixels (luma floored) with Pillow's band operations; 2 rounded the luma."""

    height: int
    width: int
    remove_grid: bool
    decoder: int = 3


class _SignalKey(BaseModel):
    """The params an ECG signal's features depend on (the leads resolved)."""

    leads: list[str]
    signal_rate: int
    signal_band_hz: tuple[float, float]
    signal_seconds: float
    signal_crop: str
    signal_scale: str


def _content_digests(store: FeatureStore, paths: dict[str, list[str]], n_jobs: int
                     ) -> dict[str, list[str]]:
    """One digest per input: its file's, or, for a WFDB record, of its header and the signal
    files it names (editing a .dat changes the record). One pass over every file, so the
    store remembers every stamp."""
    files = {kind: [record_files(p) if is_signal_record(p) else [p] for p in kind_paths]
             for kind, kind_paths in paths.items()}
    flat = iter(store.file_digests([f for groups in files.values() for group in groups
                                    for f in group], n_jobs))
    digests: dict[str, list[str]] = {}
    for kind, groups in files.items():
        parts = [[next(flat) for _ in group] for group in groups]
        digests[kind] = [part[0] if len(part) == 1 else
                         hashlib.sha256("|".join(part).encode()).hexdigest() for part in parts]
    return digests


@dataclass(frozen=True)
class _Stack:
    """A record's fields stacked over all patients, filled row by row from store or decoder."""

    fields: dict[str, np.ndarray]
    filled: np.ndarray  # bool per row

    @classmethod
    def empty(cls, record: np.dtype, rows: int) -> _Stack:
        fields = {
            name: np.zeros((rows, *field.shape), field.base)
            for name, (field, _) in record.fields.items()
        }
        return cls(fields, np.zeros(rows, dtype=bool))

    def put(self, row: int, entry: np.ndarray) -> None:
        for name, stacked in self.fields.items():
            stacked[row] = entry[name]
        self.filled[row] = True


def _signal_features(
    manifest: pd.DataFrame, params: Params, present: dict[str, np.ndarray], leads: list[str]
) -> dict[str, dict[str, np.ndarray]]:
    """Record fields of every file modality for every row: stored ones loaded, the rest
    decoded; rows without the file stay zero (the model never reads them)."""
    store = FeatureStore(params.featurize.cache_path)
    store.prepare()
    n_jobs = params.featurize.n_jobs
    ecg = ((SIGNAL, params.ecg.model_copy(update={"leads": leads})) if leads
           else (ECG, params.ecg))
    settings = {kind: setting for kind, setting in {"ecg": ecg, "pcg": (PCG, params.pcg)}.items()
                if kind in present}
    rows = {kind: np.flatnonzero(present[kind]) for kind in settings}
    paths = {kind: manifest[f"{kind}_path"].to_numpy()[rows[kind]].tolist() for kind in settings}
    digests = _content_digests(store, paths, n_jobs)
    keys, stacks = {}, {}
    for kind, (modality, values) in settings.items():
        record = modality.record(values)
        keys[kind] = [entry_key(d, modality.key(values)) for d in digests[kind]]
        stacks[kind] = _Stack.empty(record, len(manifest))
        _load_stored(store, kind, record, stacks[kind], keys[kind], rows[kind], n_jobs)
    missing = {
        (kind, keys[kind][i]): paths[kind][i]
        for kind in settings
        for i in np.flatnonzero(~stacks[kind].filled[rows[kind]])
    }
    limits = InputLimits.from_params(params.validate_)  # validate's contract, held again here
    decoded = _decode(store, settings, missing, n_jobs, limits)
    for kind, stack in stacks.items():
        for i in np.flatnonzero(~stack.filled[rows[kind]]):
            stack.put(rows[kind][i], decoded[kind, keys[kind][i]])
    _report_reuse(store, missing, {kind: len(r) for kind, r in rows.items()})
    return {kind: stack.fields for kind, stack in stacks.items()}


def _report_reuse(store: FeatureStore, missing: dict[tuple[str, str], str],
                  files: dict[str, int]) -> None:
    decoded = {kind: sum(1 for missed, _ in missing if missed == kind) for kind in files}
    print(f"♻️  Feature cache {store.root}: " + "; ".join(
        f"{MODALITY_LABELS[kind]} decoded {decoded[kind]}, reused {n - decoded[kind]}"
        for kind, n in files.items()))


def _load_stored(
    store: FeatureStore, kind: str, record: np.dtype, stack: _Stack, keys: list[str],
    rows: np.ndarray, n_jobs: int,
) -> None:
    """Fill the rows whose records are stored, in threads (file reads release the GIL), so
    stored records never travel between processes or sit in memory twice. `keys[i]` is the
    key of row `rows[i]`."""
    shares = [range(first, len(keys), n_jobs) for first in range(n_jobs)]
    load = partial(_load_rows, stack, store, kind, record, keys, rows)
    with ThreadPoolExecutor(n_jobs) as threads:
        list(threads.map(load, shares))


def _load_rows(
    stack: _Stack, store: FeatureStore, kind: str, record: np.dtype, keys: list[str],
    rows: np.ndarray, share: range,
) -> None:
    """One thread's share of the files (one task per thread: a task per file costs more)."""
    for i in share:
        entry = store.load(kind, keys[i], record)
        if entry is not None:
            stack.put(rows[i], entry)


def _decode(
    store: FeatureStore,
    settings: dict[str, tuple[_Modality, BaseModel]],
    missing: dict[tuple[str, str], str],
    n_jobs: int,
    limits: InputLimits,
) -> dict[tuple[str, str], np.ndarray]:
    """Decode and store each missing (kind, key); a file named twice is decoded once."""
    if not missing:
        return {}
    work = partial(_decode_and_store, store=store, settings=settings, limits=limits)
    chunk = max(1, min(8, len(missing) // (4 * n_jobs)))  # few misses: spread them over workers
    decoded = process_map(work, missing.items(), n_jobs, chunk, initializer=_one_blas_thread)
    records = list(tqdm(decoded, total=len(missing), desc="featurize", disable=None))
    return dict(zip(missing, records, strict=True))


def _decode_and_store(
    item: tuple[tuple[str, str], str],
    store: FeatureStore,
    settings: dict[str, tuple[_Modality, BaseModel]],
    limits: InputLimits,
) -> np.ndarray:
    (kind, key), path = item
    modality, values = settings[kind]
    entry = modality.decode(path, values, limits)
    store.save(kind, key, entry)
    return entry


def _one_blas_thread() -> None:
    """The worker processes already fill the cores; BLAS threads on top of them (in the mel
    filterbank product) oversubscribe the cores and made featurize twice as slow."""
    threadpool_limits(limits=1)


def _ecg_record(params: EcgParams) -> np.dtype:
    return np.dtype([("image", np.uint8, (params.height, params.width))])


def _pcg_record(params: PcgParams) -> np.dtype:
    """float16 as in the FeatureSet: storing more precision than training reads is waste."""
    shape = (params.n_mels, frame_count(params))
    return np.dtype([("spectrogram", np.float16, shape), ("padded", np.bool_)])


def _decode_ecg(path: str, params: EcgParams, limits: InputLimits) -> np.ndarray:
    entry = np.zeros((), _ecg_record(params))
    entry["image"] = ecg_array(path, params, limits)
    return entry


def _signal_record(params: EcgParams) -> np.dtype:
    return np.dtype([("signal", np.float32, (len(params.leads), window_samples(params)))])


def _decode_signal(path: str, params: EcgParams, limits: InputLimits) -> np.ndarray:
    entry = np.zeros((), _signal_record(params))
    entry["signal"] = signal_array(path, params, list(params.leads), limits)
    return entry


def _decode_pcg(path: str, params: PcgParams, limits: InputLimits) -> np.ndarray:
    entry = np.zeros((), _pcg_record(params))
    entry["spectrogram"], entry["padded"] = pcg_array(path, params, limits)
    return entry


def _image_key(params: EcgParams) -> BaseModel:
    return _ImageKey(height=params.height, width=params.width, remove_grid=params.remove_grid)


def _signal_key(params: EcgParams) -> BaseModel:
    return _SignalKey.model_validate(params.model_dump(include=set(_SignalKey.model_fields)))


def _pcg_key(params: PcgParams) -> BaseModel:
    return params


ECG = _Modality(_ecg_record, _decode_ecg, _image_key)
SIGNAL = _Modality(_signal_record, _decode_signal, _signal_key)
PCG = _Modality(_pcg_record, _decode_pcg, _pcg_key)
