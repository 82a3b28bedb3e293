"""The one seam through which Python touches the warehouse engine.

Write-audit-publish: every Dagster run writes into its own *candidate* warehouse, a copy of the last
published one taken when the run first touches it. Only the publish asset, which runs after every
blocking check has passed, swaps the candidate in as the published warehouse with one atomic rename.
A failed run therefore never changes what BI tools and the dbt docs read; its candidate is left on
disk for inspection and pruned later.

DuckDB is the embedded default. Moving to PostgreSQL or Spark means a different implementation of this
module (same methods), not changes in the assets.
"""
from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb
from dagster import ConfigurableResource

from orchestration.lib import paths

KEEP_CANDIDATES = 3  # failed candidates kept for debugging; older ones are pruned at publish


def connect_published(read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """Readers (tests, BI, notebooks) open the published warehouse read-only."""
    path = paths.published_warehouse_path()
    if not path.exists():
        raise FileNotFoundError(f"no published warehouse at {path}: run `make demo` first")
    return duckdb.connect(str(path), read_only=read_only)


class WarehouseResource(ConfigurableResource):
    """Candidate/published DuckDB files under one directory (default: $SMB_WAREHOUSE_DIR)."""

    warehouse_dir: str = ""

    @property
    def root(self) -> Path:
        return Path(self.warehouse_dir) if self.warehouse_dir else paths.warehouse_dir()

    @property
    def published_path(self) -> Path:
        return self.root / "warehouse.duckdb"

    def candidate_path(self, run_id: str) -> Path:
        return self.root / "candidates" / f"{run_id}.duckdb"

    def ensure_candidate(self, run_id: str) -> Path:
        """The run's candidate, created on first use as a copy of the published warehouse.

        A copy (not the published file itself) is what makes a failed run harmless. The copy goes to
        a temporary name first so a crash mid-copy never leaves a half-file that looks like a candidate.
        """
        candidate = self.candidate_path(run_id)
        if candidate.exists():
            return candidate
        candidate.parent.mkdir(parents=True, exist_ok=True)
        if self.published_path.exists():
            partial = candidate.with_suffix(".partial")
            shutil.copyfile(self.published_path, partial)
            os.replace(partial, candidate)
        else:
            duckdb.connect(str(candidate)).close()
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
        candidate = self.candidate_path(run_id)
        if not candidate.exists():
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
        self.prune_candidates()
        return self.published_path

    def prune_candidates(self) -> None:
        folder = self.root / "candidates"
        if not folder.exists():
            return
        stale = sorted(folder.glob("*.duckdb*"), key=lambda p: p.stat().st_mtime, reverse=True)
        for path in stale[KEEP_CANDIDATES:]:
            path.unlink(missing_ok=True)
