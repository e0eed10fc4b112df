"""Featurize stage: decode every file once into cached arrays that training reads fast."""

from __future__ import annotations

from functools import partial
from multiprocessing import Pool

import numpy as np
import pandas as pd
from tqdm import tqdm

from cardiofusion.config import EcgParams, Params, PcgParams
from cardiofusion.data.validate import MANIFEST_PATH
from cardiofusion.errors import CardiofusionError
from cardiofusion.features.cache import FEATURES_DIR, FeatureSet
from cardiofusion.features.clinical import ClinicalEncoder
from cardiofusion.features.patient import FeatureSpec, featurize_signals

MANIFEST_COLUMNS = ("line", "patient_id", "group", "ecg_path", "pcg_path", "label", "split")


def run_featurize(params: Params) -> FeatureSet:
    manifest = pd.read_csv(MANIFEST_PATH, dtype={"patient_id": str, "group": str})
    clinical_columns = [c for c in manifest.columns if c not in MANIFEST_COLUMNS]
    categorical = _categorical_columns(manifest, clinical_columns, params)
    unknown = sorted(set(categorical) - set(clinical_columns))
    if unknown:
        raise CardiofusionError(
            f"clinical.categorical names {unknown}, which are not clinical columns of the "
            f"manifest ({', '.join(clinical_columns)})"
        )
    pairs = list(zip(manifest["ecg_path"], manifest["pcg_path"], strict=True))
    work = partial(_featurize_pair, pcg=params.pcg, ecg=params.ecg)
    with Pool(params.featurize.n_jobs) as pool:
        decoded = list(
            tqdm(pool.imap(work, pairs, chunksize=8), total=len(pairs), desc="featurize",
                 disable=None)
        )
    train = manifest[manifest["split"] == "train"]
    encoder = ClinicalEncoder.fit(train, clinical_columns, categorical)
    features = FeatureSet(
        ecg=np.stack([image for image, _, _ in decoded]),
        pcg=np.stack([spectrogram for _, spectrogram, _ in decoded]).astype(np.float16),
        clinical=encoder.transform(manifest),
        index=manifest[["patient_id", "label", "split"]].assign(
            pcg_padded=[padded for _, _, padded in decoded]
        ),
        spec=FeatureSpec(pcg=params.pcg, ecg=params.ecg, clinical=encoder),
    )
    features.save(FEATURES_DIR)
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


def _featurize_pair(
    paths: tuple[str, str], pcg: PcgParams, ecg: EcgParams
) -> tuple[np.ndarray, np.ndarray, bool]:
    return featurize_signals(paths[0], paths[1], pcg, ecg)
