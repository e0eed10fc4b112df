"""dvc.yaml names every source file a stage runs, and every file location agrees with paths.py."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cardiofusion.paths import DEFAULT_PATHS

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"
# the module `cardiofusion <command>` runs for each DVC stage (cli.py imports it lazily)
STAGE_MODULES = {
    "demo_data": "cardiofusion.demo.generate",
    "validate": "cardiofusion.data.validate",
    "featurize": "cardiofusion.features.featurize",
    "train": "cardiofusion.training.train",
    "evaluate": "cardiofusion.evaluation.evaluate",
    "report": "cardiofusion.reporting.report",
}


def _file(module: str) -> Path | None:
    base = SRC / module.replace(".", "/")
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path) -> set[str]:
    """cardiofusion modules `path` imports anywhere (module level or inside functions), except
    under `if TYPE_CHECKING:`, which never runs."""
    found = set()
    todo = [ast.parse(path.read_text())]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            todo += node.orelse
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        todo += ast.iter_child_nodes(node)
    return {name for name in found if name.split(".")[0] == "cardiofusion" and _file(name)}


def _module_level_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return {name for name in names if name.startswith("cardiofusion") and _file(name)}


def stage_sources(stage: str) -> set[Path]:
    """Every source file that runs for `stage`: cli's module-level imports, the stage module
    and everything it imports, and the package __init__ files on the way."""
    cli = "cardiofusion.cli"
    todo = [STAGE_MODULES[stage], cli, *_module_level_imports(_file(cli))]
    seen: set[str] = set()
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        parts = module.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]  # parent packages
        if module != cli:
            todo += sorted(_imports(_file(module)))
    return {_file(module) for module in seen}


def _dvc() -> dict:
    return yaml.safe_load((REPO / "dvc.yaml").read_text())


@pytest.mark.parametrize("stage", STAGE_MODULES)
def test_every_source_a_stage_runs_is_a_declared_dependency(stage):
    deps = [REPO / dep for dep in _dvc()["stages"][stage]["deps"] if "${" not in dep]
    missing = [
        path.relative_to(REPO).as_posix() for path in stage_sources(stage)
        if not any(path == dep or dep in path.parents for dep in deps)
    ]
    assert not missing, f"dvc.yaml stage {stage} misses deps: {missing}"


def test_pipeline_paths_are_the_files_dvc_yaml_declares():
    declared = set()
    for stage in _dvc()["stages"].values():
        for section in ("deps", "outs", "metrics"):
            for entry in stage.get(section, []):
                declared.add(next(iter(entry)) if isinstance(entry, dict) else entry)
    locations = {
        name: getattr(DEFAULT_PATHS, name).as_posix() for name in dir(type(DEFAULT_PATHS))
        if isinstance(getattr(type(DEFAULT_PATHS), name), property) and name != "plot_data"
    }
    undeclared = {name: path for name, path in locations.items() if path not in declared}
    assert not undeclared, f"paths.py locations that dvc.yaml does not declare: {undeclared}"


STAGE_PACKAGES = ("demo", "data", "features", "training", "evaluation", "crossval", "reporting",
                  "serve")
# cross-validation reruns the train and evaluate stages per fold: it composes them by design
COMPOSES = {"crossval": ("training", "evaluation")}
# what a stage publishes for others: the featurized dataset and the single-patient path (used by
# model, train, evaluate and the API), and the evaluation's result type and criteria
PUBLISHED = ("cardiofusion.features.dataset", "cardiofusion.features.patient",
             "cardiofusion.features.ecg", "cardiofusion.features.pcg",
             "cardiofusion.features.clinical", "cardiofusion.features.file_cache",
             "cardiofusion.evaluation.result", "cardiofusion.evaluation.verdict")


def test_no_stage_imports_another_stage():
    crossings = []
    for path in sorted((SRC / "cardiofusion").rglob("*.py")):
        parts = path.relative_to(SRC / "cardiofusion").parts
        own = parts[0] if len(parts) > 1 else None
        if parts == ("cli.py",):  # the dispatcher: imports each stage lazily, by design
            continue
        for module in _imports(path):
            target = module.split(".")
            if (len(target) > 2 and target[1] in STAGE_PACKAGES and target[1] != own
                    and not module.startswith(PUBLISHED)
                    and target[1] not in COMPOSES.get(own or "", ())):
                crossings.append(f"{path.relative_to(SRC).as_posix()} imports {module}")
    assert not crossings


def test_the_report_stage_runs_without_torch():
    code = ("import sys, cardiofusion.reporting.report; "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
