"""Land the tables dbt reads but does not build from a DuckDB warehouse as Parquet tables Spark reads.

The dbt project builds on Spark (``DBT_TARGET=spark``, dbt-spark's ``session`` method) from the same inputs it
reads on DuckDB: the raw tables the loader writes (``raw.*``) and the tables the Python assets write (entity
resolution, ML, reconciliation, triage, cash-flow, ops; declared in models/sources/). Until the loader and those
assets write Parquet themselves, this exports them from a DuckDB file (a published warehouse or a candidate):
every table of every schema no dbt model, seed or snapshot is built in (read from the dbt manifest, as
``postgres_copy`` does), one Parquet folder per table written by DuckDB's ``COPY ... (FORMAT parquet)`` under
``<spark dir>/inputs/<schema>/<table>/``, then registered in Spark's metastore as an external table
``<schema>.<table>`` (a Spark database of the same name) with explicit column types:

    DuckDB                   Parquet written            Spark column
    VARCHAR, JSON            string (JSON as its text)  string
    DOUBLE / FLOAT           double / float             double / float
    TINYINT..BIGINT          int8..int64                tinyint, smallint, int, bigint
    DECIMAL(p,s)             decimal(p,s)               decimal(p,s)
    BOOLEAN, DATE            boolean, date              boolean, date
    TIMESTAMP                timestamp, UTC-adjusted    timestamp (the same wall time: Spark's session
                                                        time zone is UTC, profiles.yml)

Any other DuckDB type (lists, maps, structs, unsigned, TIMESTAMP WITH TIME ZONE, ...) is refused naming the
column: no Python-written or raw table has one today, and a silent cast would change what the models read.
A TIMESTAMP is written as UTC-adjusted (DuckDB TIMESTAMPTZ with its TimeZone set to UTC) because Spark 3.5 reads
Parquet's non-adjusted timestamps only as ``timestamp_ntz``, a type the models' ``timestamp`` casts and
comparisons would mix with ``timestamp``.

The Spark session is the one dbt-spark's ``session`` method builds (``SparkSession.builder.enableHiveSupport()``
with the profile's ``server_side_parameters`` as confs): ``spark_confs`` gives the same master, warehouse dir and
Derby metastore from the same variables (``DBT_SPARK_DIR``, default ``data/spark``; ``DBT_SPARK_MASTER``,
default ``local[2]``; ``DBT_SPARK_DRIVER_MEMORY``), so the tables registered here are the ones dbt sees. Derby
allows one process per metastore: run this before dbt, not beside it.

Every table is exported whole into a fresh folder and renamed over the previous one only after DuckDB wrote it,
then (re)registered: ``DROP TABLE IF EXISTS`` and ``CREATE TABLE ... USING parquet LOCATION``, so dbt's views
over it are rebuilt by the next ``dbt build`` anyway (Spark views bind by name). The row count Spark reads is
checked against DuckDB's for every table; a mismatch raises ``RuntimeError`` and leaves the tables registered so
far (a rerun replaces them). ``replace=False`` refuses a table Spark already has.

    python -m smb_warehouse.core.spark_inputs data/warehouse/warehouse.duckdb [--replace] [--schema raw ...]
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from smb_warehouse.core import dbt_manifest
from smb_warehouse.core.postgres_copy import dbt_built_schemas, tables_to_copy
from smb_warehouse.core.sql import ident, lit
from smb_warehouse.core.warehouse import open_duckdb

# DuckDB type -> Spark SQL type (DECIMAL(p,s) is handled by pattern).
SPARK_TYPES = {"VARCHAR": "string", "JSON": "string", "DOUBLE": "double", "FLOAT": "float", "TINYINT": "tinyint",
               "SMALLINT": "smallint", "INTEGER": "int", "BIGINT": "bigint", "BOOLEAN": "boolean", "DATE": "date",
               "TIMESTAMP": "timestamp"}
_DECIMAL = re.compile(r"^DECIMAL\((\d+),\s*(\d+)\)$")


@dataclass(frozen=True)
class Landed:
    schema: str
    table: str
    rows: int
    path: Path


def spark_dir(env: dict[str, str] | None = None) -> Path:
    """The folder of the Spark metastore, warehouse and inputs (``DBT_SPARK_DIR``, as profiles.yml), absolute."""
    env = os.environ if env is None else env
    return Path(env.get("DBT_SPARK_DIR", "data/spark")).expanduser().resolve()


def spark_confs(env: dict[str, str] | None = None) -> dict[str, str]:
    """The Spark confs of profiles.yml's ``spark`` output that decide which metastore and warehouse a session sees."""
    env = os.environ if env is None else env
    root = spark_dir(env)
    return {"spark.master": env.get("DBT_SPARK_MASTER", "local[2]"),
            "spark.app.name": "smb_warehouse_spark_inputs",
            "spark.sql.warehouse.dir": str(root / "spark-warehouse"),
            # metastore_db under derby.system.home, as profiles.yml writes it (a path there would be taken as
            # relative to derby.system.home again when DBT_SPARK_DIR is relative)
            "spark.hadoop.javax.jdo.option.ConnectionURL": "jdbc:derby:;databaseName=metastore_db;create=true",
            "spark.driver.extraJavaOptions": f"-Dderby.system.home={root}",
            "spark.driver.memory": env.get("DBT_SPARK_DRIVER_MEMORY", "2g"),
            "spark.sql.session.timeZone": "UTC",
            "spark.ui.enabled": "false"}


def spark_session(env: dict[str, str] | None = None) -> Any:
    """A Hive-enabled SparkSession on the profile's metastore (raises RuntimeError without pyspark)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise RuntimeError("landing inputs for Spark needs pyspark (pip install -r requirements-spark.txt)") from exc
    builder = SparkSession.builder.enableHiveSupport()
    for key, value in spark_confs(env).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def spark_type(duckdb_type: str, where: str) -> str:
    """The Spark SQL type a DuckDB column is registered with; ValueError for a type this export does not map."""
    found = _DECIMAL.match(duckdb_type)
    if found:
        return f"decimal({found.group(1)},{found.group(2)})"
    if duckdb_type in SPARK_TYPES:
        return SPARK_TYPES[duckdb_type]
    raise ValueError(f"{where}: DuckDB type {duckdb_type} has no Spark mapping here (see spark_inputs' docstring)")


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple[str, str]]:
    return con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = 'src' "
                       "AND schema_name = ? AND table_name = ? ORDER BY column_index", [schema, table]).fetchall()


def _export_sql(schema: str, table: str, columns: list[tuple[str, str]], folder: Path) -> str:
    select = ", ".join(f"CAST({ident(c)} AS TIMESTAMPTZ) AS {ident(c)}" if t == "TIMESTAMP"
                       else f"CAST({ident(c)} AS VARCHAR) AS {ident(c)}" if t == "JSON" else ident(c)
                       for c, t in columns)
    return (f"COPY (SELECT {select} FROM src.{ident(schema)}.{ident(table)}) TO {lit(str(folder / 'part-0.parquet'))} "
            "(FORMAT parquet)")


def _spark_ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def land_for_spark(duckdb_path: Path, *, spark: Any = None, root: Path | None = None, manifest: Path | None = None,
                   schemas: set[str] | None = None, replace: bool = False) -> list[Landed]:
    """Export the non-dbt tables of ``duckdb_path`` (read-only) to Parquet under ``<root>/inputs`` and register
    them in ``spark``'s metastore (a session from ``spark_session()`` when None); returns what landed."""
    exclude = dbt_built_schemas(manifest)
    if schemas and schemas & exclude:
        raise ValueError(f"schemas built by dbt are not exported: {sorted(schemas & exclude)}")
    inputs = (root or spark_dir()) / "inputs"
    con = open_duckdb()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"ATTACH {lit(str(duckdb_path))} AS src (READ_ONLY)")
        todo = tables_to_copy(con, "src", exclude, schemas)
        if not todo:
            raise ValueError(f"{duckdb_path}: no table outside the dbt schemas {sorted(exclude)} to export")
        plans = []
        for schema, table in todo:
            columns = _columns(con, schema, table)
            types = [(c, spark_type(t, f"{schema}.{table}.{c}")) for c, t in columns]
            plans.append((schema, table, columns, types))
        spark = spark or spark_session()
        existing = {(r.namespace, r.tableName) for s in sorted({p[0] for p in plans})
                    if spark.catalog.databaseExists(s) for r in spark.sql(f"SHOW TABLES IN {_spark_ident(s)}").collect()}
        clash = [f"{s}.{t}" for s, t, _, _ in plans if (s, t) in existing]
        if clash and not replace:
            raise ValueError("already in Spark (pass replace=True / --replace): " + ", ".join(clash))
        landed: list[Landed] = []
        for schema, table, columns, types in plans:
            folder = inputs / schema / table
            fresh = folder.with_name(f".{table}.new")
            shutil.rmtree(fresh, ignore_errors=True)
            fresh.mkdir(parents=True)
            con.execute(_export_sql(schema, table, columns, fresh))
            want = con.execute(f"SELECT count(*) FROM src.{ident(schema)}.{ident(table)}").fetchone()[0]
            spark.sql(f"CREATE DATABASE IF NOT EXISTS {_spark_ident(schema)}")
            name = f"{_spark_ident(schema)}.{_spark_ident(table)}"
            spark.sql(f"DROP TABLE IF EXISTS {name}")
            shutil.rmtree(folder, ignore_errors=True)
            fresh.rename(folder)
            cols = ", ".join(f"{_spark_ident(c)} {t}" for c, t in types)
            spark.sql(f"CREATE TABLE {name} ({cols}) USING parquet LOCATION '{folder.as_uri()}'")
            got = spark.sql(f"SELECT count(*) FROM {name}").collect()[0][0]
            if got != want:
                raise RuntimeError(f"{schema}.{table}: {want} rows in DuckDB, Spark reads {got}")
            landed.append(Landed(schema, table, got, folder))
        return landed
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m smb_warehouse.core.spark_inputs", description=__doc__.split("\n\n")[0])
    parser.add_argument("duckdb_path", type=Path, help="DuckDB warehouse file to export from (opened read-only)")
    parser.add_argument("--schema", action="append", dest="schemas",
                        help="export only this schema (repeatable; default: every schema dbt does not build)")
    parser.add_argument("--replace", action="store_true", help="replace tables Spark already has")
    parser.add_argument("--manifest", type=Path, help="dbt manifest (default: target/manifest.json or $SMB_DBT_MANIFEST)")
    args = parser.parse_args(argv)
    if not args.duckdb_path.exists():
        parser.error(f"{args.duckdb_path} does not exist")
    try:
        landed = land_for_spark(args.duckdb_path, manifest=args.manifest,
                                schemas=set(args.schemas) if args.schemas else None, replace=args.replace)
    except (ValueError, RuntimeError, dbt_manifest.ManifestError, duckdb.Error) as exc:
        print(f"spark_inputs: {exc}", file=sys.stderr)
        return 1
    for item in landed:
        print(f"  {item.schema}.{item.table}: {item.rows} rows")
    print(f"landed {len(landed)} tables, {sum(i.rows for i in landed)} rows as Parquet tables under {spark_dir() / 'inputs'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
