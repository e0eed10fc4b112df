"""Featurize stage: decode every file once into cached arrays that training reads fast.

Each file's features are kept in a content-addressed store (features/file_cache.py), so a re-run
decodes only files it has not seen with the current parameters: new rows, edited files, or one
modality whose parameters changed.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from multiprocessing import Pool
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from cardiofusion.config import EcgParams, Params, PcgParams
from cardiofusion.errors import CardiofusionError
from cardiofusion.features.clinical import ClinicalEncoder
from cardiofusion.features.dataset import FeatureSet
from cardiofusion.features.file_cache import FeatureStore, entry_key
from cardiofusion.features.patient import FeatureSpec, ecg_array, pcg_array
from cardiofusion.features.pcg import frame_count
from cardiofusion.inputs import InputLimits
from cardiofusion.paths import DEFAULT_PATHS, PipelinePaths

MANIFEST_COLUMNS = ("line", "patient_id", "group", "ecg_path", "pcg_path", "label", "split")


def run_featurize(params: Params, paths: PipelinePaths = DEFAULT_PATHS) -> FeatureSet:
    manifest = pd.read_csv(paths.manifest, dtype={"patient_id": str, "group": str})
    clinical_columns = [c for c in manifest.columns if c not in MANIFEST_COLUMNS]
    categorical = _categorical_columns(manifest, clinical_columns, params)
    unknown = sorted(set(categorical) - set(clinical_columns))
    if unknown:
        raise CardiofusionError(
            f"clinical.categorical names {unknown}, which are not clinical columns of the "
            f"manifest ({', '.join(clinical_columns)}); list your CSV's categorical columns "
            "there, or set clinical.categorical: auto"
        )
    ecg, pcg = _signal_features(manifest, params)
    train = manifest[manifest["split"] == "train"]
    encoder = ClinicalEncoder.fit(train, clinical_columns, categorical)
    features = FeatureSet(
        ecg=ecg["image"],
        pcg=pcg["spectrogram"],
        clinical=encoder.transform(manifest),
        index=manifest[["patient_id", "group", "label", "split"]].assign(
            pcg_padded=pcg["padded"]
        ),
        spec=FeatureSpec(pcg=params.pcg, ecg=params.ecg, clinical=encoder),
    )
    features.save(paths.features)
    print(
        f"🧮 Featurized {len(manifest)} patients: ECG {features.ecg.shape[1:]}, "
        f"PCG {features.pcg.shape[1:]}, clinical {features.clinical.shape[1]} features "
        f"({int(features.index['pcg_padded'].sum())} recordings shorter than "
        f"{params.pcg.duration_s:g} s were padded)"
    )
    return features


def _categorical_columns(
    manifest: pd.DataFrame, columns: list[str], params: Params
) -> list[str]:
    """Declared categorical columns, or (auto) integer-valued ones with few distinct values."""
    if params.clinical.categorical != "auto":
        return list(params.clinical.categorical)
    inferred = []
    for column in columns:
        values = manifest[column].dropna()
        few = values.nunique() <= params.clinical.max_categories
        if len(values) and few and (values == values.round()).all():
            inferred.append(column)
    print(f"   Categorical clinical columns (auto): {', '.join(inferred) or 'none'}")
    return inferred


@dataclass(frozen=True)
class _Modality:
    """How one kind of file becomes a store record: its layout and its decoder."""

    record: Callable[[Any], np.dtype]
    decode: Callable[[str, Any, InputLimits], np.ndarray]


@dataclass(frozen=True)
class _Stack:
    """A record's fields stacked over all patients, filled row by row from store or decoder."""

    fields: dict[str, np.ndarray]
    filled: np.ndarray  # bool per row

    @classmethod
    def empty(cls, record: np.dtype, rows: int) -> _Stack:
        fields = {
            name: np.empty((rows, *field.shape), field.base)
            for name, (field, _) in record.fields.items()
        }
        return cls(fields, np.zeros(rows, dtype=bool))

    def put(self, row: int, entry: np.ndarray) -> None:
        for name, stacked in self.fields.items():
            stacked[row] = entry[name]
        self.filled[row] = True


def _signal_features(
    manifest: pd.DataFrame, params: Params
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """ECG and PCG record fields for every row: stored ones loaded, the rest decoded."""
    store = FeatureStore(params.featurize.cache_path)
    store.prepare()
    n_jobs = params.featurize.n_jobs
    settings = {"ecg": (ECG, params.ecg), "pcg": (PCG, params.pcg)}
    paths = {kind: manifest[f"{kind}_path"].tolist() for kind in settings}
    digests = store.file_digests([*paths["ecg"], *paths["pcg"]], n_jobs)
    digests_of = {"ecg": digests[: len(manifest)], "pcg": digests[len(manifest) :]}
    keys, stacks = {}, {}
    for kind, (modality, values) in settings.items():
        record = modality.record(values)
        keys[kind] = [entry_key(digest, values) for digest in digests_of[kind]]
        stacks[kind] = _Stack.empty(record, len(manifest))
        _load_stored(store, kind, record, stacks[kind], keys[kind], n_jobs)
    missing = {
        (kind, keys[kind][row]): paths[kind][row]
        for kind in settings
        for row in np.flatnonzero(~stacks[kind].filled)
    }
    limits = InputLimits.from_params(params.validate_)  # validate's contract, held again here
    decoded = _decode(store, settings, missing, n_jobs, limits)
    for kind, stack in stacks.items():
        for row in np.flatnonzero(~stack.filled):
            stack.put(row, decoded[kind, keys[kind][row]])
    _report_reuse(store, missing, len(manifest))
    return stacks["ecg"].fields, stacks["pcg"].fields


def _report_reuse(store: FeatureStore, missing: dict[tuple[str, str], str], rows: int) -> None:
    decoded = {kind: sum(1 for missed, _ in missing if missed == kind) for kind in ("ecg", "pcg")}
    print(
        f"♻️  Feature cache {store.root}: decoded {decoded['ecg']} ECG and {decoded['pcg']} PCG "
        f"files, reused {rows - decoded['ecg']} and {rows - decoded['pcg']}"
    )


def _load_stored(
    store: FeatureStore, kind: str, record: np.dtype, stack: _Stack, keys: list[str], n_jobs: int
) -> None:
    """Fill the rows whose records are stored, in threads (file reads release the GIL), so
    stored records never travel between processes or sit in memory twice."""
    shares = [range(first, len(keys), n_jobs) for first in range(n_jobs)]
    load = partial(_load_rows, stack, store, kind, record, keys)
    with ThreadPoolExecutor(n_jobs) as threads:
        list(threads.map(load, shares))


def _load_rows(
    stack: _Stack, store: FeatureStore, kind: str, record: np.dtype, keys: list[str],
    rows: range,
) -> None:
    """One thread's share of the rows (one task per thread: a task per file costs more)."""
    for row in rows:
        entry = store.load(kind, keys[row], record)
        if entry is not None:
            stack.put(row, entry)


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
    with Pool(n_jobs, initializer=_one_blas_thread) as pool:
        records = list(tqdm(pool.imap(work, missing.items(), chunksize=chunk),
                            total=len(missing), desc="featurize", disable=None))
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


def _decode_pcg(path: str, params: PcgParams, limits: InputLimits) -> np.ndarray:
    entry = np.zeros((), _pcg_record(params))
    entry["spectrogram"], entry["padded"] = pcg_array(path, params, limits)
    return entry


ECG = _Modality(_ecg_record, _decode_ecg)
PCG = _Modality(_pcg_record, _decode_pcg)
