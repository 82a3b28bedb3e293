"""smb_warehouse.core.postgres_copy: the tables dbt reads but does not build go from a DuckDB file into
PostgreSQL with their names, types and rows; dbt's own schemas stay behind; an existing table is refused
unless replaced (rows only, same columns). Runs on the throwaway PostgreSQL server of
test_cross_db_engines (skipped without it)."""
from __future__ import annotations

import json

import duckdb
import pytest

from smb_warehouse.core import postgres_copy
from tests.dbt.test_cross_db_engines import postgres  # noqa: F401  (the module-scoped server fixture)


@pytest.fixture()
def warehouse(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema raw; create schema ml; create schema staging")
    con.execute("create table raw.erp__things (id varchar not null, amount decimal(18, 4), loaded_at timestamp, "
                "day date, _extra_columns json, ok boolean, n bigint)")
    con.execute("insert into raw.erp__things values ('a', 1.5, '2024-01-02 03:04:05', '2024-01-02', '{\"x\": 1}', true, 7), "
                "('b', null, null, null, null, null, null)")
    con.execute("create table ml.scores (k integer, score double)")
    con.execute("insert into ml.scores values (1, 0.1), (2, 1e-300)")
    con.execute("create table staging.built_by_dbt (k integer)")
    con.close()
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"nodes": {"model.p.x": {"resource_type": "model", "schema": "staging"}}}))
    return path, manifest


def test_copies_every_table_dbt_does_not_build(postgres, warehouse):  # noqa: F811
    path, manifest = warehouse
    dsn = f"host=127.0.0.1 port={postgres.info.port} user=postgres dbname=postgres"
    cur = postgres.cursor()
    cur.execute("drop schema if exists raw cascade; drop schema if exists ml cascade; drop schema if exists staging cascade")
    copied = postgres_copy.copy_to_postgres(path, dsn=dsn, manifest=manifest)
    assert [(c.schema, c.table, c.rows) for c in copied] == [("ml", "scores", 2), ("raw", "erp__things", 2)]
    cur.execute("select table_schema, table_name, column_name, data_type from information_schema.columns "
                "where table_schema in ('raw', 'ml', 'staging') order by 1, 2, ordinal_position")
    assert [r[2:] for r in cur.fetchall()] == [
        ("k", "integer"), ("score", "double precision"), ("id", "character varying"), ("amount", "numeric"),
        ("loaded_at", "timestamp without time zone"), ("day", "date"), ("_extra_columns", "json"), ("ok", "boolean"),
        ("n", "bigint")]
    cur.execute("select id, amount, loaded_at::text, day::text, _extra_columns::text, ok, n from raw.erp__things order by id")
    assert cur.fetchall() == [("a", pytest.approx(1.5), "2024-01-02 03:04:05", "2024-01-02", '{"x": 1}', True, 7),
                              ("b", None, None, None, None, None, None)]
    cur.execute("select score from ml.scores order by k")
    assert [r[0] for r in cur.fetchall()] == [0.1, 1e-300]

    with pytest.raises(ValueError, match="already in PostgreSQL.*raw.erp__things"):
        postgres_copy.copy_to_postgres(path, dsn=dsn, manifest=manifest)
    # replace: new rows, the same table (a view over it, as dbt's staging views over raw, stays valid)
    cur.execute("create view ml.v as select * from ml.scores")
    with duckdb.connect(str(path)) as con:
        con.execute("insert into ml.scores values (3, 0.3)")
    again = postgres_copy.copy_to_postgres(path, dsn=dsn, manifest=manifest, schemas={"ml"}, replace=True)
    assert [(c.schema, c.table, c.rows) for c in again] == [("ml", "scores", 3)]
    cur.execute("select count(*) from ml.v")
    assert cur.fetchone() == (3,)
    # a table whose columns changed is refused, not half-replaced
    with duckdb.connect(str(path)) as con:
        con.execute("alter table ml.scores add column note varchar")
    with pytest.raises(ValueError, match="columns differ.*ml.scores"):
        postgres_copy.copy_to_postgres(path, dsn=dsn, manifest=manifest, replace=True)
    with pytest.raises(ValueError, match="built by dbt"):
        postgres_copy.copy_to_postgres(path, dsn=dsn, manifest=manifest, schemas={"staging"})
    cur.execute("drop schema raw cascade; drop schema ml cascade")
