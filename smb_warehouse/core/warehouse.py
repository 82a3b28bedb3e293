"""The one seam through which Python touches the warehouse engine.

Write-audit-publish: every Dagster run writes into a *candidate* warehouse, a fresh copy of the last
published one taken when the run first touches it (one run at a time: dagster.yaml queues runs). Only the
publish asset, which runs after every blocking check has passed, swaps the candidate in as the published
warehouse with one atomic rename. A failed run therefore never changes what BI tools and the dbt docs read;
its candidate is left on disk for inspection until the next run replaces it.

Inside a candidate, every table Python writes goes through ``write_tables`` (one transaction per logical
write, columns and types from the declaration in models/sources/), and every multi-statement write uses
``transaction``.

DuckDB is the embedded default. Moving to PostgreSQL or Spark means a different implementation of this
module (same methods), not changes in the assets.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from smb_warehouse.core import paths, python_tables
from smb_warehouse.core.python_tables import PythonTable
from smb_warehouse.core.sql import ident


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


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """``BEGIN`` ... ``COMMIT``, or ``ROLLBACK`` and re-raise on any exception (also KeyboardInterrupt): the
    block's writes land together or not at all. A failed ROLLBACK (the engine already aborted the
    transaction) never hides the original error."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
        con.execute("COMMIT")
    except BaseException:
        with suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise


@dataclass(frozen=True)
class Replace:
    """Replace the whole table with ``frame`` (the table is re-created from its declaration)."""

    table: str | PythonTable   # "<schema>.<table>" as declared in models/sources/, or its declaration
    frame: pd.DataFrame


@dataclass(frozen=True)
class Append:
    """Append ``frame`` (the table is created from its declaration when missing). ``delete_where`` (SQL with
    ``?`` placeholders bound to ``params``) first removes the rows the new ones supersede, in the same
    transaction, so a re-run replaces its own rows instead of doubling them."""

    table: str | PythonTable
    frame: pd.DataFrame
    delete_where: str | None = None
    params: Sequence[Any] = ()


def _declaration(table: str | PythonTable) -> PythonTable:
    return table if isinstance(table, PythonTable) else python_tables.table(table)


def _check_frame(spec: PythonTable, frame: pd.DataFrame) -> None:
    missing = [c for c in spec.column_names if c not in frame.columns]
    if missing:
        raise ValueError(f"{spec.relation}: the frame lacks declared column(s) {', '.join(missing)} "
                         f"(declared in {spec.declared_in.relative_to(paths.PROJECT_ROOT)}; frame has "
                         f"{', '.join(map(str, frame.columns))})")


def _check_existing(con: duckdb.DuckDBPyConnection, spec: PythonTable) -> None:
    """An existing table appended to must have the declared columns and types, in order: an INSERT would
    otherwise fill an undeclared column with NULL, or a stale table would silently drop a new column."""
    found = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
        "ORDER BY ordinal_position", [spec.schema, spec.identifier]).fetchall()
    declared = [(c.name, c.sql_type) for c in spec.columns]
    if found and [(name, dtype.upper()) for name, dtype in found] != declared:
        raise RuntimeError(f"{spec.relation} exists with columns {found}, not as declared in "
                           f"{spec.declared_in.relative_to(paths.PROJECT_ROOT)}: {declared}; migrate or drop it")


def write_tables(con: duckdb.DuckDBPyConnection, writes: Sequence[Replace | Append]) -> None:
    """The one writer of Python-written tables: every write of one logical result in ONE transaction, so
    readers never see one table without the others (an entity map without its evidence, a forecast
    without its log entry).

    Each table's columns, types, NOT NULL and primary key come from its declaration in models/sources/
    (``smb_warehouse.core.python_tables``). Every frame needs at least the declared columns (any dtype
    DuckDB can cast: strings, numbers, bools, ``datetime64``, ``datetime.date`` objects, None/NaN/NaT as
    NULL); extra columns are ignored; values are cast to the declared types by name, in declared order.

    Raises ``ValueError`` naming the table and the columns a frame lacks (before anything is written),
    ``KeyError`` for an undeclared table, ``RuntimeError`` when a table appended to exists with other
    columns than declared, and DuckDB's error when a value breaks a type, NOT NULL or the primary key;
    on any error nothing of the whole call is written.
    """
    plans = [(w, _declaration(w.table)) for w in writes]
    for write, spec in plans:
        _check_frame(spec, write.frame)
    views: list[str] = []
    try:
        with transaction(con):
            for schema in dict.fromkeys(spec.schema for _, spec in plans):
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {ident(schema)}")
            for i, (write, spec) in enumerate(plans):
                if isinstance(write, Replace):
                    con.execute(f"CREATE OR REPLACE TABLE {spec.quoted_relation} ({spec.ddl()})")
                else:
                    _check_existing(con, spec)
                    con.execute(f"CREATE TABLE IF NOT EXISTS {spec.quoted_relation} ({spec.ddl()})")
                    if write.delete_where:
                        con.execute(f"DELETE FROM {spec.quoted_relation} WHERE {write.delete_where}", list(write.params))
                view = f"__write_{i}_{spec.schema}_{spec.identifier}"
                con.register(view, write.frame[spec.column_names])
                views.append(view)
                names = ", ".join(ident(c.name) for c in spec.columns)
                casts = ", ".join(f"CAST({ident(c.name)} AS {c.sql_type})" for c in spec.columns)
                con.execute(f"INSERT INTO {spec.quoted_relation} ({names}) SELECT {casts} FROM {ident(view)}")
    finally:
        for view in views:
            con.unregister(view)
