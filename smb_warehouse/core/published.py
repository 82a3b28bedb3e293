"""Read-only access to the published warehouse that never blocks the pipeline and follows each publish
(used by the API and the event consumer; `warehouse.connect_published` stays the simple one-off reader).

The pipeline writes a separate candidate file and publishes it by renaming it over
``$SMB_WAREHOUSE_DIR/warehouse.duckdb``. A reader that keeps the old file open keeps reading the old
warehouse (the rename does not touch an open file), so before each query the file's identity (device and
inode) is compared with the one open; when it changed, the new file is opened and later queries use it.

Why ``ATTACH`` into a private in-memory database instead of ``duckdb.connect(path)``: DuckDB keeps one
database instance per path and process, and ``duckdb.connect`` of a path whose instance is still open
returns a connection to that instance, i.e. to the OLD file after a rename. Each generation therefore
gets its own in-memory instance with the file attached ``READ_ONLY`` (a shared lock only; the pipeline
never writes this file, it replaces it). The previous generation is closed once no query uses it.

Every query runs on its own cursor (DuckDB connections are not shared between threads).
"""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from smb_warehouse.core import paths

ALIAS = "published"


class WarehouseUnavailable(RuntimeError):
    """No published warehouse yet (or it cannot be opened): the API answers 503 with this message."""


@dataclass
class _Generation:
    identity: tuple[int, int]
    con: duckdb.DuckDBPyConnection
    opened_at: datetime
    mtime: float
    users: int = 0
    retired: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


class PublishedWarehouse:
    """The published warehouse at ``path`` (default: ``paths.published_warehouse_path()`` at construction)."""

    def __init__(self, path: str | Path | None = None, threads: int = 2, memory_limit: str = "1GB"):
        self.path = Path(path) if path else paths.published_warehouse_path()
        self._threads, self._memory_limit = threads, memory_limit
        self._lock = threading.Lock()
        self._current: _Generation | None = None
        self.generations_opened = 0

    def _open(self, identity: tuple[int, int], mtime: float) -> _Generation:
        con = duckdb.connect(":memory:", config={"threads": self._threads, "memory_limit": self._memory_limit})
        try:
            con.execute(f"ATTACH '{str(self.path).replace(chr(39), chr(39) * 2)}' AS {ALIAS} (READ_ONLY)")
        except duckdb.Error as exc:
            con.close()
            raise WarehouseUnavailable(f"cannot open the published warehouse {self.path}: {exc}") from exc
        self.generations_opened += 1
        return _Generation(identity, con, datetime.now(UTC).replace(tzinfo=None), mtime)

    def _acquire(self) -> _Generation:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            raise WarehouseUnavailable(f"no published warehouse at {self.path} yet: run the pipeline (make demo)") from None
        identity = (st.st_dev, st.st_ino)
        with self._lock:
            gen = self._current
            if gen is None or gen.identity != identity:
                new = self._open(identity, st.st_mtime)
                if gen is not None:
                    gen.retired = True
                    if gen.users == 0:
                        gen.con.close()
                self._current = gen = new
            gen.users += 1
            return gen

    def _release(self, gen: _Generation) -> None:
        with self._lock:
            gen.users -= 1
            if gen.retired and gen.users == 0:
                gen.con.close()

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor on the current published warehouse (its schemas addressable as ``schema.table``)."""
        gen = self._acquire()
        try:
            cur = gen.con.cursor()
            try:
                cur.execute(f"USE {ALIAS}")
                yield cur
            finally:
                cur.close()
        finally:
            self._release(gen)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[tuple]]:
        """(column names, rows) of ``sql`` with ``?`` placeholders bound to ``params``."""
        with self.cursor() as cur:
            result = cur.execute(sql, list(params))
            columns = [d[0] for d in result.description]
            return columns, result.fetchall()

    def records(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """``rows`` as one dict per row (column -> value)."""
        columns, rows = self.rows(sql, params)
        return [dict(zip(columns, row)) for row in rows]

    def info(self) -> dict[str, Any]:
        """Which file generation is open: path, inode, file mtime (UTC) and when it was opened."""
        gen = self._acquire()
        try:
            return {"path": str(self.path), "inode": gen.identity[1],
                    "published_at": datetime.fromtimestamp(gen.mtime, UTC).replace(tzinfo=None),
                    "opened_at": gen.opened_at}
        finally:
            self._release(gen)

    def close(self) -> None:
        with self._lock:
            if self._current is not None:
                self._current.retired = True
                if self._current.users == 0:
                    self._current.con.close()
                self._current = None
