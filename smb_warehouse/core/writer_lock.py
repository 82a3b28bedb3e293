"""One writer at a time: an exclusive OS file lock on the warehouse directory, held for a run's life.

Every run that writes the warehouse (``make demo``, a run launched from the Dagster UI, a sensor or a
schedule, the erasure and rollback commands) claims its candidate through ``Warehouse.ensure_candidate``,
and that takes this lock first. A second run then waits up to ``SMB_WRITER_WAIT_SECONDS`` (default 0:
refuse at once) and, if the lock is still taken, fails with ``WarehouseBusy`` naming the run that holds it
(run id, start time, pid, host). Without it two runs both claimed ``candidate.duckdb``: the first died on
DuckDB's file lock, and chance decided which run survived.

Why ``flock(2)`` on ``<warehouse dir>/writer.lock``: the kernel releases it when the holding process dies,
however it dies (SIGKILL, OOM killer, power loss of a container), so a crashed run never leaves a stale
lock that needs a person to clear it. The file's content (JSON: run id, pid, start, host) only names the
holder for the error message; the lock itself is the kernel's. ``flock`` locks belong to an open file
description, so two runs inside ONE process (tests, an API server running jobs in threads) exclude each
other too. Dagster releases the lock at the end of every run (``WarehouseResource`` teardown); the other
entry points use ``Warehouse.writer()``. Not for network file systems where flock is advisory per host.
"""
from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

WAIT_ENV = "SMB_WRITER_WAIT_SECONDS"
LOCK_NAME = "writer.lock"
_POLL_SECONDS = 0.25


class WarehouseBusy(RuntimeError):
    """Another run holds the warehouse's writer lock (message names it); raised after the configured wait."""


@dataclass(frozen=True)
class Holder:
    """Who holds (or last held) the writer lock, as written into the lock file by the holder."""

    run_id: str
    pid: int
    started_at: str  # ISO 8601, UTC
    host: str

    def describe(self) -> str:
        return f"run {self.run_id} (started at {self.started_at}, pid {self.pid} on {self.host})"


# Locks this process holds: resolved warehouse dir -> (open file descriptor, run id).
_HELD: dict[str, tuple[int, str]] = {}
_GUARD = threading.Lock()


def wait_seconds() -> float:
    """``SMB_WRITER_WAIT_SECONDS`` as a number of seconds (0 = refuse at once). Raises ``ValueError`` for
    anything that is not a non-negative number."""
    raw = os.environ.get(WAIT_ENV, "0").strip() or "0"
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{WAIT_ENV} must be a number of seconds, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"{WAIT_ENV} must be >= 0, got {raw!r}")
    return value


class WriterLock:
    """The writer lock of one warehouse directory."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.path = self.root / LOCK_NAME

    @property
    def _key(self) -> str:
        return str(self.root.resolve())

    def held_by(self) -> str | None:
        """The run id holding this lock in THIS process, or None."""
        with _GUARD:
            held = _HELD.get(self._key)
        return held[1] if held else None

    def holder(self) -> Holder | None:
        """What the lock file says about its holder (may describe a finished run when the lock is free)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8") or "{}")
            return Holder(str(data["run_id"]), int(data["pid"]), str(data["started_at"]), str(data["host"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def acquire(self, run_id: str, wait: float | None = None) -> None:
        """Take the lock for ``run_id``, waiting up to ``wait`` seconds (default ``wait_seconds()``).

        Re-entrant for the same run id in this process. Raises ``WarehouseBusy`` (naming the holder) when
        another run still holds it after the wait.
        """
        with _GUARD:
            held = _HELD.get(self._key)
            if held and held[1] == run_id:
                return
        wait = wait_seconds() if wait is None else wait
        self.root.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + wait
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                        raise
                if time.monotonic() >= deadline:
                    holder = self.holder()
                    who = holder.describe() if holder else "another run"
                    raise WarehouseBusy(
                        f"another run holds the warehouse: {who} holds the writer lock on {self.root}. Run {run_id} "
                        f"{'waited ' + format(wait, 'g') + ' s and ' if wait else ''}did not start; try again when it has "
                        f"finished, or set {WAIT_ENV} to wait for it")
                time.sleep(_POLL_SECONDS)
            info = {"run_id": run_id, "pid": os.getpid(), "host": socket.gethostname(),
                    "started_at": datetime.now(UTC).isoformat(timespec="seconds")}
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(info).encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        with _GUARD:
            _HELD[self._key] = (fd, run_id)

    def release(self, run_id: str | None = None) -> bool:
        """Release the lock this process holds (only if held for ``run_id`` when one is given). Returns
        whether a lock was released. The file stays (it names the last holder)."""
        with _GUARD:
            held = _HELD.get(self._key)
            if not held or (run_id is not None and held[1] != run_id):
                return False
            del _HELD[self._key]
        fd = held[0]
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
        return True
