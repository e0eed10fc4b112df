"""What `make repro` prints last: the verdict, the figures and where to look."""

import json

from cardiofusion.reporting.next_steps import main


def test_the_verdict_and_where_to_look(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics/eval.json").write_text(json.dumps(
        {"verdict": "pass", "auroc": 0.91, "contributions": {"ecg": 30.0, "pcg": 35.0}}))
    assert main() == 0
    out = capsys.readouterr().out
    assert "Verdict: PASS" in out and "0.910" in out and "PCG 35.0 %" in out
    assert "plots/report.md" in out and "dvc plots show" in out


def test_without_an_evaluation_it_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main() == 1
    assert "did not reach evaluate" in capsys.readouterr().err
