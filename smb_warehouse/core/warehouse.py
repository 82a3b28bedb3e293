"""The one seam through which Python touches the warehouse engine.

Write-audit-publish: every Dagster run writes into a *candidate* warehouse, a fresh copy of the last
published one taken when the run first touches it, under the writer lock (one writer at a time, whatever
started the run: ``smb_warehouse.core.writer_lock``). Only the publish asset, which runs after every
blocking check has passed, swaps a compacted copy of the candidate in as the published warehouse with one
atomic rename, keeps it for rollback (``publishes/``) and rebuilds the BI copy (public marts only). A
failed or killed run therefore never changes what BI tools and the dbt docs read; its candidate is left on
disk for inspection until the next run replaces it.

Inside a candidate, every table Python writes goes through ``write_tables`` (one transaction per logical
write, columns and types from the declaration in models/sources/), and every multi-statement write uses
``transaction``.

DuckDB is the embedded default. Moving to PostgreSQL or Spark means a different implementation of this
module (same methods), not changes in the assets.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from smb_warehouse.core import dbt_manifest, paths, python_tables
from smb_warehouse.core.python_tables import PythonTable
from smb_warehouse.core.sql import ident, lit
from smb_warehouse.core.writer_lock import WriterLock

MEMORY_LIMIT_ENV = "SMB_DUCKDB_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "4GB"


@lru_cache(maxsize=8)
def _checked_memory_limit(value: str) -> str:
    try:
        duckdb.connect(":memory:", config={"memory_limit": value}).close()
    except duckdb.Error as e:
        raise ValueError(f"{MEMORY_LIMIT_ENV} must be a size DuckDB reads, such as 4GB or 512MB, got {value!r}: "
                         f"{str(e).splitlines()[0]}") from None
    return value


def memory_limit() -> str:
    """DuckDB's ``memory_limit`` for the pipeline's own connections (``SMB_DUCKDB_MEMORY_LIMIT``, default 4GB, in
    DuckDB's size syntax: "4GB", "512MB", "4GiB"). dbt's connections have their own (``DBT_DUCKDB_MEMORY_LIMIT``
    in profiles.yml). Raises ``ValueError`` naming the variable for a value DuckDB refuses (DuckDB itself is asked,
    so both variables accept the same values)."""
    return _checked_memory_limit(os.environ.get(MEMORY_LIMIT_ENV, "").strip() or DEFAULT_MEMORY_LIMIT)


def open_duckdb(path: str | Path = ":memory:", read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection to the DuckDB file at ``path`` (default: a private in-memory database, for code that ATTACHes
    warehouse files) under ``memory_limit()``. Every pipeline connection to, or ATTACH of, a warehouse file goes
    through here (``tests/test_warehouse_seam.py`` looks for any other).

    Why a limit: DuckDB's default is 80% of the machine's RAM, and its buffer manager keeps pages up to it. At
    simulator scale 500 (21M order lines) the publish step's compacted copy of the 10 GB candidate took the run's
    process to 18.5 GB resident. Under a limit DuckDB spills instead (to ``<file>.tmp`` next to the file; for an
    in-memory database to ``<system temp>/smb_duckdb_spill``); an operator that cannot spill fails with
    ``duckdb.OutOfMemoryException`` (raise the limit).
    DuckDB shares one database instance per file within a process, and refuses a second connection to a file
    that is open with another configuration: in the same process, open a warehouse file here or not at all.
    Raises ``ValueError`` for a bad ``SMB_DUCKDB_MEMORY_LIMIT``, ``duckdb.IOException`` for a file it cannot open
    (or one another process holds for writing)."""
    spill = {"temp_directory": str(Path(tempfile.gettempdir()) / "smb_duckdb_spill")} if str(path) == ":memory:" else {}
    return duckdb.connect(str(path), read_only=read_only, config={"memory_limit": memory_limit(), **spill})


def connect_published(read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """The pipeline's own readers (review CLI, analyses, tests) open the published warehouse read-only. BI
    tools read the BI copy instead (``Warehouse.bi_path``): public marts only, and nothing they do to it
    can block a run."""
    path = paths.published_warehouse_path()
    if not path.exists():
        raise FileNotFoundError(f"no published warehouse at {path}: run `make demo` first")
    return open_duckdb(path, read_only=read_only)


KEEP_PUBLISHES_ENV = "SMB_KEEP_PUBLISHES"
DEFAULT_KEEP_PUBLISHES = 5
BI_INFO_TABLE = "meta.publish_info"


def keep_publishes() -> int:
    """How many publishes are kept for rollback (``SMB_KEEP_PUBLISHES``, default 5, at least 1)."""
    raw = os.environ.get(KEEP_PUBLISHES_ENV, str(DEFAULT_KEEP_PUBLISHES)).strip()
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{KEEP_PUBLISHES_ENV} must be a whole number, got {raw!r}") from None
    if value < 1:
        raise ValueError(f"{KEEP_PUBLISHES_ENV} must be at least 1, got {value}")
    return value


class NoEarlierPublish(RuntimeError):
    """Rollback asked for a publish the history does not hold."""


@dataclass(frozen=True)
class PublishEntry:
    """One kept publish: ``publishes/<UTC stamp>_<run id>.duckdb``, a hard link to the file that was
    published (no copy: a published file is never written again, only replaced)."""

    path: Path

    @property
    def publish_id(self) -> str:
        return self.path.stem

    @property
    def run_id(self) -> str:
        return self.path.stem.split("_", 1)[1]

    @property
    def published_at(self) -> str:
        stamp = self.path.stem.split("_", 1)[0]
        return datetime.strptime(stamp, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC).isoformat(timespec="seconds")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_comments(con: duckdb.DuckDBPyConnection, source_db: str, relations: set[str]) -> None:
    """Give the current database's copies of ``relations`` ("schema.name") the table/view and column
    comments (dbt ``persist_docs`` descriptions) they carry in the attached ``source_db``."""
    comments = con.execute(f"""
        SELECT schema_name, table_name, NULL, comment FROM duckdb_tables() WHERE database_name = {lit(source_db)}
        UNION ALL SELECT schema_name, view_name, NULL, comment FROM duckdb_views() WHERE database_name = {lit(source_db)}
        UNION ALL SELECT schema_name, table_name, column_name, comment FROM duckdb_columns()
                  WHERE database_name = {lit(source_db)}""").fetchall()
    for schema, name, column, text in comments:
        if text and f"{schema}.{name}" in relations:
            target = f"{ident(schema)}.{ident(name)}" + (f".{ident(column)}" if column else "")
            con.execute(f"COMMENT ON {'COLUMN' if column else 'TABLE'} {target} IS {lit(text)}")


COMPACT_CHECKPOINT_ROWS = 1_000_000


def compact_copy(source: Path, target: Path) -> None:
    """Write ``source`` (a DuckDB file, not open for writing elsewhere) into a NEW file ``target``: every schema,
    table, view, constraint, sequence and macro (``COPY FROM DATABASE ... (SCHEMA)``), then each table's rows
    (``INSERT ... SELECT``, in the source's order), with a checkpoint once ``COMPACT_CHECKPOINT_ROWS`` rows have
    been copied since the last one. Only live data.

    Why: DuckDB reuses the blocks that dropped or rewritten tables free, but never shrinks its file, so a
    candidate that dbt rebuilt grows run after run (94 -> 148 MB measured after one small incremental run).
    A fresh copy holds only the current data; it also drops the free blocks where deleted values (an erased
    person's) could otherwise linger.
    Why table by table: a primary key (dbt contracts declare one on every mart) is rebuilt as an in-memory index
    while its table is copied, and an index is only written out at a checkpoint. The one-statement
    ``COPY FROM DATABASE`` held every table's index at once and ran out of a 4GB limit at simulator scale 500
    (28.6M graph edges, 21.1M order lines, 17.8M customer-product-months); one table's copy then a checkpoint
    stays within it.
    Raises ``FileExistsError`` when ``target`` exists; ``duckdb.OutOfMemoryException`` when one table's index
    does not fit ``memory_limit()``.
    """
    if target.exists():
        raise FileExistsError(target)
    con = open_duckdb(target)
    try:
        con.execute(f"ATTACH {lit(str(source))} AS compact_source (READ_ONLY)")
        here = ident(con.execute("SELECT current_database()").fetchone()[0])
        con.execute(f"COPY FROM DATABASE compact_source TO {here} (SCHEMA)")
        tables = con.execute("SELECT schema_name, table_name, estimated_size FROM duckdb_tables() "
                             "WHERE database_name = 'compact_source' ORDER BY schema_name, table_name").fetchall()
        since_checkpoint = 0
        for schema, table, rows in tables:
            name = f"{ident(schema)}.{ident(table)}"
            con.execute(f"INSERT INTO {here}.{name} SELECT * FROM compact_source.{name}")
            since_checkpoint += rows or 0
            if since_checkpoint >= COMPACT_CHECKPOINT_ROWS:
                con.execute("CHECKPOINT")
                since_checkpoint = 0
        con.execute("DETACH compact_source")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    _fsync(target)


class Warehouse:
    """Candidate/published DuckDB files under one directory (default: $SMB_WAREHOUSE_DIR).

    ``<dir>/warehouse.duckdb``       the published warehouse (every schema; the pipeline reads it)
    ``<dir>/bi/warehouse.duckdb``    the BI copy: the public marts only, rebuilt at every publish
    ``<dir>/publishes/``             the last ``SMB_KEEP_PUBLISHES`` publishes, for rollback
    ``<dir>/candidate/warehouse.duckdb``  the running (or last failed) run's candidate
    ``<dir>/writer.lock``            the writer lock (``smb_warehouse.core.writer_lock``)

    Dagster reaches it through ``orchestration.lib.resources.WarehouseResource``; the API, the CLIs and
    the benchmarks use it directly, inside ``with warehouse.writer(run_id):``.
    """

    def __init__(self, warehouse_dir: str | Path | None = None,
                 on_claim: Callable[[Warehouse, str], None] | None = None):
        self.root = Path(warehouse_dir) if warehouse_dir else paths.warehouse_dir()
        self.lock = WriterLock(self.root)
        self._on_claim = on_claim

    @property
    def published_path(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def bi_path(self) -> Path:
        """The file BI tools open (read-only: ``duckdb -readonly <path>``, ``ATTACH '<path>' (READ_ONLY)``)."""
        return self.root / "bi" / "warehouse.duckdb"

    @property
    def history_dir(self) -> Path:
        return self.root / "publishes"

    @property
    def candidate_file(self) -> Path:
        """One fixed candidate path. Fixed on purpose: dbt's profile renders this path, and a path that
        changed every run would make dbt re-parse the whole project at every step (~10 s each). Named
        ``warehouse.duckdb`` (in ``candidate/``) like the published file, because DuckDB names a database
        after its file: dbt's manifest and docs and Dagster's relation metadata then say
        ``warehouse.marts.kpi_dso_dpo``, the name BI tools see in the published file, not ``candidate.…``."""
        return self.root / "candidate" / "warehouse.duckdb"

    @property
    def _owner_file(self) -> Path:
        return self.root / "candidate.run_id"

    def candidate_path(self, run_id: str) -> Path:
        """This run's candidate (the fixed file, once the run has claimed it)."""
        return self.candidate_file

    def _owner(self) -> str | None:
        return self._owner_file.read_text().strip() if self._owner_file.exists() else None

    # ------------------------------------------------------------------ one writer at a time
    @contextmanager
    def writer(self, run_id: str, wait: float | None = None) -> Iterator[Warehouse]:
        """Hold the writer lock for ``run_id`` during the block (entry points outside Dagster: erasure,
        rollback, the API). Raises ``WarehouseBusy`` when another run holds it after ``wait`` seconds."""
        already = self.lock.held_by() == run_id
        self.lock.acquire(run_id, wait)
        try:
            yield self
        finally:
            if not already:
                self.lock.release(run_id)

    def release(self, run_id: str) -> bool:
        """End ``run_id``'s hold on the warehouse (Dagster's resource teardown calls this at run end)."""
        return self.lock.release(run_id)

    def ensure_candidate(self, run_id: str) -> Path:
        """The run's candidate, created on first use as a copy of the published warehouse.

        The run first takes the writer lock (``WarehouseBusy`` if another run holds it), then repairs what
        a crashed run may have left half done (``recover``), then copies. A copy (not the published file
        itself) is what makes a failed run harmless. A candidate left by another (failed) run is replaced:
        it stays on disk for inspection only until the next run. The copy goes to a temporary name first so
        a crash mid-copy never looks like a candidate.
        """
        self.lock.acquire(run_id)
        candidate = self.candidate_file
        if candidate.exists() and self._owner() == run_id:
            return candidate
        candidate.parent.mkdir(parents=True, exist_ok=True)
        self.recover()
        if self._on_claim is not None:
            self._on_claim(self, run_id)
        for stale in (candidate, candidate.with_name(candidate.name + ".wal")):
            stale.unlink(missing_ok=True)
        partial = candidate.with_suffix(".partial")
        if self.published_path.exists():
            shutil.copyfile(self.published_path, partial)
        else:
            open_duckdb(partial).close()
        os.replace(partial, candidate)
        self._owner_file.write_text(run_id)
        return candidate

    @contextmanager
    def connect(self, run_id: str) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection to this run's candidate, closed on exit.

        Closing matters: DuckDB allows one writing process per file, and dbt runs in a subprocess.
        """
        con = open_duckdb(self.ensure_candidate(run_id))
        try:
            yield con
        finally:
            con.close()

    # ------------------------------------------------------------------ publish, history, BI copy
    def publish(self, run_id: str, bi_relations: Sequence[str] | None = None) -> Path:
        """Make this run's candidate the published warehouse, atomically; keep it for rollback; rebuild the
        BI copy.

        Steps, each safe to be killed after: checkpoint the candidate; write a compacted copy to
        ``warehouse.duckdb.partial`` (fsynced); build the BI copy from that copy into ``bi/….partial``
        (``bi_relations``, default: the manifest's public relations); ``rename`` the copy over
        ``warehouse.duckdb`` (the one atomic switch: before it the old publish stands, after it the new one);
        hard-link it into ``publishes/``; rename the BI copy into place; drop publishes beyond
        ``SMB_KEEP_PUBLISHES``; delete the candidate. Nothing here opens the published or BI file, so a
        reader holding either (even read-write) cannot block it. A run killed after the rename has
        published; ``recover()`` at the next claim completes the history link and the BI copy.

        Raises ``FileNotFoundError`` when ``run_id`` owns no candidate; needs the writer lock (taken at claim).
        """
        candidate = self.candidate_file
        if not candidate.exists() or self._owner() != run_id:
            raise FileNotFoundError(f"run {run_id} has no candidate warehouse to publish")
        self.lock.acquire(run_id)
        con = open_duckdb(candidate)
        try:
            con.execute("CHECKPOINT")  # fold the WAL into the file: the copy must carry everything
        finally:
            con.close()
        wal = candidate.with_name(candidate.name + ".wal")
        if wal.exists():
            raise RuntimeError(f"{wal} still exists after checkpoint; refusing to publish a partial file")
        entry = PublishEntry(self.history_dir / f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}_{run_id}.duckdb")
        partial = self._partial(self.published_path)
        partial.unlink(missing_ok=True)
        compact_copy(candidate, partial)
        bi_partial = self._build_bi(partial, entry, bi_relations)
        os.replace(partial, self.published_path)
        _fsync(self.root)
        self.history_dir.mkdir(parents=True, exist_ok=True)
        os.link(self.published_path, entry.path)
        _fsync(self.history_dir)
        os.replace(bi_partial, self.bi_path)
        self.prune_history()
        for leftover in (candidate, wal, self._owner_file):
            leftover.unlink(missing_ok=True)
        return self.published_path

    @staticmethod
    def _partial(path: Path) -> Path:
        return path.with_name(path.name + ".partial")

    def history(self) -> list[PublishEntry]:
        """Kept publishes, oldest first."""
        if not self.history_dir.exists():
            return []
        return [PublishEntry(p) for p in sorted(self.history_dir.glob("*_*.duckdb"))]

    def current_publish(self) -> PublishEntry | None:
        """The history entry that IS the published file (same inode), or None."""
        if not self.published_path.exists():
            return None
        inode = self.published_path.stat().st_ino
        return next((e for e in reversed(self.history()) if e.path.stat().st_ino == inode), None)

    def _record_history(self, run_id: str) -> PublishEntry | None:
        if not self.published_path.exists():
            return None
        current = self.current_publish()
        if current is not None:
            return current
        self.history_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        entry = self.history_dir / f"{stamp}_{run_id}.duckdb"
        os.link(self.published_path, entry)
        _fsync(self.history_dir)
        return PublishEntry(entry)

    def prune_history(self, keep: int | None = None) -> list[Path]:
        """Delete kept publishes beyond the newest ``keep`` (default ``keep_publishes()``); the published
        one is never deleted. Returns the deleted paths."""
        keep = keep_publishes() if keep is None else keep
        entries = self.history()
        current = self.current_publish()
        doomed = [e.path for e in entries[:-keep] if current is None or e.path != current.path] if len(entries) > keep else []
        for path in doomed:
            path.unlink(missing_ok=True)
        return doomed

    def purge_history_except_current(self) -> list[Path]:
        """Delete every kept publish but the published one (erasure: older publishes still hold the
        erased person's data, so they must not stay restorable). Returns the deleted paths."""
        current = self.current_publish()
        doomed = [e.path for e in self.history() if current is None or e.path != current.path]
        for path in doomed:
            path.unlink(missing_ok=True)
        return doomed

    def bi_publish_id(self) -> str | None:
        """The publish the BI copy was built from (its ``meta.publish_info``), or None."""
        if not self.bi_path.exists():
            return None
        try:
            con = open_duckdb(self.bi_path, read_only=True)
        except duckdb.Error:
            return None  # unreadable or locked by a BI user: it is rebuilt (renamed over), never opened for writing
        try:
            row = con.execute(f"SELECT publish_id FROM {BI_INFO_TABLE}").fetchone()
        except duckdb.Error:
            return None
        finally:
            con.close()
        return row[0] if row else None

    def refresh_bi(self, relations: Sequence[str] | None = None, force: bool = False) -> list[str]:
        """Rebuild the BI copy from the published warehouse when it is missing or was built from another
        publish (or always, with ``force``); ``publish`` builds it itself. Returns the relations copied.
        Opens the published file read-only (fails if someone holds it read-write)."""
        current = self.current_publish()
        if current is None or (not force and self.bi_publish_id() == current.publish_id):
            return []
        built = self._build_bi(current.path, current, relations)
        copied = self._bi_relations_in(built)
        os.replace(built, self.bi_path)
        return copied

    @staticmethod
    def _bi_relations_in(path: Path) -> list[str]:
        con = open_duckdb(path, read_only=True)
        try:
            return [f"{s}.{t}" for s, t in con.execute(
                "SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name <> 'meta' ORDER BY 1, 2").fetchall()]
        finally:
            con.close()

    def _build_bi(self, source: Path, entry: PublishEntry, relations: Sequence[str] | None) -> Path:
        """Write the BI copy of ``source`` to ``bi/warehouse.duckdb.partial`` and return that path.

        The BI copy holds only ``relations`` ("<schema>.<name>"; default ``dbt_manifest.public_relations()``,
        the models with ``access: public``: the marts) as plain tables, plus ``meta.publish_info`` (publish
        id, run id, publish time). No raw, staging, intermediate, entity-resolution or ML schema. It is renamed
        over ``bi/warehouse.duckdb``: a BI user holding the old file open, even read-write, neither blocks
        that nor sees a half-built file; they see the new one when they reconnect. Relations ``source`` does
        not have (a rollback to a publish older than a model) are left out and named in
        ``meta.publish_info.missing_relations``.
        """
        if relations is None:
            relations = dbt_manifest.public_relations()
        self.bi_path.parent.mkdir(parents=True, exist_ok=True)
        partial = self._partial(self.bi_path)
        partial.unlink(missing_ok=True)
        con = open_duckdb(partial)
        try:
            con.execute(f"ATTACH {lit(str(source))} AS published (READ_ONLY)")
            present = {f"{s}.{t}" for s, t in con.execute(
                "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'published' UNION ALL "
                "SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = 'published'").fetchall()}
            wanted = [(r, r.replace('"', "")) for r in relations]
            missing = sorted(plain for _, plain in wanted if plain not in present)
            copied = [r for r, plain in wanted if plain in present]
            with transaction(con):
                for relation in copied:
                    con.execute(f"CREATE SCHEMA IF NOT EXISTS {ident(relation.replace(chr(34), '').split('.')[0])}")
                    con.execute(f"CREATE TABLE {relation} AS SELECT * FROM published.{relation}")
                _copy_comments(con, "published", {plain for r, plain in wanted if r in copied})
                con.execute("CREATE SCHEMA IF NOT EXISTS meta")
                con.execute(f"CREATE TABLE {BI_INFO_TABLE} (publish_id VARCHAR, run_id VARCHAR, published_at VARCHAR, "
                            "relations INTEGER, missing_relations VARCHAR)")
                con.execute(f"INSERT INTO {BI_INFO_TABLE} VALUES (?, ?, ?, ?, ?)",
                            [entry.publish_id, entry.run_id, entry.published_at, len(copied), ", ".join(missing) or None])
            con.execute("DETACH published")
            con.execute("CHECKPOINT")
        finally:
            con.close()
        _fsync(partial)
        return partial

    def recover(self) -> None:
        """Finish or undo what a killed run left half done (called at every run's claim, under the lock):
        delete partial files, hard-link a published file the history misses, rebuild a stale BI copy,
        apply the history retention."""
        for partial in (self._partial(self.published_path), self._partial(self.bi_path)):
            partial.unlink(missing_ok=True)
        if self.published_path.exists():
            self._record_history("recovered")
            try:
                self.refresh_bi()
            except (duckdb.IOException, dbt_manifest.ManifestError) as exc:
                # the published file held read-write by someone, or no dbt manifest yet: the next publish rebuilds it
                warnings.warn(f"BI copy not refreshed from {self.published_path}: {exc}", stacklevel=2)
            self.prune_history()

    def rollback(self, run_id: str) -> tuple[PublishEntry, PublishEntry]:
        """Make the publish before the current one the published warehouse again (atomic rename of a hard
        link), and rebuild the BI copy from it. Takes the writer lock for ``run_id`` for the duration.
        Returns (from, to). Raises ``NoEarlierPublish`` when the history holds no earlier publish.

        The model aliases that go with it are restored by ``registry.reconcile_aliases`` (the CLI does both).
        """
        with self.writer(run_id):
            self.recover()
            entries = self.history()
            current = self.current_publish()
            if current is None:
                raise NoEarlierPublish(f"no published warehouse in {self.root} to roll back")
            index = [e.path for e in entries].index(current.path)
            if index == 0:
                raise NoEarlierPublish(f"{current.publish_id} is the oldest kept publish (keep more with {KEEP_PUBLISHES_ENV})")
            target = entries[index - 1]
            partial = self._partial(self.published_path)
            partial.unlink(missing_ok=True)
            os.link(target.path, partial)
            os.replace(partial, self.published_path)
            _fsync(self.root)
            self.refresh_bi(force=True)
            return current, target


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
