"""Helpers shared by the tests (plain functions; the fixtures that use them are in conftest.py)."""
from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pandas as pd

from smb_warehouse.core.config import environment  # noqa: F401 (re-exported for the tests)
from smb_warehouse.core.warehouse import open_duckdb


def query(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Rows of ``sql`` on the DuckDB file at ``path``, opened read-only (as BI tools open it)."""
    con = open_duckdb(path, read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def query_df(path: Path, sql: str, params: list | None = None) -> pd.DataFrame:
    """``query`` as a DataFrame."""
    con = open_duckdb(path, read_only=True)
    try:
        return con.execute(sql, params or []).df()
    finally:
        con.close()


def run_env(root: Path, landing: Path, **extra: str | None) -> dict[str, str | None]:
    """The environment of a pipeline run whose data dir is ``root`` (warehouse, MLflow store, review store,
    reports, docs all under it) reading exports from ``landing``."""
    return {"SMB_DATA_DIR": str(root), "SMB_LANDING_DIR": str(landing), "MLFLOW_TRACKING_URI": None, **extra}


def step_failures(result) -> list[str]:
    return [e.message for e in result.all_events if e.is_step_failure]


def clone_run(source: Path, target: Path) -> Path:
    """A private copy of a finished run's data dir, for tests that run more jobs on top of it (the shared
    run stays as it was for every other test). The MLflow store's artifact paths still point into
    ``source``: models registered by the shared run are read from there, which is what the clone needs."""
    # cp -a, not copytree: a kept publish is a hard link to the published file, and the clone must keep that
    # (run_inputs asks whether the published file is a kept publish), and the files' times with it
    subprocess.run(["cp", "-a", str(source), str(target)], check=True)
    for leftover in sorted({*target.rglob("candidate*"), *target.rglob("*.wal")}, reverse=True):
        if leftover.is_dir():
            shutil.rmtree(leftover)
        else:
            leftover.unlink(missing_ok=True)
    return target


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file's bytes (is the published warehouse byte-identical?)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stop_spark_jvm() -> None:
    """Stop the Spark JVM this Python process launched, if any, so that the next SparkSession starts a new one.

    pyspark keeps its JVM (the py4j gateway) for the life of the process, even after ``SparkSession.stop()``, and a
    JVM's environment is fixed when it starts: a test that needs an environment variable inside Spark (the PII key
    that ``${env:SMB_PII_HASH_KEY}`` reads) must not reuse a JVM another test started without it."""
    try:
        from pyspark import SparkContext
    except ImportError:
        return
    if SparkContext._active_spark_context is not None:
        SparkContext._active_spark_context.stop()
    gateway = SparkContext._gateway
    if gateway is None:
        return
    gateway.shutdown()
    proc = getattr(gateway, "proc", None)
    if proc is not None:
        proc.stdin.close()   # pyspark's JVM exits when its stdin closes (PythonGatewayServer)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    SparkContext._gateway = None
    SparkContext._jvm = None
    # the dead session stays reachable through these until the next one is built (SparkSession.active())
    from pyspark.sql import SparkSession, SQLContext

    SparkSession._instantiatedSession = None
    SparkSession._activeSession = None
    SQLContext._instantiatedContext = None
