"""The model registry: versions and stages of the dvc.yaml artifact `cardiofusion`, kept by GTO
as git tags (`cardiofusion@v0.0.2`, `cardiofusion#prod#3`).

A version names a commit; the model file of that commit comes from DVC (its dvc.lock entry) and
its evaluation from the git-tracked `reports/evaluation.json`, so any registered version can be
served again later: rolling back is `gto assign` of an older version, then `serve --stage`.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from cardiofusion.errors import CardiofusionError
from cardiofusion.evaluation.result import EvaluationSummary
from cardiofusion.files import atomic_path
from cardiofusion.model.checkpoint import save_payload
from cardiofusion.paths import DEFAULT_PATHS
from cardiofusion.quoting import shown

ARTIFACT = "cardiofusion"  # the name under `artifacts:` in dvc.yaml
MODEL = DEFAULT_PATHS.retrained_model.as_posix()
EVALUATION = DEFAULT_PATHS.eval_details.as_posix()
CHECKOUTS = Path("models/registry")  # served copies of registered versions (git-ignored)
STAGE_NAME = re.compile(r"[a-zA-Z0-9]([a-zA-Z0-9/_-]*[a-zA-Z0-9])?")  # as GTO names stages


def _git(repo: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                              check=True)
    except FileNotFoundError:
        raise CardiofusionError("the model registry needs git on PATH") from None
    except subprocess.CalledProcessError as exc:
        raise CardiofusionError(f"git {' '.join(args)}: {exc.stderr.strip()}") from None
    return done.stdout


def head_commit(repo: Path, source: Path) -> str:
    """HEAD's commit, when it records exactly `source` (dvc.lock) and its evaluation.

    A version is a commit, so the files being registered must be the committed ones; otherwise
    the tag would point at another model than the one that passed the gate.
    """
    _git(repo, "rev-parse", "--git-dir")  # not a git repository -> a clear error
    commit = _git(repo, "rev-parse", "HEAD").strip()
    locked = _locked_md5(_git(repo, "show", f"{commit}:dvc.lock"))
    actual = hashlib.md5(source.read_bytes()).hexdigest()
    dirty = _git(repo, "status", "--porcelain", "--", "dvc.lock", EVALUATION).strip()
    if locked != actual or dirty:
        raise CardiofusionError(
            f"{source} and {EVALUATION} are not what HEAD records; commit the pipeline results "
            "first (`git add dvc.lock metrics reports plots dvclive && git commit`), then "
            "promote, so the registered version is this model"
        )
    return commit


def check_stage(stage: str) -> None:
    """A stage GTO can write as a tag, checked before anything is written."""
    if not STAGE_NAME.fullmatch(stage):
        raise CardiofusionError(
            f"stage {shown(stage)} is not a stage name the registry accepts: letters, digits "
            "and - _ / , starting and ending with a letter or digit (e.g. prod, staging)")


def register(repo: Path, commit: str, stage: str, message: str) -> str:
    """Register `commit` as the next version (if it is not one yet) and assign it `stage`."""
    from gto import api

    with _registry_errors():
        version = _version_at(repo, commit)
        if version is None:
            version = api.register(repo, ARTIFACT, commit, message=message).version
        current = api.find_versions_in_stage(repo, ARTIFACT, stage)
        if not current or current[0].version != version:  # type: ignore[index,union-attr]
            # force: a version that held the stage before (then superseded) may get it back
            api.assign(repo, ARTIFACT, stage, version=version, message=message, force=True)
    return version


@contextmanager
def _registry_errors() -> Iterator[None]:
    """GTO's refusals as one line with the fix; nothing has been written when they come."""
    from gto.exceptions import GTOException, TagExists

    try:
        yield
    except TagExists as exc:
        tag = str(exc).split("'")[1] if "'" in str(exc) else "?"
        raise CardiofusionError(
            f"the registry cannot write git tag {shown(tag)}: a tag of that name already exists "
            "(made by hand, or a lightweight tag GTO does not read). Inspect it with `git show "
            f"{tag}`, delete it with `git tag -d {tag}` if it is not a registration, then "
            "promote again; the served model was not changed") from None
    except GTOException as exc:
        raise CardiofusionError(f"the registry refused: {exc}; the served model was not "
                                "changed") from None


def model_at_stage(stage: str, repo: Path = Path(".")) -> Path:
    """A servable file of the version GTO assigns to `stage`: the model of that commit plus
    its evaluation's temperature and test metrics (as `promote` writes them)."""
    from gto import api
    from gto.exceptions import ArtifactNotFound

    try:
        found = api.find_versions_in_stage(repo, ARTIFACT, stage)
    except ArtifactNotFound:  # no version registered at all
        found = None
    if not found:
        raise CardiofusionError(f"no version of {ARTIFACT} is in stage {stage!r}; "
                                "`cardiofusion promote` assigns prod (`gto show` lists them)")
    entry = found[0] if isinstance(found, list) else found
    version, commit = entry.version, entry.commit_hexsha
    target = repo / CHECKOUTS / f"{ARTIFACT}@{version}.pth"
    if not target.is_file():
        from cardiofusion.serve.promote import promoted_payload

        summary = EvaluationSummary.model_validate(
            json.loads(_git(repo, "show", f"{commit}:{EVALUATION}")))
        scratch = _model_at(repo, commit)
        try:
            payload = promoted_payload(scratch, summary, [])
        finally:
            scratch.unlink()
        payload["info"] = {**payload["info"], "registry": {"version": version, "stage": stage,
                                                           "commit": commit}}
        save_payload(target, payload)
    print(f"📦 {ARTIFACT} {version} (stage {stage}, commit {commit[:7]}) -> {target}")
    return target


def _model_at(repo: Path, commit: str) -> Path:
    """The model file of `commit`, fetched by DVC from its cache (or remote)."""
    import dvc.api
    from dvc.exceptions import DvcException

    scratch = repo / CHECKOUTS / f".{commit}.pth"
    try:
        with dvc.api.open(MODEL, repo=str(repo), rev=commit, mode="rb") as source, \
                atomic_path(scratch) as tmp:
            tmp.write_bytes(source.read())
    except (DvcException, FileNotFoundError) as exc:
        raise CardiofusionError(
            f"the model of commit {commit[:7]} ({MODEL}) is not in this project's DVC cache "
            f"({type(exc).__name__}); fetch it with `dvc pull` (or `dvc push` it from the "
            "machine where it was trained), then serve again") from None
    return scratch


def _version_at(repo: Path, commit: str) -> str | None:
    from gto import api
    from gto.exceptions import ArtifactNotFound

    try:
        shown = api.show(repo, ARTIFACT, table=False)
    except ArtifactNotFound:  # nothing registered yet
        return None
    for artifact in shown:
        if artifact["commit_hexsha"] == commit and artifact.get("registrations"):
            return str(artifact["version"])
    return None


def _locked_md5(lock_text: str) -> str | None:
    lock = yaml.safe_load(lock_text) or {}
    for stage in lock.get("stages", {}).values():
        for out in stage.get("outs", []):
            if out.get("path") == MODEL:
                return out.get("md5")
    return None
