"""The one seam through which Python touches the warehouse engine.

Write-audit-publish: every Dagster run writes into a *candidate* warehouse, a fresh copy of the last
published one taken when the run first touches it (one run at a time: dagster.yaml queues runs). Only the publish asset, which runs after every
blocking check has passed, swaps the candidate in as the published warehouse with one atomic rename.
A failed run therefore never changes what BI tools and the dbt docs read; its candidate is left on
disk for inspection until the next run replaces it.

DuckDB is the embedded default. Moving to PostgreSQL or Spark means a different implementation of this
module (same methods), not changes in the assets.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd

from smb_warehouse.core import paths


def connect_published(read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """Readers (tests, BI, notebooks) open the published warehouse read-only."""
    path = paths.published_warehouse_path()
    if not path.exists():
        raise FileNotFoundError(f"no published warehouse at {path}: run `make demo` first")
    return duckdb.connect(str(path), read_only=read_only)


class Warehouse:
    """Candidate/published DuckDB files under one directory (default: $SMB_WAREHOUSE_DIR).

    Dagster reaches it through ``orchestration.lib.resources.WarehouseResource``; the API, the CLIs and
    the benchmarks use it directly.
    """

    def __init__(self, warehouse_dir: str | Path | None = None):
        self.root = Path(warehouse_dir) if warehouse_dir else paths.warehouse_dir()

    @property
    def published_path(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def candidate_file(self) -> Path:
        """One fixed candidate path. Fixed on purpose: dbt's profile renders this path, and a path that
        changed every run would make dbt re-parse the whole project at every step (~10 s each)."""
        return self.root / "candidate.duckdb"

    @property
    def _owner_file(self) -> Path:
        return self.root / "candidate.run_id"

    def candidate_path(self, run_id: str) -> Path:
        """This run's candidate (the fixed file, once the run has claimed it)."""
        return self.candidate_file

    def _owner(self) -> str | None:
        return self._owner_file.read_text().strip() if self._owner_file.exists() else None

    def ensure_candidate(self, run_id: str) -> Path:
        """The run's candidate, created on first use as a copy of the published warehouse.

        A copy (not the published file itself) is what makes a failed run harmless. A candidate left by
        another (failed) run is replaced: it stays on disk for inspection only until the next run. The
        copy goes to a temporary name first so a crash mid-copy never looks like a candidate.
        """
        candidate = self.candidate_file
        if candidate.exists() and self._owner() == run_id:
            return candidate
        self.root.mkdir(parents=True, exist_ok=True)
        for stale in (candidate, candidate.with_name(candidate.name + ".wal")):
            stale.unlink(missing_ok=True)
        partial = candidate.with_suffix(".partial")
        if self.published_path.exists():
            shutil.copyfile(self.published_path, partial)
        else:
            duckdb.connect(str(partial)).close()
        os.replace(partial, candidate)
        self._owner_file.write_text(run_id)
        return candidate

    @contextmanager
    def connect(self, run_id: str) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection to this run's candidate, closed on exit.

        Closing matters: DuckDB allows one writing process per file, and dbt runs in a subprocess.
        """
        con = duckdb.connect(str(self.ensure_candidate(run_id)))
        try:
            yield con
        finally:
            con.close()

    def publish(self, run_id: str) -> Path:
        """Atomically make this run's candidate the published warehouse."""
        candidate = self.candidate_file
        if not candidate.exists() or self._owner() != run_id:
            raise FileNotFoundError(f"run {run_id} has no candidate warehouse to publish")
        con = duckdb.connect(str(candidate))
        try:
            con.execute("CHECKPOINT")  # fold the WAL into the file: the rename must carry everything
        finally:
            con.close()
        wal = candidate.with_name(candidate.name + ".wal")
        if wal.exists():
            raise RuntimeError(f"{wal} still exists after checkpoint; refusing to publish a partial file")
        os.replace(candidate, self.published_path)
        self._owner_file.unlink(missing_ok=True)
        return self.published_path


def replace_tables(con: duckdb.DuckDBPyConnection, schema: str, frames: dict[str, pd.DataFrame],
                   ddl: dict[str, str], columns: dict[str, list[str]]) -> None:
    """Replace several Python-written tables in one transaction, so readers never see one without the
    others (an entity map without its evidence, scores without the decisions they used). Each table is
    created from its declared DDL (the contract dbt reads as a source), then filled from the frame."""
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        for name, frame in frames.items():
            view = f"__replace_{schema}_{name}"
            con.register(view, frame[columns[name]])
            con.execute(f"CREATE OR REPLACE TABLE {schema}.{name} ({ddl[name]})")
            con.execute(f"INSERT INTO {schema}.{name} SELECT * FROM {view}")
            con.unregister(view)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
