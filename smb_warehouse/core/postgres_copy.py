"""Copy the tables dbt reads but does not build from a DuckDB warehouse into PostgreSQL.

The dbt project builds on PostgreSQL (``DBT_TARGET=postgres``) from the same inputs it reads on DuckDB: the
raw tables the loader writes (``raw.*``) and the tables the Python assets write (entity resolution, ML,
reconciliation, triage, cash-flow, ops; declared in models/sources/). Until the loader and those assets
write PostgreSQL themselves, this copies them from a DuckDB file (a published warehouse or a candidate):
every table of every schema no dbt model, seed or snapshot is built in (read from the dbt manifest), with
the same schema and table names and the same column types as DuckDB's ``postgres`` extension maps them
(VARCHAR -> varchar, DOUBLE -> double precision, DECIMAL(p,s) -> numeric(p,s), JSON -> json, ...).

It lives beside the warehouse-file code (core/) rather than in orchestration/ because it is no Dagster
concern: the loader (smb_warehouse/ingestion) and the Python writers will call the same function when they
write PostgreSQL directly.

The copy is one DuckDB transaction spanning the attached PostgreSQL database, so it lands whole or not at
all, and every copied table's row count is checked in PostgreSQL before the commit. A table that already
exists in PostgreSQL is refused unless ``replace`` is set, which replaces its rows (DELETE, INSERT) and
keeps the table, so dbt's views over it stay valid; its columns must then be the same names and types as
the DuckDB table's (else refused: drop it in PostgreSQL first). Not DROP ... CASCADE and CREATE: DuckDB's
postgres extension then inserted no rows into the recreated table inside the same transaction.

Connection: the profile's variables, ``DBT_POSTGRES_HOST`` / ``_PORT`` / ``_USER`` / ``_DBNAME`` and
``DBT_POSTGRES_PASSWORD`` (handed to libpq as ``PGPASSWORD``, never put into SQL text).

    python -m smb_warehouse.core.postgres_copy data/warehouse/warehouse.duckdb [--replace] [--schema raw ...]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

from smb_warehouse.core import dbt_manifest
from smb_warehouse.core.sql import ident, lit
from smb_warehouse.core.warehouse import open_duckdb

ALIAS = "pg"
# Schemas of DuckDB itself, never copied.
SYSTEM_SCHEMAS = frozenset({"information_schema", "pg_catalog"})


@dataclass(frozen=True)
class Copied:
    schema: str
    table: str
    rows: int


def postgres_dsn(env: dict[str, str] | None = None) -> str:
    """libpq key/value string from the dbt profile's variables (same defaults as profiles.yml), no password."""
    env = os.environ if env is None else env
    parts = {"host": env.get("DBT_POSTGRES_HOST", "localhost"), "port": env.get("DBT_POSTGRES_PORT", "5432"),
             "user": env.get("DBT_POSTGRES_USER", "smb"), "dbname": env.get("DBT_POSTGRES_DBNAME", "smb_warehouse")}
    return " ".join(f"{k}={v}" for k, v in parts.items())


def dbt_built_schemas(manifest: Path | None = None) -> set[str]:
    """Every schema the dbt project builds a model, seed or snapshot in (from the manifest)."""
    path = manifest or dbt_manifest.manifest_path()
    try:
        nodes = json.loads(Path(path).read_text(encoding="utf-8"))["nodes"].values()
    except (OSError, ValueError, KeyError) as exc:
        raise dbt_manifest.ManifestError(f"cannot read the dbt manifest {path} (run `dbt parse`): {exc}") from exc
    return {n["schema"] for n in nodes if n.get("resource_type") in dbt_manifest.RESOURCE_TYPES}


def load_postgres_extension(con: duckdb.DuckDBPyConnection) -> None:
    """LOAD DuckDB's postgres extension from the pip package duckdb-extension-postgres (no download)."""
    try:
        import duckdb_extension_postgres
    except ImportError as exc:
        raise RuntimeError("copying into PostgreSQL needs the package duckdb-extension-postgres "
                           f"(the version of duckdb, {duckdb.__version__})") from exc
    folder = Path(duckdb_extension_postgres.__file__).parent / "extensions"
    found = sorted(folder.glob(f"v{duckdb.__version__}/postgres.duckdb_extension"))
    if not found:
        raise RuntimeError(f"no postgres.duckdb_extension for duckdb {duckdb.__version__} under {folder}")
    # DuckDB derives the extension's entry point from the file name (postgres_scanner_duckdb_cpp_init) and
    # the package names the file postgres.duckdb_extension: load it through a link of the right name
    with tempfile.TemporaryDirectory(prefix="smb_pg_ext_") as tmp:
        link = Path(tmp) / "postgres_scanner.duckdb_extension"
        link.symlink_to(found[0])
        con.execute(f"LOAD {lit(str(link))}")


def tables_to_copy(con: duckdb.DuckDBPyConnection, catalog: str, exclude: set[str],
                   only: set[str] | None = None) -> list[tuple[str, str]]:
    rows = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? AND NOT internal "
        "ORDER BY schema_name, table_name", [catalog]).fetchall()
    return [(s, t) for s, t in rows
            if s not in exclude and s not in SYSTEM_SCHEMAS and (only is None or s in only)]


def _columns(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str) -> list[tuple[str, str]]:
    """(name, type) in order, as DuckDB names them; JSON as VARCHAR (DuckDB reads PostgreSQL json as VARCHAR)."""
    rows = con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? "
                       "AND schema_name = ? AND table_name = ? ORDER BY column_index", [catalog, schema, table]).fetchall()
    return [(name, "VARCHAR" if kind == "JSON" else kind) for name, kind in rows]


def copy_to_postgres(duckdb_path: Path, *, dsn: str | None = None, password: str | None = None,
                     manifest: Path | None = None, schemas: set[str] | None = None,
                     replace: bool = False) -> list[Copied]:
    """Copy the non-dbt tables of ``duckdb_path`` (read-only) into PostgreSQL; returns what was copied."""
    exclude = dbt_built_schemas(manifest)
    if schemas and schemas & exclude:
        raise ValueError(f"schemas built by dbt are not copied: {sorted(schemas & exclude)}")
    if password is None:
        password = os.environ.get("DBT_POSTGRES_PASSWORD") or None
    previous = os.environ.get("PGPASSWORD")
    if password:
        os.environ["PGPASSWORD"] = password
    con = open_duckdb()
    try:
        load_postgres_extension(con)
        con.execute(f"ATTACH {lit(str(duckdb_path))} AS src (READ_ONLY)")
        con.execute(f"ATTACH {lit(dsn or postgres_dsn())} AS {ALIAS} (TYPE postgres)")
        todo = tables_to_copy(con, "src", exclude, schemas)
        if not todo:
            raise ValueError(f"{duckdb_path}: no table outside the dbt schemas {sorted(exclude)} to copy")
        existing = {tuple(r) for r in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ?", [ALIAS]).fetchall()}
        clash = [(s, t) for s, t in todo if (s, t) in existing]
        if clash and not replace:
            raise ValueError("already in PostgreSQL (pass replace=True / --replace): "
                             + ", ".join(f"{s}.{t}" for s, t in clash))
        changed = [f"{s}.{t}" for s, t in clash if _columns(con, "src", s, t) != _columns(con, ALIAS, s, t)]
        if changed:
            raise ValueError("columns differ between DuckDB and PostgreSQL (drop these tables in PostgreSQL to "
                             f"recreate them): {', '.join(changed)}")
        copied: list[Copied] = []
        con.execute("BEGIN")
        try:
            for schema in sorted({s for s, _ in todo}):
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {ALIAS}.{ident(schema)}")
            for schema, table in todo:
                target = f"{ALIAS}.{ident(schema)}.{ident(table)}"
                source = f"src.{ident(schema)}.{ident(table)}"
                if (schema, table) in existing:
                    con.execute(f"DELETE FROM {target}")
                    con.execute(f"INSERT INTO {target} SELECT * FROM {source}")
                else:
                    con.execute(f"CREATE TABLE {target} AS SELECT * FROM {source}")
                want = con.execute(f"SELECT count(*) FROM {source}").fetchone()[0]
                got = con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]
                if got != want:
                    raise RuntimeError(f"{schema}.{table}: {want} rows in DuckDB, {got} in PostgreSQL")
                copied.append(Copied(schema, table, got))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return copied
    finally:
        con.close()
        if password:
            if previous is None:
                os.environ.pop("PGPASSWORD", None)
            else:
                os.environ["PGPASSWORD"] = previous


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m smb_warehouse.core.postgres_copy", description=__doc__.split("\n\n")[0])
    parser.add_argument("duckdb_path", type=Path, help="DuckDB warehouse file to copy from (opened read-only)")
    parser.add_argument("--schema", action="append", dest="schemas",
                        help="copy only this schema (repeatable; default: every schema dbt does not build)")
    parser.add_argument("--replace", action="store_true",
                        help="replace the rows of tables that already exist in PostgreSQL (same columns required)")
    parser.add_argument("--manifest", type=Path, help="dbt manifest (default: target/manifest.json or $SMB_DBT_MANIFEST)")
    args = parser.parse_args(argv)
    if not args.duckdb_path.exists():
        parser.error(f"{args.duckdb_path} does not exist")
    try:
        copied = copy_to_postgres(args.duckdb_path, manifest=args.manifest,
                                  schemas=set(args.schemas) if args.schemas else None, replace=args.replace)
    except (ValueError, RuntimeError, dbt_manifest.ManifestError, duckdb.Error) as exc:
        print(f"postgres_copy: {exc}", file=sys.stderr)
        return 1
    for c in copied:
        print(f"  {c.schema}.{c.table}: {c.rows} rows")
    print(f"copied {len(copied)} tables, {sum(c.rows for c in copied)} rows into PostgreSQL ({postgres_dsn()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
