"""ECG signal records through the pipeline: a WFDB and an EDF demo validate, featurize (through
the per-file cache), train the 1-D encoder and serve EDF and WFDB uploads."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch
from fastapi.testclient import TestClient

from cardiofusion.config import ModelParams, load_params
from cardiofusion.data.validate import run_validate
from cardiofusion.demo.generate import generate_demo
from cardiofusion.errors import CardiofusionError
from cardiofusion.evaluation.evaluate import run_evaluate
from cardiofusion.features.featurize import run_featurize
from cardiofusion.model.checkpoint import load_model
from cardiofusion.model.network import MultimodalNet
from cardiofusion.paths import PipelinePaths
from cardiofusion.serve import create_app
from cardiofusion.training.train import run_train

REPO = Path(__file__).resolve().parents[2]


def _params(out: Path, ecg_format: str, *extra: str):
    return load_params(REPO / "params.yaml", [
        f"demo.out_dir={out}", "demo.patients=50", "demo.abnormal_fraction=0.7",
        "demo.pcg_seconds=[4, 6]", "demo.n_jobs=1", f"demo.ecg_format={ecg_format}",
        f"data.csv={out}/metadata.csv", f"data.root={out}", "featurize.n_jobs=1",
        f"featurize.cache_dir={out}/cache", "train.epochs=2", "evaluate.bootstrap_samples=50",
        *extra])


@pytest.fixture(scope="module", params=["wfdb", "edf"])
def signal_run(request, tmp_path_factory):
    """A demo whose ECGs are WFDB (or EDF) records, validated, featurized, trained, evaluated."""
    out = tmp_path_factory.mktemp(request.param)
    params = _params(out, request.param)
    generate_demo(params.demo, params.seed)
    paths = PipelinePaths(out / "run")
    run_validate(params, paths)
    features = run_featurize(params, paths)
    run_train(params, paths=paths)
    return request.param, params, paths, features, run_evaluate(params, paths)


def test_the_demo_writes_real_records(signal_run):
    kind, params, *_ = signal_run
    table = pd.read_csv(params.data.csv, keep_default_na=False)
    suffix = ".hea" if kind == "wfdb" else ".edf"
    named = table["ecg_path"][table["ecg_path"] != ""]
    assert named.str.endswith(suffix).all()
    if kind == "wfdb":
        assert all((params.data.root / p).with_suffix(".dat").is_file() for p in named)


def test_signals_become_standardized_lead_arrays_and_the_model_a_1d_encoder(signal_run):
    _, params, paths, features, evaluation = signal_run
    assert features.spec.ecg_kind == "signal" and len(features.spec.ecg_leads) == 12
    assert features.arrays["ecg"].shape[1:] == (12, 2500)  # 10 s at 250 Hz
    assert features.arrays["ecg"].dtype.name == "float32"
    loaded = load_model(paths.retrained_model)
    assert loaded.model.ecg_signal and loaded.spec.ecg_leads == features.spec.ecg_leads
    assert type(loaded.model.encoders["ecg"]).__name__ == "SignalEncoder"
    assert sum(evaluation.contributions.used.as_dict().values()) == pytest.approx(100)
    manifest = pd.read_csv(paths.manifest, keep_default_na=False)
    assert set(manifest["ecg_leads"]) == {";".join(features.spec.ecg_leads)}


def test_a_second_featurize_decodes_nothing_and_an_edited_signal_file_is_decoded_again(
    signal_run, capsys
):
    kind, params, paths, features, _ = signal_run
    capsys.readouterr()
    run_featurize(params, paths)
    assert "ECG decoded 0," in capsys.readouterr().out
    if kind != "wfdb":
        return
    first = pd.read_csv(params.data.csv, keep_default_na=False)["ecg_path"].iloc[0]
    data = (params.data.root / first).with_suffix(".dat")
    raw = bytearray(data.read_bytes())
    raw[100:104] = bytes(4)
    data.write_bytes(bytes(raw))  # only the .dat changes, not the header
    run_featurize(params, paths)
    assert "ECG decoded 1," in capsys.readouterr().out


def test_a_column_mixing_images_and_records_is_refused_naming_rows(signal_run, tmp_path):
    _, params, *_ = signal_run
    table = pd.read_csv(params.data.csv, dtype=str, keep_default_na=False)
    table.loc[3, "ecg_path"] = "ecg/P0004.png"
    table.to_csv(tmp_path / "mixed.csv", index=False)
    mixed = params.model_copy(update={"data": params.data.model_copy(
        update={"csv": tmp_path / "mixed.csv"})})
    with pytest.raises(CardiofusionError, match=r"mixes ECG images \(e\.g\. lines 5\)"):
        run_validate(mixed, PipelinePaths(tmp_path / "out"))


def test_leads_can_be_chosen_and_a_record_lacking_one_is_a_row_problem(signal_run, tmp_path,
                                                                       capsys):
    _, params, *_ = signal_run
    chosen = params.model_copy(update={"ecg": params.ecg.model_copy(
        update={"leads": ["II", "X9"]}), "validate_": params.validate_.model_copy(
        update={"max_drop_fraction": 1.0})})
    with pytest.raises(CardiofusionError):  # every record lacks X9: nothing left to split
        run_validate(chosen, PipelinePaths(tmp_path / "out"))
    out = capsys.readouterr().out
    assert "ecg_lead_missing" in out and "lacks lead(s) X9 of ecg.leads" in out
    two = params.model_copy(update={"ecg": params.ecg.model_copy(update={"leads": ["V1", "II"]})})
    manifest = run_validate(two, PipelinePaths(tmp_path / "two"))
    assert set(manifest["ecg_leads"]) == {"V1;II"}


def test_the_api_predicts_from_an_uploaded_record(signal_run):
    kind, params, paths, *_ = signal_run
    row = pd.read_csv(params.data.csv, keep_default_na=False).iloc[0]
    record = params.data.root / row["ecg_path"]
    files = [("ecg_record", (record.name, record.read_bytes()))]
    if kind == "wfdb":
        data = record.with_suffix(".dat")
        files.append(("ecg_record", (data.name, data.read_bytes())))
    with TestClient(create_app(paths.retrained_model, params)) as client:
        answered = client.post("/predict/detailed", files=files, data={"age": "58"})
        assert answered.status_code == 200, answered.text
        assert answered.json()["modalities_used"] == ["ecg", "clinical"]
        image = client.post("/predict", files={"ecg_image": ("a.png", b"\x89PNG")},
                            data={"age": "58"})
        assert image.status_code == 422 and "send ecg_record" in image.text
        broken = client.post("/predict", files=[("ecg_record", (record.name, b"0" * 300))],
                             data={"age": "58"})
        assert broken.status_code in (415, 422), broken.text
        assert broken.json()["detail"][0]["field"] == "ecg_record"


def test_another_signal_scale_decodes_the_records_again_with_their_leads_relative_sizes(
    signal_run, tmp_path, capsys
):
    _, params, paths, features, _ = signal_run
    by_record = params.model_copy(update={"ecg": params.ecg.model_copy(
        update={"signal_scale": "record"})})
    other = PipelinePaths(tmp_path / "record")
    run_validate(by_record, other)
    capsys.readouterr()
    scaled = run_featurize(by_record, other)
    present = features.arrays["ecg"].std(axis=2).min(axis=1) > 0
    assert f"ECG decoded {present.sum()}," in capsys.readouterr().out
    lead_std = scaled.arrays["ecg"][present].std(axis=2)
    assert lead_std.max(axis=1).min() > 1.2 and lead_std.min(axis=1).max() < 0.8
    assert features.arrays["ecg"][present].std(axis=2) == pytest.approx(1, abs=1e-3)
    assert scaled.spec.ecg.signal_scale == "record"  # the model file's spec: serving scales alike



def test_a_model_saved_before_per_lead_encoders_loads_as_the_joint_encoder_it_was(
    signal_run, tmp_path
):
    _, _, paths, features, _ = signal_run
    payload = torch.load(paths.retrained_model, weights_only=False)
    saved = ModelParams.model_validate(payload["model_params"])
    assert saved.ecg_signal_per_lead  # the default: one conv stack for every lead
    leads = len(features.spec.ecg_leads)
    old = MultimodalNet(saved.model_copy(update={"ecg_signal_per_lead": False}),
                        int(payload["clinical_features"]), tuple(payload["modalities"]), leads)
    payload["state_dict"] = old.state_dict()
    del payload["model_params"]["ecg_signal_per_lead"]
    torch.save(payload, tmp_path / "old.pth")
    assert load_model(tmp_path / "old.pth").model.encoders["ecg"].net[1].in_channels == leads
