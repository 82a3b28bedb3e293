"""Build the same inputs on every engine and compare every public mart: ``make compare-engines``.

Inputs: a published DuckDB warehouse (default: ``$SMB_DATA_DIR/warehouse/warehouse.duckdb``, what
``make demo`` publishes): its loaded raw tables and the tables the Python assets wrote are what every
engine's dbt build reads.

- **DuckDB**: ``dbt build`` of the whole project on a copy of that file (the Dagster run built some marts
  before its own last step's node results existed, so the reference is a build by dbt alone).
- **PostgreSQL**: a throwaway local server (``smb_warehouse.core.postgres_local``); with
  ``--postgres-from-env`` the server of ``DBT_POSTGRES_*`` instead, refused when its database already
  holds a published ``marts`` schema (the comparison replaces input tables and publishes: never on a
  warehouse people read). Inputs copied, then write-audit-publish (``smb_warehouse.core.postgres_publish``).
- **Spark**: local mode through dbt-spark's ``session`` method, in a private metastore under a temporary
  folder: inputs landed as Parquet tables (``smb_warehouse.core.spark_inputs``), ``dbt build``, the public
  marts written back as Parquet (``smb_warehouse.core.spark_export``). Needs pyspark and dbt-spark:
  ``make compare-engines`` runs in ``.venv-spark`` (the lock plus requirements-spark.txt); without them, or
  without a Java runtime (``java`` on PATH or ``JAVA_HOME``), the line says skipped and why.

Prints each engine's time (copy of inputs, dbt build) and, per public mart, row counts and an
order-independent checksum per engine with the verdict (``smb_warehouse.core.engine_compare``: doubles to
12 significant digits, below 1e-9 as 0). Exits 1 when any mart differs or an engine fails.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import psycopg2

from smb_warehouse.core import dbt_manifest, engine_compare, paths, postgres_copy, postgres_local, postgres_publish
from smb_warehouse.core.config import environment
from smb_warehouse.core.pii import PiiKeyError
from smb_warehouse.core.sql import lit

ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def postgres_target(from_env: bool):
    """The DBT_POSTGRES_* environment to build in: a throwaway server, or (``from_env``) the configured
    one when its database has no published ``marts`` schema (else ``RuntimeError``)."""
    if from_env:
        with contextlib.closing(postgres_publish.connect()) as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'marts'")
            if cur.fetchone()[0]:
                raise RuntimeError(f"{postgres_copy.postgres_dsn()} already holds a published marts schema: "
                                   "compare on a database of its own")
        yield {}
        return
    with postgres_local.throwaway_server() as server:
        conn = psycopg2.connect(server.dsn())
        conn.autocommit = True
        conn.cursor().execute("CREATE DATABASE smb_compare")
        conn.close()
        yield server.dbt_env("smb_compare")


def build_postgres(source: Path, work: Path) -> tuple[float, float]:
    """Copy the inputs and write-audit-publish on the PostgreSQL of the environment; (copy s, build s)."""
    started = time.perf_counter()
    with postgres_publish.publish_lock(wait_seconds=0):
        postgres_copy.copy_to_postgres(source, replace=True)
        copied = time.perf_counter() - started
        postgres_publish.build_and_publish(target_path=work / "postgres" / "target")
    return copied, time.perf_counter() - started - copied


def spark_missing() -> str | None:
    """Why Spark cannot run here (pyspark or dbt-spark not installed, no Java runtime), or None."""
    try:
        import dbt.adapters.spark  # noqa: F401
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark or dbt-spark is not installed (make compare-engines runs in .venv-spark, which has them)"
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        return "no Java runtime (java on PATH or JAVA_HOME; Debian: openjdk-17-jre-headless)"
    return None


def build_spark(source: Path, work: Path) -> tuple[Path, dict[str, float]]:
    """Land the inputs of ``source``, ``dbt build`` on Spark, export the public marts; returns (the export
    folder, seconds per phase). Raises ``RuntimeError`` naming the phase that failed."""
    from smb_warehouse.core import pii

    folder = work / "spark"
    env = {**os.environ, "DBT_TARGET": "spark", "DBT_SPARK_DIR": str(folder / "metastore"),
           "DBT_SPARK_SCHEMA": "smb", "SMB_PII_HASH_KEY": pii.hash_key(), "DO_NOT_TRACK": "1"}
    dbt = [str(Path(sys.executable).with_name("dbt"))]
    common = ["--project-dir", str(ROOT), "--profiles-dir", str(ROOT), "--target-path", str(folder / "target"),
              "--log-path", str(folder / "logs"), "--no-use-colors"]
    manifest, out = folder / "target" / "manifest.json", folder / "marts"
    seconds: dict[str, float] = {}
    for phase, command in (
            ("parse", dbt + ["parse", *common]),
            ("land inputs", [sys.executable, "-m", "smb_warehouse.core.spark_inputs", str(source), "--manifest", str(manifest)]),
            ("dbt build", dbt + ["build", *common]),
            ("export marts", [sys.executable, "-m", "smb_warehouse.core.spark_export", str(manifest), str(out)])):
        started = time.perf_counter()
        proc = subprocess.run(command, env=env, capture_output=True, text=True)
        seconds[phase] = time.perf_counter() - started
        if proc.returncode != 0:
            raise RuntimeError(f"Spark {phase} failed:\n{(proc.stdout + proc.stderr)[-3000:]}")
    return out, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.engines", description=__doc__.split("\n\n")[0])
    parser.add_argument("--warehouse", type=Path, default=None,
                        help="published DuckDB warehouse whose inputs every engine builds from "
                             "(default: $SMB_DATA_DIR/warehouse/warehouse.duckdb)")
    parser.add_argument("--postgres-from-env", action="store_true",
                        help="build on the server of DBT_POSTGRES_* (a database without published marts) "
                             "instead of a throwaway local one")
    args = parser.parse_args(argv)
    source = args.warehouse or paths.warehouse_dir() / "warehouse.duckdb"
    if not source.exists():
        parser.error(f"{source} does not exist: run `make demo` first (or pass --warehouse)")
    relations = dbt_manifest.public_relations()
    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="smb_engines_") as tmp:
        work = Path(tmp)
        duck, duck_s = engine_compare.rebuild_on_duckdb(source, work / "duckdb")
        print(f"duckdb      dbt build {duck_s:7.1f} s")
        con = duckdb.connect()
        con.execute(f"ATTACH {lit(str(duck))} AS duckdb_side (READ_ONLY)")
        sides: dict[str, str] = {}
        try:
            with postgres_target(args.postgres_from_env) as env, environment(env):
                copy_s, build_s = build_postgres(source, work)
                print(f"postgres    copy inputs {copy_s:5.1f} s, dbt build + publish {build_s:7.1f} s")
                postgres_copy.load_postgres_extension(con)
                con.execute(f"ATTACH {lit(postgres_copy.postgres_dsn())} AS postgres_side (TYPE postgres, READ_ONLY)")
                sides["postgres"] = "postgres_side"
                results = engine_compare.compare_relations(con, relations, lambda r: f"duckdb_side.{r}",
                                                           lambda r: f"postgres_side.{r}")
                print(engine_compare.format_report(results, "duckdb", "postgres"))
                failed += [f"postgres:{r.relation}" for r in results if not r.equal]
                con.execute("DETACH postgres_side")
        except (RuntimeError, ValueError, OSError, TimeoutError, subprocess.CalledProcessError, duckdb.Error,
                postgres_publish.PublishRefused, psycopg2.Error) as exc:
            print(f"postgres    FAILED: {exc}")
            failed.append("postgres")
        missing = spark_missing()
        if missing:
            print(f"spark       skipped: {missing}")
        else:
            try:
                out, seconds = build_spark(source, work)
                print("spark       " + ", ".join(f"{phase} {s:.1f} s" for phase, s in seconds.items()))
                results = engine_compare.compare_relations(
                    con, relations, lambda r: f"duckdb_side.{r}",
                    lambda r: f"read_parquet({lit(str(out / r) + '/*.parquet')})")
                print(engine_compare.format_report(results, "duckdb", "spark"))
                failed += [f"spark:{r.relation}" for r in results if not r.equal]
            except (RuntimeError, OSError, duckdb.Error, PiiKeyError) as exc:
                print(f"spark       FAILED: {exc}")
                failed.append("spark")
        con.close()
    print("engines agree on every public mart" if not failed else f"DIFFER: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
