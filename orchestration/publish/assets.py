"""The publish step of write-audit-publish, and the dbt docs site that documents what was published."""

import contextlib
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset
from dagster_dbt import DbtCliResource

from orchestration.dbt.assets import DBT_INPUTS, dbt_target, warehouse_dbt_models
from orchestration.ingestion.audit import AUDIT_KEY, QUARANTINE_KEY
from orchestration.lib import run_inputs
from orchestration.lib.dbt_translator import published_freshness_policy
from orchestration.lib.resources import WarehouseResource, reconcile_registry
from smb_warehouse.core import paths, retention
from smb_warehouse.core.warehouse import Warehouse, open_duckdb

KEEP_DAGSTER_RUNS_ENV, DEFAULT_KEEP_DAGSTER_RUNS = "SMB_KEEP_DAGSTER_RUNS", 200

DOCS_FILES = {"static_index.html": "index.html", "manifest.json": "manifest.json", "catalog.json": "catalog.json"}


DOCS_KEY_FILE = ".docs_key"


def docs_key(candidate: Path, project_dir: Path = paths.DBT_PROJECT_DIR) -> str:
    """What the dbt docs site is a function of, as one sha256 hex digest: the content of every file dbt reads in
    ``project_dir`` (``DBT_INPUTS``: models, macros, seeds, snapshots, analyses, data tests, dbt_project.yml,
    profiles.yml; by content, so a deploy that keeps modification times still counts), the installed dbt-core and
    dbt-duckdb versions, the candidate warehouse's catalog (every table and view with its comment and every column
    with its position, type and comment: exactly what dbt-duckdb's ``get_catalog`` reads, so row data is not part of
    it), and the ``DBT_*``/``SMB_*`` settings that are run inputs (``run_inputs.setting_entries``: not locations,
    secrets or serving settings), which include every setting a model reads with ``env_var``. Two publishes with
    equal keys generate the same site. Raises ``OSError`` when a project file cannot be read and ``duckdb.Error``
    when the candidate cannot be opened."""
    from importlib.metadata import version

    digest = hashlib.sha256(f"dbt-core {version('dbt-core')}\0dbt-duckdb {version('dbt-duckdb')}\n".encode())
    for entry in run_inputs.content_entries(project_dir, DBT_INPUTS):
        digest.update(entry.encode("utf-8", "surrogateescape") + b"\n")
    con = open_duckdb(candidate, read_only=True)
    try:
        for query in (
            "SELECT schema_name, table_name, 'table', comment FROM duckdb_tables() WHERE database_name = "
            "current_database() UNION ALL SELECT schema_name, view_name, 'view', comment FROM duckdb_views() "
            "WHERE database_name = current_database() AND NOT internal ORDER BY ALL",
            "SELECT schema_name, table_name, column_index, column_name, data_type, comment FROM duckdb_columns() "
            "WHERE database_name = current_database() AND NOT internal ORDER BY ALL",
        ):
            for row in con.execute(query).fetchall():
                digest.update(repr(row).encode())
    finally:
        con.close()
    for entry in run_inputs.setting_entries(dict(os.environ)):
        digest.update(entry.encode())
    return digest.hexdigest()


def _generate_docs(dbt: DbtCliResource, candidate: Path, into: Path) -> str:
    """Build the dbt docs site from the candidate (the catalog reads table metadata from it) so the site
    describes exactly the warehouse about to be published. Written to a fresh folder, swapped in whole.

    Skipped (the site kept as it is) when the site on disk was generated for an equal :func:`docs_key`:
    same project, same catalog, same settings. That saves a dbt start-up, a compile of every node and the
    catalog queries (about 10 s) on runs that only bring new rows. Returns "generated" or "unchanged"."""
    key = docs_key(candidate)
    stored = into / DOCS_KEY_FILE
    if stored.exists() and stored.read_text() == key and all((into / name).exists() for name in DOCS_FILES.values()):
        return "unchanged"
    with tempfile.TemporaryDirectory(prefix="dbt-docs-") as target, dbt_target(candidate):
        dbt.cli(["docs", "generate", "--static"], target_path=Path(target), raise_on_error=True).wait()
        staging = into.with_name(into.name + ".new")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for source, name in DOCS_FILES.items():
            shutil.copyfile(Path(target) / source, staging / name)
        (staging / DOCS_KEY_FILE).write_text(key)
    old = into.with_name(into.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if into.exists():
        into.rename(old)
    staging.rename(into)
    shutil.rmtree(old, ignore_errors=True)
    return "generated"


def _table_counts(path: Path) -> dict[str, int]:
    con = open_duckdb(path, read_only=True)
    try:
        rows = con.execute(
            "SELECT table_schema, count(*) FROM information_schema.tables GROUP BY 1 ORDER BY 1"
        ).fetchall()
    finally:
        con.close()
    return dict(rows)


def prune_dagster_runs(instance, current_run_id: str, keep: int | None = None) -> int:
    """Delete all but the newest ``keep`` (default ``SMB_KEEP_DAGSTER_RUNS``) runs from the Dagster instance
    (run record, event log and captured compute logs). Returns how many were deleted."""
    keep = keep or int(os.environ.get(KEEP_DAGSTER_RUNS_ENV, DEFAULT_KEEP_DAGSTER_RUNS))
    doomed = [r.run_id for r in instance.get_runs()[keep:] if r.run_id != current_run_id]
    for run_id in doomed:
        instance.delete_run(run_id)
        with contextlib.suppress(Exception):  # not every compute log manager can delete (or has logs for this run)
            instance.compute_log_manager.delete_logs(prefix=[run_id])
    return len(doomed)


def apply_retention(context: AssetExecutionContext, store: Warehouse) -> dict[str, int]:
    """Everything but the warehouse history (pruned by publish itself): reports, MLflow, Dagster runs
    (smb_warehouse/core/retention.py). A failure here is logged, never undoes or fails the publish."""
    done: dict[str, int] = {}
    try:
        done["reports_deleted"] = len(retention.prune_reports())
        done["dbt_target_folders_deleted"] = len(retention.prune_dbt_targets())
        kept = [e.path for e in store.history()]
        mlflow = retention.prune_mlflow(retention.protected_versions(kept))
        done["model_versions_deleted"] = len(mlflow.versions_deleted)
        done["mlflow_runs_deleted"] = len(mlflow.runs_deleted)
        done["mlflow_bytes_freed"] = mlflow.bytes_freed
        for reason in mlflow.skipped:
            context.log.warning(f"retention: {reason}")
        done["dagster_runs_deleted"] = prune_dagster_runs(context.instance, context.run_id)
    except Exception as exc:
        context.log.warning(f"retention failed (the publish stands): {exc}")
    return done


@asset(
    key=AssetKey(["published_warehouse"]),
    group_name="publish",
    kinds={"duckdb"},
    deps=[warehouse_dbt_models, AUDIT_KEY, QUARANTINE_KEY],
    freshness_policy=published_freshness_policy(),
    description="The published warehouse. Replaced atomically by a compacted copy of this run's candidate only "
    "after every upstream step and blocking check succeeded; kept for rollback (publishes/); the BI copy "
    "(bi/warehouse.duckdb: public marts only) is rebuilt from it; the registry's model aliases are set from "
    "its ml.model_registry mirror.",
)
def published_warehouse(context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource) -> MaterializeResult:
    candidate = warehouse.ensure_candidate(context.run_id)
    candidate_bytes = candidate.stat().st_size
    docs = paths.docs_site_dir()
    docs_state = _generate_docs(dbt, candidate, docs)
    fingerprint = context.run.tags.get(run_inputs.FINGERPRINT_TAG)
    with warehouse.connect(context.run_id) as con:  # what this run read travels with the file it publishes
        run_inputs.record(con, context.run_id, fingerprint)
    published = warehouse.publish(context.run_id)
    aliases = reconcile_registry(warehouse.store, context.run_id)  # no-op unless an alias moved after the mirror
    counts = _table_counts(published)
    store = warehouse.store
    pruned = apply_retention(context, store)
    context.log.info(f"published {published} ({counts}); BI copy {store.bi_path}")
    return MaterializeResult(metadata={
        "path": MetadataValue.path(str(published)),
        "bi_copy": MetadataValue.path(str(store.bi_path)),
        "docs_site": MetadataValue.path(str(docs / "index.html")),
        "docs_site_state": docs_state,
        "tables_by_schema": MetadataValue.json(counts),
        "bytes": published.stat().st_size,
        "candidate_bytes_before_compaction": candidate_bytes,
        "publishes_kept": len(store.history()),
        "registry_aliases_reset": MetadataValue.json(aliases),
        "retention": MetadataValue.json(pruned),
        "input_fingerprint": fingerprint or "none (a run started without one: the next make demo runs)",
    })
