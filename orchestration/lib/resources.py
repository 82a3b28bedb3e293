"""Dagster resources: thin wrappers that hand assets the domain code's objects."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster import ConfigurableResource

from smb_warehouse.core.warehouse import Warehouse


class WarehouseResource(ConfigurableResource):
    """The run's candidate and the published warehouse (``smb_warehouse.core.warehouse.Warehouse``) under
    ``warehouse_dir`` (default: $SMB_WAREHOUSE_DIR)."""

    warehouse_dir: str = ""

    @property
    def store(self) -> Warehouse:
        return Warehouse(self.warehouse_dir or None)

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

    def publish(self, run_id: str) -> Path:
        return self.store.publish(run_id)
