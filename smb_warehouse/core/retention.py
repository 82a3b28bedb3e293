"""Retention: what every run leaves behind is bounded.

- published warehouses (for rollback): the newest ``SMB_KEEP_PUBLISHES`` (5) publishes (``Warehouse.prune_history``);
- candidates: at most one; deleted at publish, a failed run's is kept for inspection until the next claim;
- HTML reports (Evidently): the newest ``SMB_KEEP_REPORTS`` (10) files of each report kind;
- MLflow model versions and their files: per model the newest ``SMB_KEEP_MODEL_VERSIONS`` (10) versions, every
  version holding an alias, every version an alias points at in a kept publish, and the versions those name
  as their ``previous_champion`` (rollback targets); MLflow runs without a model version: the newest
  ``SMB_KEEP_MODEL_VERSIONS`` per experiment;
- Dagster run history: the newest ``SMB_KEEP_DAGSTER_RUNS`` (200) runs (``orchestration.publish``);
- dbt invocation folders (``target/<step>-<run>-<id>/``, one per dbt step of every run, about 6.5 MB each: manifest,
  compiled SQL, run results): the newest ``SMB_KEEP_DBT_TARGETS`` (10), so the last run's are there to read, and
  any written to in the last day (another data dir's run may be using one).

The publish step applies all of it after every successful publish. Deleting a model version deletes its
MLflow run and logged model and removes their files when they live in this project's local artifact store
(``$SMB_DATA_DIR/mlflow/artifacts``); a remote store is left to its own lifecycle rules.
"""
from __future__ import annotations

import os
import re
import shutil
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from smb_warehouse.core import paths, registry, tracking

KEEP_REPORTS_ENV, DEFAULT_KEEP_REPORTS = "SMB_KEEP_REPORTS", 10
KEEP_MODEL_VERSIONS_ENV, DEFAULT_KEEP_MODEL_VERSIONS = "SMB_KEEP_MODEL_VERSIONS", 10
KEEP_DBT_TARGETS_ENV, DEFAULT_KEEP_DBT_TARGETS = "SMB_KEEP_DBT_TARGETS", 10
DBT_TARGET_MIN_AGE_SECONDS = 86_400.0
_RUN_SUFFIX = re.compile(r"_[0-9a-f]{8}$")
# dagster-dbt's per-invocation target folder: "<op name>-<run id[:7]>-<uuid4[:7]>" (DbtCliResource._get_unique_target_path)
_DBT_INVOCATION_DIR = re.compile(r"^[A-Za-z_]\w*-[0-9a-f]{7}-[0-9a-f]{7}$")


def _keep(name: str, default: int) -> int:
    raw = os.environ.get(name, str(default)).strip()
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from None
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return value


def prune_reports(root: Path | None = None, keep: int | None = None) -> list[Path]:
    """Delete all but the newest ``keep`` (default ``SMB_KEEP_REPORTS``) HTML reports of each kind (the
    file name without its run-id suffix, per folder). Returns the deleted files."""
    root = root or paths.reports_dir()
    keep = keep or _keep(KEEP_REPORTS_ENV, DEFAULT_KEEP_REPORTS)
    groups: dict[tuple[Path, str], list[Path]] = defaultdict(list)
    for report in root.rglob("*.html") if root.exists() else []:
        groups[(report.parent, _RUN_SUFFIX.sub("", report.stem))].append(report)
    doomed = []
    for files in groups.values():
        files.sort(key=lambda p: p.stat().st_mtime, reverse=True)
        doomed += files[keep:]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


def _last_written(folder: Path) -> float | None:
    """Newest modification time of ``folder`` and its direct entries (dbt writes run/, compiled/ and the
    artifacts there as the step goes), or None when it is gone."""
    try:
        return max([folder.stat().st_mtime, *(entry.stat().st_mtime for entry in folder.iterdir())])
    except FileNotFoundError:
        return None


def prune_dbt_targets(target: Path | None = None, keep: int | None = None,
                      min_age_seconds: float = DBT_TARGET_MIN_AGE_SECONDS) -> list[Path]:
    """Delete the folders dagster-dbt creates under the dbt target folder (default ``<dbt project>/target``) for
    each dbt invocation, but the newest ``keep`` (default ``SMB_KEEP_DBT_TARGETS``) and any written to in the last
    ``min_age_seconds`` (default one day: the target folder is the project's, shared by every data dir, so another
    run's step may be writing into one right now). Other files and folders there (manifest.json,
    partial_parse.msgpack) are never touched. Returns the deleted folders."""
    target = target or paths.DBT_PROJECT_DIR / "target"
    keep = _keep(KEEP_DBT_TARGETS_ENV, DEFAULT_KEEP_DBT_TARGETS) if keep is None else keep
    written = {d: _last_written(d) for d in target.iterdir() if d.is_dir() and _DBT_INVOCATION_DIR.match(d.name)} \
        if target.exists() else {}
    folders = sorted((d for d, t in written.items() if t is not None), key=lambda d: written[d], reverse=True)
    cutoff = time.time() - min_age_seconds
    doomed = [d for d in folders[keep:] if written[d] < cutoff]
    for folder in doomed:
        shutil.rmtree(folder, ignore_errors=True)
    return doomed


@dataclass
class MlflowPruning:
    versions_deleted: list[tuple[str, str]] = field(default_factory=list)
    runs_deleted: list[str] = field(default_factory=list)
    bytes_freed: int = 0
    skipped: list[str] = field(default_factory=list)  # why something could not be deleted


def _local_dir(uri: str | None) -> Path | None:
    """The folder of a file: artifact URI when it lies inside this project's MLflow store, else None."""
    if not uri:
        return None
    parsed = urlparse(uri)
    if parsed.scheme not in ("", "file"):
        return None
    path = Path(unquote(parsed.path)).resolve()
    store = tracking.mlflow_dir().resolve()
    return path if store in path.parents else None


def _remove(folder: Path | None, result: MlflowPruning) -> None:
    """Delete a run's or logged model's folder (the parent of its ``artifacts`` folder)."""
    if folder is not None and folder.name == "artifacts":
        folder = folder.parent
    if folder is None or not folder.exists():
        return
    result.bytes_freed += sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    shutil.rmtree(folder, ignore_errors=True)


def protected_versions(kept_publishes: list[Path]) -> set[tuple[str, str]]:
    """(model, version) that an alias points at in any of the kept publishes' ml.model_registry."""
    out: set[tuple[str, str]] = set()
    for path in kept_publishes:
        record = registry.published_alias_record(path) or {}
        out |= {(model, version) for model, aliases in record.items() for version in aliases.values()}
    return out


def prune_mlflow(protected: set[tuple[str, str]] = frozenset(), keep: int | None = None) -> MlflowPruning:
    """Delete MLflow model versions (with their run, logged model and local files) and unregistered runs
    beyond the retention (module docstring). ``protected``: (model, version) never deleted. No MLflow store
    in use: nothing to do."""
    result = MlflowPruning()
    if not (os.environ.get("MLFLOW_TRACKING_URI") or (tracking.mlflow_dir() / "mlflow.db").exists()):
        return result
    keep = keep or _keep(KEEP_MODEL_VERSIONS_ENV, DEFAULT_KEEP_MODEL_VERSIONS)
    client = tracking.configure()
    registered_runs: set[str] = set()
    for model in client.search_registered_models(max_results=1000):
        versions = sorted(client.search_model_versions(f"name = '{model.name}'", max_results=10000),
                          key=lambda v: int(v.version), reverse=True)
        registered_runs |= {v.run_id for v in versions if v.run_id}
        aliased = {str(v) for v in (client.get_registered_model(model.name).aliases or {}).values()}
        safe = {str(v.version) for v in versions[:keep]} | aliased | {v for m, v in protected if m == model.name}
        by_version = {str(v.version): v for v in versions}
        for version in list(safe):  # rollback targets of what is kept
            previous = (by_version[version].tags or {}).get("previous_champion") if version in by_version else None
            if previous:
                safe.add(str(previous))
        for v in versions:
            if str(v.version) in safe:
                continue
            try:
                source = str(v.source or "")
                model_id = getattr(v, "model_id", None) or (source.removeprefix("models:/") if source.startswith("models:/m-")
                                                             else None)
                logged = client.get_logged_model(model_id) if model_id else None
                run = client.get_run(v.run_id) if v.run_id else None
                client.delete_model_version(model.name, v.version)
                if logged is not None:
                    client.delete_logged_model(model_id)
                    _remove(_local_dir(logged.artifact_location), result)
                if run is not None:
                    client.delete_run(run.info.run_id)
                    _remove(_local_dir(run.info.artifact_uri), result)
                    result.runs_deleted.append(run.info.run_id)
                result.versions_deleted.append((model.name, str(v.version)))
            except Exception as exc:  # one undeletable version must not stop the rest
                result.skipped.append(f"{model.name} v{v.version}: {exc}")
    for experiment in client.search_experiments():
        runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time DESC"], max_results=50000)
        loose = [r for r in runs if r.info.run_id not in registered_runs]
        for run in loose[keep:]:
            try:
                client.delete_run(run.info.run_id)
                _remove(_local_dir(run.info.artifact_uri), result)
                result.runs_deleted.append(run.info.run_id)
            except Exception as exc:
                result.skipped.append(f"run {run.info.run_id}: {exc}")
    return result
