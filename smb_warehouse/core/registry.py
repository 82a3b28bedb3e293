"""The model registry seam (MLflow, through smb_warehouse.core.tracking): log a training run, register its model as a
version, move the `champion` alias (promote / rollback), load models, and mirror the registry for the
warehouse. Generic over every registered model; forecasting is one user.

Models are only ever loaded from the registry (`models:/<name>@champion` or a version), never from a
file path: what scores is exactly what the gate let through.
"""
from __future__ import annotations

import json
import subprocess
import tempfile
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from smb_warehouse.core import tracking
from smb_warehouse.core.warehouse import Replace, open_duckdb, write_tables

CHAMPION = "champion"
PROJECT_ROOT = Path(__file__).resolve().parents[1]

# The mirror's two tables, declared in models/sources/_ml__sources.yml.
MIRROR_TABLES = ("ml.model_registry", "ml.model_registry_metrics")


def code_version() -> str:
    """Git sha of the working tree (suffixed -dirty when it has changes), else the package version."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                             timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT_ROOT,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return f"{sha[:12]}-dirty" if dirty else sha[:12]
    except (OSError, subprocess.SubprocessError):
        try:
            return f"smb-warehouse=={metadata.version('smb-warehouse')}"
        except metadata.PackageNotFoundError:
            return "unknown"


@dataclass
class TrainingRun:
    """What every training run records. `tags` become version tags too (searchable in the registry)."""

    model_name: str
    experiment: str
    model: Any                                   # picklable object with the model's methods
    params: dict[str, Any]
    metrics: dict[str, float]
    data_fingerprint: str
    training_window: tuple[str, str]
    features: list[str]
    tags: dict[str, str] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # logged as CSV artifacts (e.g. backtest)


def _python_model(model: Any):
    import mlflow.pyfunc

    class RegisteredModel(mlflow.pyfunc.PythonModel):
        """Pyfunc shell around the project object: `predict` for generic clients, `.model` for ours."""

        def __init__(self, inner: Any):
            self.model = inner

        def predict(self, context, model_input, params=None):
            return self.model.predict(model_input)

    return RegisteredModel(model)


def log_and_register(run: TrainingRun) -> tuple[str, str]:
    """Log params, metrics, fingerprint, window, features, code version and the model; register a new
    version (tag gate_status=candidate). Returns (version, run_id)."""
    client = tracking.configure()
    import mlflow
    import mlflow.pyfunc

    experiment_id = tracking.ensure_experiment(run.experiment)
    tags = {"data_fingerprint": run.data_fingerprint, "code_version": code_version(),
            "training_window_start": run.training_window[0], "training_window_end": run.training_window[1],
            **run.tags}
    with mlflow.start_run(experiment_id=experiment_id) as active:
        mlflow.log_params({k: (json.dumps(v) if isinstance(v, (list, dict, tuple)) else v) for k, v in run.params.items()})
        mlflow.log_param("features", json.dumps(run.features))
        mlflow.log_metrics({k: float(v) for k, v in run.metrics.items() if v == v})  # NaN-free
        mlflow.set_tags(tags)
        with tempfile.TemporaryDirectory() as tmp:
            for name, frame in run.tables.items():
                frame.to_csv(Path(tmp) / f"{name}.csv", index=False)
            (Path(tmp) / "features.json").write_text(json.dumps(run.features, indent=1))
            mlflow.log_artifacts(tmp, artifact_path="evaluation")
        info = mlflow.pyfunc.log_model(name="model", python_model=_python_model(run.model),
                                       pip_requirements=[], metadata={"features": run.features})
        run_id = active.info.run_id
    version = mlflow.register_model(info.model_uri, run.model_name, tags={**tags, "gate_status": "candidate"},
                                    await_registration_for=60)
    client.update_model_version(run.model_name, version.version, description=f"run {run_id}, data {run.data_fingerprint}")
    return str(version.version), run_id


def load(model_name: str, version: str | None = None, alias: str = CHAMPION) -> Any:
    """The project object behind a registered version (default: the champion)."""
    tracking.configure()
    import mlflow.pyfunc

    uri = f"models:/{model_name}/{version}" if version else f"models:/{model_name}@{alias}"
    return mlflow.pyfunc.load_model(uri).unwrap_python_model().model


def version_info(model_name: str, version: str | None = None, alias: str = CHAMPION):
    """ModelVersion for a version or alias; None when the model or alias does not exist."""
    from mlflow.exceptions import MlflowException

    client = tracking.configure()
    try:
        if version:
            return client.get_model_version(model_name, version)
        return client.get_model_version_by_alias(model_name, alias)
    except MlflowException:
        return None


def run_data(run_id: str):
    """(params, metrics) of a run."""
    data = tracking.configure().get_run(run_id).data
    return data.params, data.metrics


def promote(model_name: str, version: str) -> str | None:
    """Move `champion` to `version`; remember the version it replaced (for rollback). Returns that one."""
    client = tracking.configure()
    old = version_info(model_name)
    client.set_registered_model_alias(model_name, CHAMPION, version)
    client.set_model_version_tag(model_name, version, "gate_status", "promoted")
    client.set_model_version_tag(model_name, version, "promoted_at", datetime.now(UTC).isoformat())
    if old is not None and str(old.version) != str(version):
        client.set_model_version_tag(model_name, version, "previous_champion", str(old.version))
        return str(old.version)
    return None


def set_gate_status(model_name: str, version: str, status: str, reason: str = "") -> None:
    client = tracking.configure()
    client.set_model_version_tag(model_name, version, "gate_status", status)
    if reason:
        client.set_model_version_tag(model_name, version, "gate_reason", reason[:4000])


class NothingToRollBack(RuntimeError):
    """The model has no champion, or its champion replaced no earlier one."""


def rollback_target(model_name: str) -> tuple[str, str]:
    """(current champion, the version it replaced). Raises ``NothingToRollBack`` with a one-line reason."""
    current = version_info(model_name)
    if current is None:
        raise NothingToRollBack(f"{model_name} has no champion yet")
    previous = current.tags.get("previous_champion")
    if not previous:
        raise NothingToRollBack(f"{model_name} v{current.version} is the first champion (it replaced no earlier version)")
    return str(current.version), str(previous)


def rollback(model_name: str) -> tuple[str, str]:
    """Move `champion` back to the version it replaced. Returns (from_version, to_version). Raises
    ``NothingToRollBack`` when there is none."""
    client = tracking.configure()
    current, previous = rollback_target(model_name)
    client.set_registered_model_alias(model_name, CHAMPION, previous)
    client.set_model_version_tag(model_name, current, "gate_status", "rolled_back")
    client.set_model_version_tag(model_name, previous, "gate_status", "promoted")
    client.set_model_version_tag(model_name, previous, "restored_by_rollback_from", current)
    return current, previous


def set_alias(model_name: str, alias: str, version: str) -> None:
    """Point ``alias`` (e.g. challenger) of ``model_name`` at ``version``."""
    tracking.configure().set_registered_model_alias(model_name, alias, str(version))


def remove_alias(model_name: str, alias: str) -> None:
    """Delete ``alias`` of ``model_name`` (no error when it does not exist)."""
    from mlflow.exceptions import MlflowException

    with suppress(MlflowException):
        tracking.configure().delete_registered_model_alias(model_name, alias)


def tag_version(model_name: str, version: str, **tags: str) -> None:
    """Set tags on one registered version (values as text)."""
    client = tracking.configure()
    for key, value in tags.items():
        client.set_model_version_tag(model_name, str(version), key, str(value))


def _ts(millis: int | None) -> pd.Timestamp | None:
    return pd.Timestamp(millis, unit="ms") if millis else None


def write_mirror(con: duckdb.DuckDBPyConnection, versions: pd.DataFrame, metrics: pd.DataFrame) -> None:
    """Replace ml.model_registry and ml.model_registry_metrics with ``mirror_frames()`` (registry, metrics) in
    one transaction: the metrics never describe versions the registry table does not list."""
    registry_table, metrics_table = MIRROR_TABLES
    write_tables(con, [Replace(registry_table, versions), Replace(metrics_table, metrics)])


def mirror_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every version of every registered model, and the metrics of the run behind each (long format)."""
    client = tracking.configure()
    now = pd.Timestamp(datetime.now(UTC).replace(tzinfo=None))
    rows, metric_rows = [], []
    for registered in client.search_registered_models(max_results=1000):
        # Aliases from the registered model: search_model_versions does not fill ModelVersion.aliases.
        by_version: dict[str, list[str]] = {}
        for alias, version in (client.get_registered_model(registered.name).aliases or {}).items():
            by_version.setdefault(str(version), []).append(alias)
        for v in client.search_model_versions(f"name = '{registered.name}'", max_results=10000):
            tags = v.tags or {}
            aliases = sorted(by_version.get(str(v.version), []))
            experiment_id = None
            if v.run_id:
                run = client.get_run(v.run_id)
                experiment_id = run.info.experiment_id
                metric_rows += [{"model_name": v.name, "model_version": str(v.version), "metric_name": k,
                                 "metric_value": float(val), "mirrored_at": now} for k, val in run.data.metrics.items()]
            rows.append({
                "model_name": v.name, "model_version": str(v.version), "aliases": ",".join(aliases) or None,
                "is_champion": CHAMPION in aliases, "status": str(v.status), "gate_status": tags.get("gate_status"),
                "run_id": v.run_id, "experiment_id": experiment_id, "data_fingerprint": tags.get("data_fingerprint"),
                "code_version": tags.get("code_version"),
                "training_window_start": pd.to_datetime(tags.get("training_window_start")),
                "training_window_end": pd.to_datetime(tags.get("training_window_end")),
                "description": v.description, "created_at": _ts(v.creation_timestamp),
                "last_updated_at": _ts(v.last_updated_timestamp), "mirrored_at": now})
    registry = pd.DataFrame(rows, columns=["model_name", "model_version", "aliases", "is_champion", "status", "gate_status",
                                           "run_id", "experiment_id", "data_fingerprint", "code_version",
                                           "training_window_start", "training_window_end", "description", "created_at",
                                           "last_updated_at", "mirrored_at"])
    metrics = pd.DataFrame(metric_rows, columns=["model_name", "model_version", "metric_name", "metric_value", "mirrored_at"])
    return registry, metrics


# ---------------------------------------------------------------------------------------------------------
# Registry state published together with the warehouse.
#
# MLflow aliases live outside the warehouse file, so the atomic rename that publishes the warehouse cannot
# move them. The rule instead: the published warehouse's ml.model_registry mirror is the record of which
# version holds which alias. Every run, right after it takes the writer lock (before anything else), and the
# publish step, right after the rename, set the registry's aliases from that record. A run killed between
# promoting a model and publishing therefore leaves the alias pointing at an unpublished version only until
# the next run starts; a warehouse rollback takes the aliases back with it.

def published_alias_record(published: Path) -> dict[str, dict[str, str]] | None:
    """{model name: {alias: version}} as the published warehouse's ``ml.model_registry`` records it; {}
    when the file has no mirror (nothing about models was ever published); None when there is no
    published warehouse at all. Opens the file read-only."""
    if not Path(published).exists():
        return None
    con = open_duckdb(published, read_only=True)
    try:
        has_mirror = con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'ml' "
                                 "AND table_name = 'model_registry'").fetchone()[0]
        rows = con.execute("SELECT model_name, model_version, aliases FROM ml.model_registry WHERE aliases IS NOT NULL "
                           "AND aliases <> ''").fetchall() if has_mirror else []
    finally:
        con.close()
    record: dict[str, dict[str, str]] = {}
    for model, version, aliases in rows:
        for alias in str(aliases).split(","):
            if alias.strip():
                record.setdefault(model, {})[alias.strip()] = str(version)
    return record


def _registry_in_use() -> bool:
    """False for a fresh installation with no MLflow store: reconciling must not create one."""
    import os

    return bool(os.environ.get("MLFLOW_TRACKING_URI")) or (tracking.mlflow_dir() / "mlflow.db").exists()


def reconcile_aliases(published: Path) -> list[dict[str, str]]:
    """Set every registered model's aliases to what the published warehouse records (see above).

    For each model in the registry: an alias the record gives another version is moved there; an alias the
    record does not have is deleted (the version that lost it is tagged ``unpublished_alias_reverted``);
    a recorded alias missing from the registry is set. A model the record does not know keeps no alias
    (a first promotion that was never published). With no published warehouse, nothing is recorded and
    every alias is removed. A recorded version the registry no longer has is reported (``action`` =
    ``missing_version``), not invented. No MLflow store at all: nothing to do.

    Returns one dict per change: model, alias, action (set | removed | missing_version), from_version,
    to_version (versions as text, '' for none).
    """
    if not _registry_in_use():
        return []
    record = published_alias_record(published) or {}
    client = tracking.configure()
    changes: list[dict[str, str]] = []
    now = datetime.now(UTC).isoformat(timespec="seconds")
    for registered in client.search_registered_models(max_results=1000):
        name = registered.name
        actual = {alias: str(v) for alias, v in (client.get_registered_model(name).aliases or {}).items()}
        wanted = record.get(name, {})
        existing = {str(v.version) for v in client.search_model_versions(f"name = '{name}'", max_results=10000)}
        for alias, version in sorted(actual.items()):
            if alias not in wanted:
                client.delete_registered_model_alias(name, alias)
                client.set_model_version_tag(name, version, "unpublished_alias_reverted", f"{alias} at {now}")
                changes.append({"model": name, "alias": alias, "action": "removed", "from_version": version, "to_version": ""})
        for alias, version in sorted(wanted.items()):
            if actual.get(alias) == version:
                continue
            if version not in existing:
                changes.append({"model": name, "alias": alias, "action": "missing_version",
                                "from_version": actual.get(alias, ""), "to_version": version})
                continue
            client.set_registered_model_alias(name, alias, version)
            if actual.get(alias):
                client.set_model_version_tag(name, actual[alias], "unpublished_alias_reverted", f"{alias} at {now}")
            changes.append({"model": name, "alias": alias, "action": "set", "from_version": actual.get(alias, ""),
                            "to_version": version})
    return changes
