"""The validate stage on real-world material: the original project's messy metadata CSV, and
real PhysioNet recordings and ECG scans mixed with corrupted copies."""

import json
import shutil
import wave
from pathlib import Path

import pandas as pd
import pytest

from cardiofusion.cli import main


def _write_params(path: Path, **sections) -> Path:
    import yaml

    path.write_text(yaml.safe_dump(sections))
    return path


def test_real_metadata_csv_reports_every_known_problem(real_data, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    params = _write_params(
        tmp_path / "params.yaml",
        data={"csv": str(real_data / "multimodal_metadata_clean.csv"), "root": "files",
              "path_rewrite": {"C:/Users/msi/Desktop": "files"}},
        validate={"on_error": "fail"},
        clinical={"categorical": []},
    )
    assert main(["validate", "--params", str(params)]) == 1
    out, err = capsys.readouterr()
    assert "Validated 3784 rows: kept 0" in out
    assert "file_missing: 7568 in 3784 rows" in out  # every ECG and PCG file
    assert "files/Finalaudio/P001.wav: file not found" in out  # backslash normalized, rewritten
    assert "label_not_integral: 199 in 199 rows" in out
    assert "0.9615062761506277 is not 0 or 1 (never rounded)" in out
    assert "199 rows have missing clinical values" in out
    assert "only 319 distinct clinical vectors among 3585 complete rows" in out
    assert "column header '98.6' looks like a value" in out
    assert "label_pcg disagrees with the target in 2788 of 3585 rows" in out
    assert "label_pcg=0: target=0 138, target=1 2788" in out
    assert "label_ecg disagrees with the target in 990 of 3585 rows" in out
    assert "validation failed (validate.on_error: fail): 3784 of 3784 rows" in err
    assert "Traceback" not in err


def _corrupt_copies(real_data: Path, root: Path) -> dict[str, tuple[str, str]]:
    """Real files plus broken ones; returns {patient: (ecg, pcg)} relative to root."""
    (root / "ecg").mkdir(parents=True)
    (root / "pcg").mkdir()
    scans = sorted((real_data / "ecg").glob("*.jpg"))[:14]
    recordings = sorted((real_data / "pcg").glob("*.wav"))[:14]
    for source in [*scans, *recordings]:
        shutil.copy(source, root / source.parent.name / source.name)
    pairs = [(f"ecg/{s.name}", f"pcg/{r.name}") for s, r in zip(scans, recordings, strict=True)]
    rows = {f"R{i}": pair for i, pair in enumerate(pairs[:8])}
    spare = pairs[8:]  # real files for the bad rows' other modality
    whole = (root / rows["R0"][1]).read_bytes()
    (root / "pcg/truncated.wav").write_bytes(whole[: len(whole) // 2])
    (root / "ecg/empty.png").write_bytes(b"")
    (root / "ecg/text.jpg").write_text("patient notes, not a scan")
    (root / "pcg/notes.wav").write_text("not a recording")
    from PIL import Image

    Image.new("RGB", (40, 30), "white").save(root / "ecg/thumb.png")
    with wave.open(str(root / "pcg/short.wav"), "wb") as short:
        short.setnchannels(1), short.setsampwidth(2), short.setframerate(2000)
        short.writeframes(b"\x00\x00" * 1000)
    rows |= {"B1": ("ecg/empty.png", spare[0][1]), "B2": ("ecg/text.jpg", spare[1][1]),
             "B3": (spare[2][0], "pcg/truncated.wav"), "B4": (spare[3][0], "pcg/short.wav"),
             "B5": ("../outside.jpg", spare[4][1]), "B6": (spare[5][0], "pcg/absent.wav"),
             "B7": ("ecg/thumb.png", "pcg/notes.wav")}
    return rows


def test_real_files_validate_and_each_corrupt_copy_is_named(real_data, tmp_path, monkeypatch,
                                                            capsys):
    monkeypatch.chdir(tmp_path)
    rows = _corrupt_copies(real_data, tmp_path / "files")
    table = pd.DataFrame(
        [{"patient_id": pid, "ecg_path": ecg, "pcg_path": pcg, "age": 50 + i, "chol": 200 + i,
          "output": int(pid[1]) % 2 if pid.startswith("R") else 1}
         for i, (pid, (ecg, pcg)) in enumerate(rows.items())]
    )
    table.to_csv(tmp_path / "meta.csv", index=False)
    params = _write_params(
        tmp_path / "params.yaml",
        data={"csv": "meta.csv", "root": "files",
              "split": {"train": 0.5, "val": 0.25, "test": 0.25}},
        validate={"max_drop_fraction": 0.5, "decode_sample": 100},
        clinical={"categorical": []},
    )
    assert main(["validate", "--params", str(params)]) == 0
    out = capsys.readouterr().out
    files = tmp_path / "files"
    expected = {  # the path as written, the file it resolved to, and why
        "B1": f"'ecg/empty.png' -> {files}/ecg/empty.png: file is empty",
        "B2": f"'ecg/text.jpg' -> {files}/ecg/text.jpg: not a readable image",
        "B3": f"'pcg/truncated.wav' -> {files}/pcg/truncated.wav: WAV data chunk is",
        "B4": "short.wav: 0.50 s, below 2.0 s",
        "B5": f"'../outside.jpg' -> {tmp_path}/outside.jpg: leaves data.root ({files}) as written",
        "B6": f"'pcg/absent.wav' -> {files}/pcg/absent.wav: file not found",
        "B7": "thumb.png: 40x30 px, below 64 px",
    }
    for pid, message in expected.items():
        assert f"({pid})" in out and message in out, pid
    report = json.loads(Path("reports/validation.json").read_text())
    assert report["rows_kept"] == 8
    assert report["problems_by_reason"] == {
        "file_empty": 1, "image_unreadable": 1, "audio_truncated": 1, "audio_too_short": 1,
        "path_outside_root": 1, "file_missing": 1, "image_too_small": 1, "audio_unreadable": 1,
    }
    assert "notes.wav: not readable audio" in out


@pytest.mark.parametrize(("edit", "reason"), [
    ({"output": ""}, "label_missing"),
    ({"output": "yes"}, "label_not_numeric"),
    ({"output": "2"}, "label_out_of_range"),
    ({"age": "200"}, "clinical_out_of_range"),
])
def test_each_row_reason_is_reported(tiny_demo, tmp_path, monkeypatch, edit, reason):
    monkeypatch.chdir(tmp_path)
    table = pd.read_csv(tiny_demo, dtype=str, keep_default_na=False)
    for column, value in edit.items():
        table.loc[3, column] = value
    table.to_csv(tmp_path / "meta.csv", index=False)
    params = _write_params(
        tmp_path / "params.yaml",
        data={"csv": "meta.csv", "root": str(tiny_demo.parent)},
        validate={"ranges": {"age": [0, 120]}},
        clinical={"categorical": []},
    )
    assert main(["validate", "--params", str(params)]) == 0
    report = json.loads(Path("reports/validation.json").read_text())
    assert report["problems_by_reason"] == {reason: 1}
    assert report["rows_kept"] == 39


def test_shared_paths_are_grouped_and_constant_columns_reported(tiny_demo, tmp_path,
                                                                monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    table = pd.read_csv(tiny_demo, dtype=str, keep_default_na=False)
    table.loc[5, "pcg_path"] = table.loc[4, "pcg_path"].replace("/", "\\")
    table["fbs"] = "0"
    table.to_csv(tmp_path / "meta.csv", index=False)
    params = _write_params(tmp_path / "params.yaml",
                           data={"csv": "meta.csv", "root": str(tiny_demo.parent)})
    assert main(["validate", "--params", str(params)]) == 0
    out = capsys.readouterr().out
    assert "2 rows share a file with another row" in out
    manifest = pd.read_csv("data/validated/manifest.csv")
    assert manifest.loc[4, "group"] == manifest.loc[5, "group"]
    assert manifest.loc[4, "split"] == manifest.loc[5, "split"]
    assert "clinical column 'fbs' is constant" in out
