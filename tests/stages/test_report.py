"""Report stage: figures and `plots/report.md` from an evaluated tiny model."""

import json
import re
import shutil

import pytest
from PIL import Image

from cardiofusion.errors import CardiofusionError
from cardiofusion.evaluation.result import Evaluation
from cardiofusion.paths import PipelinePaths


@pytest.fixture(scope="module")
def reported(tiny_trained, tiny_params, tmp_path_factory):
    """The tiny trained directory, copied, evaluated and reported on."""
    from cardiofusion.evaluation.evaluate import run_evaluate
    from cardiofusion.reporting.report import run_report

    workdir = tmp_path_factory.mktemp("reported") / "project"
    shutil.copytree(tiny_trained, workdir)
    run_evaluate(tiny_params, PipelinePaths(workdir))
    run_report(tiny_params, PipelinePaths(workdir))
    return workdir


def test_report_writes_every_figure(reported):
    for name, width in (("training_history", 1400), ("evaluation", 1400), ("modalities", 1800)):
        with Image.open(reported / f"plots/{name}.png") as image:
            assert image.width >= width and image.height >= 600


def test_report_markdown_ties_verdict_checks_and_figures_together(reported):
    text = (reported / "plots/report.md").read_text()
    evaluation = json.loads((reported / "reports/evaluation.json").read_text())
    assert f"**Verdict: {evaluation['verdict'].upper()}**" in text
    for name in evaluation["checks"]:
        assert f"`{name}`" in text
    assert "| contributions ECG / PCG / Clinical | 0.0 / 0.2 / 99.8 % |" in text
    assert "FAIL (contribution checks)" in text  # the replaced system, judged by the criteria
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert sorted(links) == ["evaluation.png", "modalities.png", "robustness.png",
                             "training_history.png"]
    assert all((reported / "plots" / link).is_file() for link in links)


def test_report_adds_a_column_for_a_saved_evaluation(reported, tiny_params, tmp_path):
    from cardiofusion.reporting.report import run_report

    saved = tmp_path / "naive_eval.json"
    evaluation = json.loads((reported / "reports/evaluation.json").read_text())
    evaluation["auroc"] = 0.123
    saved.write_text(json.dumps(evaluation))
    params = tiny_params.model_copy(update={"report": tiny_params.report.model_copy(
        update={"compare_with": saved, "compare_label": "naive run"})})
    paths = PipelinePaths(reported)
    shutil.copy(paths.report, tmp_path / "report.md")
    try:
        run_report(params, paths)
        text = paths.report.read_text()
        assert "| | system we replace | naive run | this run |" in text
        assert "| AUROC | not reported | 0.123 |" in text

        saved.write_text(json.dumps({"verdict": "pass"}))
        with pytest.raises(CardiofusionError, match="report.compare_with"):
            run_report(params, paths)
    finally:
        shutil.copy(tmp_path / "report.md", paths.report)


def test_report_says_when_a_modality_has_no_signal_and_when_the_splits_disagree(
        reported, tiny_params):
    from cardiofusion.reporting.markdown import report_markdown

    evaluation = json.loads((reported / "reports/evaluation.json").read_text())
    for diagnostic in evaluation["unimodal"].values():
        diagnostic["label_signal"] = diagnostic["validation"]["label_signal"] = True
    ecg = evaluation["unimodal"]["ecg"]
    ecg["label_signal"] = False
    evaluation["exempt"] = {"ecg_share_in_30_60": "ecg carries no label signal on this data"}
    text = report_markdown(Evaluation.model_validate(evaluation), {"epoch": 1, "epochs_run": 2},
                           {}, tiny_params, {})
    assert "ECG carries no detectable label signal on this data" in text
    assert "The validation split disagrees for ECG" in text
    assert "| **no** (CI contains 0.5) |" in text
