"""Has anything a run reads changed since the last successful publish? If not, a run would rebuild the same
warehouse, so `make demo`, the nightly schedule and the landing-zone sensor skip it (issue 12: a run costs what
changed; a no-change run costs a fingerprint, not a rebuild).

``input_fingerprint()`` is taken *before* a run starts; the run carries it as the Dagster run tag
``warehouse/input_fingerprint`` and its publish step records it in the candidate (``ops.run_inputs``, one row), so
the record travels with the published file and a rollback brings back the record of the warehouse it restores.
It is a sha256 over:

- the landing zone as the loader sees it: every entry of every contract entity's folder (``discover``, which
  follows symlinked folders, with the contracts as they are now) with its size, modification time, inode and
  change time and the loader's decision (load / held / ignored), so a held file that becomes loadable changes it;
- the code and configuration that turn the files into the warehouse: the content of the dbt project (models,
  macros, seeds, snapshots, analyses, data_tests, dbt_project.yml, profiles.yml, packages), the contracts, the Python packages
  ``smb_warehouse`` and ``orchestration`` and the dependency lock (requirements.lock, pyproject.toml);
- the settings: environment variables ``SMB_*`` and ``DBT_*`` with their values, except those that only say where
  things are (``*_DIR``, ``*_PATH``, ``*_FILE``, the MLflow URIs are not among them at all), secrets that do not
  shape the warehouse (``NOT_INPUTS``) and the serving settings of the API, the reports server and the schedule;
- what people decide between runs, which runs only read: AP review decisions, and the circuit-breaker changes and
  forecast rollout decisions made by a person (``changed_by_kind`` / ``decided_by_kind`` = 'person'; the rows a
  run writes itself are not inputs);
- the PII hash key (a digest of it): a new key changes every pseudonym.

A run is skipped only when the published record's fingerprint equals this one, the run that recorded it succeeded
in the Dagster instance at hand (a run that published and then failed in a later step runs again), every file the
loader would load now is recorded as read, with its size, in the published ``raw.load_audit`` (``not_loaded``: the
fingerprint says what was there when the run started, the audit what the run read: a file held back, a share that
dropped out mid-load), and the published file is the one the pipeline wrote (a kept publish, not modified since,
with the BI copy built from it). In doubt it runs: no published file, no record, a record of a run started without
a fingerprint (UI, tests), a run the instance does not know, or any error while deciding.

The installed versions of the packages that compute the warehouse (``RUNTIME_PACKAGES``) and Python's are inputs
too. Not inputs: the registry's aliases (the publish resets them from the published record), and what a run
writes that no later run reads back (run history, workflow outcomes): a skipped night adds no row to
``kpi_platform__pipeline_health``, and the freshness policies then report the age of the published data.
"""
from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from smb_warehouse.core import paths, pii, safe_mode
from smb_warehouse.core.warehouse import open_duckdb
from smb_warehouse.forecasting import rollout
from smb_warehouse.ingestion.contracts import all_entities, load_contracts
from smb_warehouse.ingestion.discovery import discover

FINGERPRINT_TAG = "warehouse/input_fingerprint"
RECORD_TABLE = "ops.run_inputs"
CODE_DIRS = ("models", "macros", "seeds", "snapshots", "analyses", "data_tests", "contracts", "smb_warehouse",
             "orchestration")
CODE_FILES = ("dbt_project.yml", "profiles.yml", "packages.yml", "package-lock.yml", "requirements.lock",
              "pyproject.toml")
# installed versions of what computes the warehouse (the lock says what should be installed, not what is)
RUNTIME_PACKAGES = ("duckdb", "dbt-core", "dbt-duckdb", "dagster", "dagster-dbt", "pandas", "numpy", "scikit-learn",
                    "splink", "rapidfuzz", "mlflow", "evidently")
# a file the loader would load counts as read only when the published audit's latest row for it says so, with its size
DONE_IN_AUDIT = ("loaded", "empty", "rejected", "duplicate")
CODE_SUFFIXES = {".py", ".sql", ".yml", ".yaml", ".csv", ".md", ".json", ".jinja"}
SETTING_PREFIXES = ("SMB_", "DBT_")
LOCATION_SUFFIXES = ("_DIR", "_PATH", "_FILE")
# settings that never shape the warehouse's content (secrets of other services, where things are served, when
# the schedule fires); SMB_PII_HASH_KEY is an input, taken as a digest with the key file (see _pii_entry)
NOT_INPUTS = frozenset({"SMB_API_KEYS", "SMB_REDIS_URL", "SMB_REPORTS_URL", "SMB_REPORTS_PORT", "SMB_SCHEDULE_CRON",
                        "SMB_SCHEDULE_TZ", "SMB_WRITER_WAIT_SECONDS", "SMB_PII_HASH_KEY", "DBT_POSTGRES_PASSWORD",
                        "DBT_SEND_ANONYMOUS_USAGE_STATS", "DBT_THREADS",
                        # where and whether PostgreSQL gets a copy: make demo's publish_postgres checks those itself
                        "SMB_POSTGRES_PUBLISH", "DBT_POSTGRES_HOST", "DBT_POSTGRES_PORT", "DBT_POSTGRES_USER",
                        "DBT_POSTGRES_DBNAME", "DBT_POSTGRES_SCHEMA", "DBT_POSTGRES_BI_ROLE"})


def content_entries(project: Path, names: tuple[str, ...], suffixes: set[str] | None = None) -> Iterator[str]:
    """``"code\\0<relative path>\\0<sha256 of the content>"`` for each file ``names`` holds under ``project``: a name
    is a file or a folder (every file below it, with a suffix in ``suffixes`` when given, no ``__pycache__``), in
    sorted order; missing names are skipped. Raises ``OSError`` when a file cannot be read."""
    for name in names:
        root = project / name
        files = [root] if root.is_file() else sorted(
            f for f in root.rglob("*") if f.is_file() and (suffixes is None or f.suffix in suffixes)
            and "__pycache__" not in f.parts) if root.is_dir() else []
        for path in files:
            yield f"code\0{path.relative_to(project).as_posix()}\0{hashlib.sha256(path.read_bytes()).hexdigest()}"


def _landing_entries(landing: Path) -> Iterator[str]:
    for entity in all_entities():
        for found in discover(entity, landing):
            try:
                stat = found.path.stat()
            except FileNotFoundError:  # gone between listing and stat (an rsync temp file): it changed
                yield f"landing\0{found.rel}\0vanished"
                continue
            # inode and ctime too: a same-size rewrite whose mtime was kept or restored (cp -p, tar, a restore)
            # still changes them (a program cannot set ctime; a replace by rename changes the inode)
            yield (f"landing\0{found.rel}\0{stat.st_size}\0{stat.st_mtime_ns}\0{stat.st_ino}\0{stat.st_ctime_ns}"
                   f"\0{found.action}")


def setting_entries(environ: dict[str, str]) -> Iterator[str]:
    """The ``SMB_*``/``DBT_*`` settings in ``environ`` that shape the warehouse, sorted by name, as
    ``"setting\\0<name>\\0<value>"`` strings: not locations (``*_DIR``/``*_PATH``/``*_FILE``), secrets or
    serving settings (``NOT_INPUTS``)."""
    for name in sorted(environ):
        if name.startswith(SETTING_PREFIXES) and not name.endswith(LOCATION_SUFFIXES) and name not in NOT_INPUTS:
            yield f"setting\0{name}\0{environ[name]}"


def _sqlite_summary(path: Path, sql: str) -> str:
    """``sql`` (a ``count(*), max(seq)`` query) on an SQLite store, as text; 'none' when the store has no such
    rows: no file, no table yet, or a count of 0 (runs create the stores, so 'not yet created' and 'created, no
    decision' must read the same). Read-only. Raises ``sqlite3.Error`` for anything else (a locked or damaged
    store), which the callers treat as doubt."""
    if not path.exists():
        return "none"
    con = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, timeout=30)
    try:
        row = con.execute(sql).fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return "none"
        raise
    finally:
        con.close()
    return "none" if not row or not row[0] else repr(tuple(row))


def _decision_entries() -> Iterator[str]:
    yield "review\0" + _sqlite_summary(paths.review_decisions_store(), "SELECT count(*), max(seq) FROM decisions")
    yield "breakers\0" + _sqlite_summary(safe_mode.store_path(), "SELECT count(*), max(seq) FROM mode_changes "
                                                                 "WHERE changed_by_kind = 'person'")
    yield "rollout\0" + _sqlite_summary(rollout.store_path(), "SELECT count(*), max(seq) FROM events "
                                                              "WHERE decided_by_kind = 'person'")


def _runtime_entries() -> Iterator[str]:
    import sys
    from importlib.metadata import PackageNotFoundError, version

    yield f"runtime\0python\0{sys.version}"
    for name in RUNTIME_PACKAGES:
        try:
            yield f"runtime\0{name}\0{version(name)}"
        except PackageNotFoundError:
            yield f"runtime\0{name}\0none"


def _pii_entry() -> Iterator[str]:
    # a digest of the key (generated here if the installation has none yet, as the run would): never the key
    yield "pii\0" + hashlib.sha256(b"smb-run-inputs\0" + pii.hash_key().encode()).hexdigest()


def input_fingerprint(landing: Path | None = None, project: Path | None = None,
                      environ: dict[str, str] | None = None) -> str:
    """sha256 (64 hex digits) of what a run reads (module docstring): ``landing`` (default
    ``paths.landing_dir()``), the code under ``project`` (default the repository root), the settings in
    ``environ`` (default ``os.environ``), the people's decisions and the PII key. Raises ``OSError`` /
    ``sqlite3.Error`` when a file or store cannot be read (``unchanged_since_publish`` callers treat that as a
    reason to run)."""
    load_contracts.cache_clear()  # a long-lived process (the daemon) must see the contracts as they are now
    digest = hashlib.sha256()
    parts = [_landing_entries(landing or paths.landing_dir()),
             content_entries(project or paths.PROJECT_ROOT, CODE_FILES + CODE_DIRS, CODE_SUFFIXES),
             setting_entries(dict(os.environ if environ is None else environ)), _runtime_entries(),
             _decision_entries(), _pii_entry()]
    for part in parts:
        for entry in part:
            digest.update(entry.encode("utf-8", "surrogateescape") + b"\n")
    return digest.hexdigest()


@dataclass(frozen=True)
class RunInputs:
    """What a publish recorded: the run's ``input_fingerprint`` (None for a run started without one: from the
    UI, a test), the publishing run's id and when it was recorded (UTC, text)."""

    input_fingerprint: str | None
    run_id: str
    recorded_at: str


def record(con: duckdb.DuckDBPyConnection, run_id: str, fingerprint: str | None) -> None:
    """Replace ``ops.run_inputs`` (declared in models/sources/_ops__sources.yml) with one row, this run's
    fingerprint, in the candidate ``con`` is connected to; the publish step calls it just before publishing."""
    from smb_warehouse.core.warehouse import Replace, write_tables

    frame = pd.DataFrame({"input_fingerprint": [fingerprint], "run_id": [run_id],
                          "recorded_at": [pd.Timestamp(datetime.now(UTC).replace(tzinfo=None))]})
    write_tables(con, [Replace(RECORD_TABLE, frame)])


def published_record(published: Path | None = None) -> RunInputs | None:
    """The ``ops.run_inputs`` row of the published warehouse (read-only), or None: no published file, no record,
    or one that cannot be read."""
    path = published or paths.published_warehouse_path()
    if not path.exists():
        return None
    try:
        con = open_duckdb(path, read_only=True)
    except duckdb.Error:
        return None
    try:
        row = con.execute(f"SELECT input_fingerprint, run_id, recorded_at::VARCHAR FROM {RECORD_TABLE}").fetchone()
    except duckdb.Error:
        return None
    finally:
        con.close()
    return RunInputs(*row) if row else None


@dataclass(frozen=True)
class Check:
    """The decision: ``skip`` with the ``record`` it matched, else run; ``fingerprint`` (None when it could not
    be taken) goes on the run as its tag; ``reason`` says why, in one line."""

    skip: bool
    fingerprint: str | None
    reason: str
    record: RunInputs | None = None


def not_loaded(published: Path, landing: Path | None = None) -> list[str]:
    """Landing files (relative paths) the loader would load now that the published warehouse does not record as
    read: the latest ``raw.load_audit`` row for the file is missing, is not one of ``DONE_IN_AUDIT`` (a file held
    back when the run looked) or has another size. The fingerprint says what was there when the publishing run
    started; this says what that run really read (a contract that held a file back, a share that dropped out during
    the load). Raises ``duckdb.Error`` / ``OSError`` when the file cannot be read."""
    load_contracts.cache_clear()
    landing = landing or paths.landing_dir()
    current = {}
    for entity in all_entities():
        for found in discover(entity, landing):
            if found.action == "load":
                current[found.rel] = found.path.stat().st_size
    con = open_duckdb(published, read_only=True)
    try:
        audit = {rel: (status, size) for rel, status, size in con.execute(
            "SELECT source_file, arg_max(status, finished_at), arg_max(file_bytes, finished_at) "
            "FROM raw.load_audit GROUP BY source_file").fetchall()}
    finally:
        con.close()
    return sorted(rel for rel, size in current.items()
                  if rel not in audit or audit[rel][0] not in DONE_IN_AUDIT or audit[rel][1] != size)


def _published_by_hand(published: Path) -> str | None:
    """Why the published file (or its BI copy) may not be what the recording run published, or None. The BI copy
    is written from the published file after that file's last write (``Warehouse.publish``), so a published file
    newer than its BI copy was written to afterwards (a read-write session that changed it). Raises ``OSError``."""
    from smb_warehouse.core.warehouse import Warehouse

    store = Warehouse(published.parent)
    entry = store.current_publish()
    if entry is None:
        return "the published file is not one the pipeline published (replaced by hand?)"
    if store.bi_publish_id() != entry.publish_id:
        return "the BI copy is missing or not the one built from the published file"
    if published.stat().st_mtime_ns > store.bi_path.stat().st_mtime_ns:
        return "the published file was modified after its publish"
    return None


def check(instance, published: Path | None = None) -> Check:
    """Whether a run now would rebuild the published warehouse unchanged (module docstring). ``instance``: the
    Dagster instance whose run history says whether the recording run succeeded. Never raises: any error while
    deciding means run."""
    try:
        return _check(instance, published or paths.published_warehouse_path())
    except Exception as exc:  # in doubt, run: a bad PII key, a locked store, an instance error ...
        return Check(False, None, f"could not tell whether anything changed ({type(exc).__name__}: {exc}): running")


def _check(instance, published: Path) -> Check:
    from dagster import DagsterRunStatus

    fingerprint = input_fingerprint()
    found = published_record(published)
    if found is None or found.input_fingerprint is None:
        return Check(False, fingerprint, "no record of what the published warehouse was built from: running")
    if found.input_fingerprint != fingerprint:
        return Check(False, fingerprint, "inputs changed since the last publish: running")
    run = instance.get_run_by_id(found.run_id)
    if run is None or run.status != DagsterRunStatus.SUCCESS:
        return Check(False, fingerprint, f"the run that published (run {found.run_id}) did not succeed here: running")
    unread = not_loaded(published)
    if unread:
        return Check(False, fingerprint, f"{len(unread)} landed file(s) the published warehouse has not read "
                                         f"(first: {unread[0]}): running")
    by_hand = _published_by_hand(published)
    if by_hand:
        return Check(False, fingerprint, f"{by_hand}: running")
    return Check(True, fingerprint, f"nothing changed since the last publish (run {found.run_id}, "
                                    f"{found.recorded_at}): the published warehouse is current", found)
