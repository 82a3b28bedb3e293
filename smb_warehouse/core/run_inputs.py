"""Has anything a run reads changed since the last publish? If not, a run would rebuild the same warehouse, so
`make demo` and the nightly schedule skip it (issue 12: a run costs what changed; a no-change run costs a
fingerprint, not a rebuild).

What a run reads, in two parts, each a sha256:

``input_fingerprint()``, taken *before* a run starts (the run carries it as the Dagster run tag
``warehouse/input_fingerprint``; a run without the tag records none, so the next check always runs):

- the landing zone: every file under ``paths.landing_dir()``, by relative path, size and modification time
  (a file landing while the run is under way makes the next check differ: it is loaded then);
- the code and configuration that turn it into the warehouse: the content of every file of the dbt project
  (models, macros, seeds, snapshots, dbt_project.yml, profiles.yml), the source contracts, the Python packages
  ``smb_warehouse`` and ``orchestration``, and the dependency lock (requirements.lock, pyproject.toml);
- the settings: every environment variable named ``SMB_*`` or ``DBT_*`` and its value, except those that only
  say where things are (``*_DIR``, ``*_PATH``, ``*_FILE``): a moved folder changes nothing the
  content parts do not already show;
- the AP review decisions (``paths.review_decisions_store()``: decisions recorded, last sequence number), which
  runs read and never write.

``operator_state()``, taken by the publish step *after* the run's own writes: the number of circuit-breaker
mode changes (``core.safe_mode``), which runs write themselves and people write with ``make safe-mode``.

The publish step writes both into the candidate (``ops.run_inputs``: one row, replaced at each publish), so they
travel with the published file: a rollback brings back the record of the warehouse it restores. Model aliases
need no part: every run first sets the registry's aliases from the published warehouse's record
(core.registry.reconcile_aliases). Nothing is skipped when in doubt: no published warehouse, no record, an
unreadable one, or any part different means the run goes ahead.
"""
from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from smb_warehouse.core import paths

FINGERPRINT_TAG = "warehouse/input_fingerprint"
RECORD_TABLE = "ops.run_inputs"
CODE_DIRS = ("models", "macros", "seeds", "snapshots", "contracts", "smb_warehouse", "orchestration")
CODE_FILES = ("dbt_project.yml", "profiles.yml", "packages.yml", "requirements.lock", "pyproject.toml")
CODE_SUFFIXES = {".py", ".sql", ".yml", ".yaml", ".csv", ".md", ".json", ".jinja"}
# MLflow's variables are not among them: MLflow and the pipeline set them at run time (the tracking and registry
# URIs, which say where the registry is, like a folder), and the registry's aliases are reset from the published
# warehouse's record at the start of every run anyway (core.registry.reconcile_aliases).
SETTING_PREFIXES = ("SMB_", "DBT_")
LOCATION_SUFFIXES = ("_DIR", "_PATH", "_FILE")


def _files(root: Path) -> Iterator[Path]:
    if root.is_dir():
        yield from sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def _landing_entries(landing: Path) -> Iterator[str]:
    for path in _files(landing):
        stat = path.stat()
        yield f"landing\0{path.relative_to(landing).as_posix()}\0{stat.st_size}\0{stat.st_mtime_ns}"


def _code_entries(project: Path) -> Iterator[str]:
    candidates: Iterable[Path] = [project / name for name in CODE_FILES]
    for folder in CODE_DIRS:
        candidates = [*candidates, *(p for p in _files(project / folder) if p.suffix in CODE_SUFFIXES)]
    for path in candidates:
        if path.is_file():
            yield f"code\0{path.relative_to(project).as_posix()}\0{hashlib.sha256(path.read_bytes()).hexdigest()}"


def _setting_entries(environ: dict[str, str]) -> Iterator[str]:
    for name in sorted(environ):
        if name.startswith(SETTING_PREFIXES) and not name.endswith(LOCATION_SUFFIXES):
            yield f"setting\0{name}\0{environ[name]}"


def _sqlite_summary(path: Path, sql: str) -> str:
    """One query's first row of an SQLite store as text ('absent' without the file); read-only."""
    if not path.exists():
        return "absent"
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return repr(con.execute(sql).fetchone())
    except sqlite3.OperationalError:  # the store exists but has no such table yet: nothing recorded
        return "empty"
    finally:
        con.close()


def input_fingerprint(landing: Path | None = None, project: Path | None = None,
                      environ: dict[str, str] | None = None) -> str:
    """sha256 (hex) of what a run reads (module docstring): ``landing`` (default ``paths.landing_dir()``),
    the code under ``project`` (default the repository root), the settings in ``environ`` (default
    ``os.environ``) and the review decisions store."""
    digest = hashlib.sha256()
    parts = [_landing_entries(landing or paths.landing_dir()), _code_entries(project or paths.PROJECT_ROOT),
             _setting_entries(dict(os.environ if environ is None else environ)),
             iter([f"decisions\0{_sqlite_summary(paths.review_decisions_store(), 'SELECT count(*), max(seq) FROM decisions')}"])]
    for part in parts:
        for entry in part:
            digest.update(entry.encode("utf-8", "surrogateescape") + b"\n")
    return digest.hexdigest()


def operator_state() -> str:
    """sha256 (hex) of what people change between runs that runs also write: the circuit breakers' mode changes
    (count and last sequence number of ``core.safe_mode``'s log)."""
    from smb_warehouse.core import safe_mode

    summary = _sqlite_summary(safe_mode.store_path(), "SELECT count(*), max(seq) FROM mode_changes")
    return hashlib.sha256(f"safe_mode\0{summary}".encode()).hexdigest()


@dataclass(frozen=True)
class RunInputs:
    """What a publish recorded: the run's ``input_fingerprint`` (None for a run started without one: from the
    UI, a sensor, a test), ``operator_state`` at publish, the publishing run's id and when it was recorded."""

    input_fingerprint: str | None
    operator_state: str
    run_id: str
    recorded_at: str


def record(con: duckdb.DuckDBPyConnection, run_id: str, fingerprint: str | None) -> None:
    """Replace ``ops.run_inputs`` (declared in models/sources/_ops__sources.yml) with one row, this run's
    fingerprint and the operator state now, in the candidate ``con`` is connected to; the publish step calls it
    just before publishing."""
    from smb_warehouse.core.warehouse import Replace, write_tables

    frame = pd.DataFrame({"input_fingerprint": [fingerprint], "operator_state": [operator_state()], "run_id": [run_id],
                          "recorded_at": [pd.Timestamp(datetime.now(UTC).replace(tzinfo=None))]})
    write_tables(con, [Replace(RECORD_TABLE, frame)])


def published_record(published: Path | None = None) -> RunInputs | None:
    """The ``ops.run_inputs`` row of the published warehouse (read-only), or None: no published file, no record,
    or one that cannot be read."""
    path = published or paths.published_warehouse_path()
    if not path.exists():
        return None
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return None
    try:
        row = con.execute(f"SELECT input_fingerprint, operator_state, run_id, recorded_at::VARCHAR FROM {RECORD_TABLE}"
                          ).fetchone()
    except duckdb.Error:
        return None
    finally:
        con.close()
    return RunInputs(*row) if row else None


def unchanged_since_publish(fingerprint: str, published: Path | None = None) -> RunInputs | None:
    """The published record when ``fingerprint`` (this moment's ``input_fingerprint()``) and the operator state
    equal what the last publish recorded: a run now would rebuild the same warehouse. None when anything differs
    or nothing is recorded (then run)."""
    found = published_record(published)
    if found is None or found.input_fingerprint != fingerprint or found.operator_state != operator_state():
        return None
    return found
