"""The publish step of write-audit-publish, and the dbt docs site that documents what was published."""

import shutil
import tempfile
from pathlib import Path

import duckdb
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset
from dagster_dbt import DbtCliResource

from orchestration.dbt.assets import dbt_target, warehouse_dbt_models
from orchestration.ingestion.audit import AUDIT_KEY, QUARANTINE_KEY
from orchestration.lib.resources import WarehouseResource, reconcile_registry
from smb_warehouse.core import paths

DOCS_FILES = {"static_index.html": "index.html", "manifest.json": "manifest.json", "catalog.json": "catalog.json"}


def _generate_docs(dbt: DbtCliResource, candidate: Path, into: Path) -> None:
    """Build the dbt docs site from the candidate (the catalog reads table metadata from it) so the site
    describes exactly the warehouse about to be published. Written to a fresh folder, swapped in whole."""
    with tempfile.TemporaryDirectory(prefix="dbt-docs-") as target, dbt_target(candidate):
        dbt.cli(["docs", "generate", "--static"], target_path=Path(target), raise_on_error=True).wait()
        staging = into.with_name(into.name + ".new")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for source, name in DOCS_FILES.items():
            shutil.copyfile(Path(target) / source, staging / name)
    old = into.with_name(into.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if into.exists():
        into.rename(old)
    staging.rename(into)
    shutil.rmtree(old, ignore_errors=True)


def _table_counts(path: Path) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute(
            "SELECT table_schema, count(*) FROM information_schema.tables GROUP BY 1 ORDER BY 1"
        ).fetchall()
    finally:
        con.close()
    return dict(rows)


@asset(
    key=AssetKey(["published_warehouse"]),
    group_name="publish",
    kinds={"duckdb"},
    deps=[warehouse_dbt_models, AUDIT_KEY, QUARANTINE_KEY],
    description="The published warehouse. Replaced atomically by a compacted copy of this run's candidate only "
    "after every upstream step and blocking check succeeded; kept for rollback (publishes/); the BI copy "
    "(bi/warehouse.duckdb: public marts only) is rebuilt from it; the registry's model aliases are set from "
    "its ml.model_registry mirror.",
)
def published_warehouse(context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource) -> MaterializeResult:
    candidate = warehouse.ensure_candidate(context.run_id)
    candidate_bytes = candidate.stat().st_size
    docs = paths.docs_site_dir()
    _generate_docs(dbt, candidate, docs)
    published = warehouse.publish(context.run_id)
    aliases = reconcile_registry(warehouse.store, context.run_id)  # no-op unless an alias moved after the mirror
    counts = _table_counts(published)
    store = warehouse.store
    context.log.info(f"published {published} ({counts}); BI copy {store.bi_path}")
    return MaterializeResult(metadata={
        "path": MetadataValue.path(str(published)),
        "bi_copy": MetadataValue.path(str(store.bi_path)),
        "docs_site": MetadataValue.path(str(docs / "index.html")),
        "tables_by_schema": MetadataValue.json(counts),
        "bytes": published.stat().st_size,
        "candidate_bytes_before_compaction": candidate_bytes,
        "publishes_kept": len(store.history()),
        "registry_aliases_reset": MetadataValue.json(aliases),
    })
