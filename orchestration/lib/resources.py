"""Dagster resources: thin wrappers that hand assets the domain code's objects."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster import AssetKey, ConfigurableResource, InitResourceContext, get_dagster_logger

from smb_warehouse.core import registry
from smb_warehouse.core.warehouse import Warehouse

PUBLISH_KEY = AssetKey(["published_warehouse"])
SCRATCH_TAG = "warehouse/publish"


def reconcile_registry(store: Warehouse, run_id: str) -> list[dict[str, str]]:
    """Set the MLflow aliases from what the published warehouse records (``registry.reconcile_aliases``);
    logs every change. Runs when a run claims its candidate (under the writer lock) and after publish."""
    changes = registry.reconcile_aliases(store.published_path)
    log = get_dagster_logger()
    for c in changes:
        log.warning(f"run {run_id}: registry alias {c['model']}@{c['alias']} {c['action']} "
                    f"(v{c['from_version'] or '-'} -> v{c['to_version'] or '-'}): the published warehouse records it so")
    return changes


class WarehouseResource(ConfigurableResource):
    """The run's candidate and the published warehouse (``smb_warehouse.core.warehouse.Warehouse``) under
    ``warehouse_dir`` (default: $SMB_WAREHOUSE_DIR).

    The run takes the warehouse's writer lock when it first claims its candidate (any entry point: CLI, UI,
    sensor, schedule) and gives it back when the run ends, whether it succeeded or failed
    (``teardown_after_execution``); if the process dies, the kernel releases it.
    """

    warehouse_dir: str = ""

    @property
    def store(self) -> Warehouse:
        return Warehouse(self.warehouse_dir or None, on_claim=reconcile_registry)

    @property
    def root(self) -> Path:
        return self.store.root

    @property
    def published_path(self) -> Path:
        return self.store.published_path

    @property
    def candidate_file(self) -> Path:
        return self.store.candidate_file

    def candidate_path(self, run_id: str) -> Path:
        return self.store.candidate_path(run_id)

    def ensure_candidate(self, run_id: str) -> Path:
        return self.store.ensure_candidate(run_id)

    @contextmanager
    def connect(self, run_id: str) -> Iterator[duckdb.DuckDBPyConnection]:
        with self.store.connect(run_id) as con:
            yield con

    def publish(self, run_id: str, bi_relations: Sequence[str] | None = None) -> Path:
        return self.store.publish(run_id, bi_relations)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """Label a scratch run: a run whose asset selection leaves out the publish (the UI's "Materialize" on a
        few assets) only changes the candidate, which the next run replaces; BI tools never see it. The run
        gets the tag ``warehouse/publish: scratch`` (shown in the UI's run list) and a warning saying so."""
        run = context.dagster_run
        if run is None or context.instance is None or run.asset_selection is None or PUBLISH_KEY in run.asset_selection:
            return
        context.instance.add_run_tags(run.run_id, {SCRATCH_TAG: "scratch"})
        context.log.warning(f"run {run.run_id} does not include published_warehouse: a scratch run. It changes only the "
                            "candidate warehouse; BI tools, the dbt docs and the API keep reading the last publish, and "
                            "the next run starts again from that publish. Add published_warehouse to publish.")

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        run_id = context.run_id
        if run_id:
            self.store.release(run_id)
