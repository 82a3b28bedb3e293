"""The BI connections the README documents, exercised on the tiny run's BI copy
(``<warehouse dir>/bi/warehouse.duckdb``): the DuckDB CLI read-only, and SQLAlchemy with the ``duckdb`` dialect
(duckdb-sqlalchemy), which is what Superset, Metabase-style Python tools, pandas.read_sql and notebooks use.
Both must see the public marts with their descriptions and must not be able to write."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from smb_warehouse.core.warehouse import Warehouse
from tests.support import environment, query, run_env

DUCKDB_CLI = Path(sys.executable).with_name("duckdb")


@pytest.fixture(scope="module")
def bi_copy(tiny_run) -> Path:
    with environment(run_env(tiny_run["root"], tiny_run["landing"])):
        return Warehouse().bi_path


def _expected(bi: Path) -> tuple[set[str], dict[tuple[str, str], str]]:
    tables = {t for (t,) in query(bi, "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'")}
    comments = {(t, c): comment for t, c, comment in query(
        bi, "SELECT table_name, column_name, comment FROM duckdb_columns() WHERE schema_name = 'marts'")}
    return tables, comments


def test_duckdb_cli_reads_the_bi_copy_read_only_with_descriptions(bi_copy):
    tables, comments = _expected(bi_copy)
    assert len(tables) >= 30 and all(comments.values())
    sql = ("SELECT count(*) FILTER (WHERE comment IS NOT NULL AND comment <> ''), count(*) FROM duckdb_columns() "
           "WHERE schema_name = 'marts'")
    out = subprocess.run([str(DUCKDB_CLI), "-readonly", "-csv", "-noheader", str(bi_copy), "-c", sql],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"{len(comments)},{len(comments)}"
    write = subprocess.run([str(DUCKDB_CLI), "-readonly", str(bi_copy), "-c", "CREATE TABLE marts.x AS SELECT 1"],
                           capture_output=True, text=True, timeout=120)
    assert write.returncode != 0 and "read-only" in (write.stdout + write.stderr).lower()


def test_sqlalchemy_reflects_every_public_mart_with_its_comments_and_queries_it(bi_copy):
    tables, comments = _expected(bi_copy)
    (expected_rows,), = query(bi_copy, "SELECT count(*) FROM marts.kpi_finance__dso_dpo")
    engine = sa.create_engine(f"duckdb:///{bi_copy}", connect_args={"read_only": True})
    try:
        inspector = sa.inspect(engine)
        assert set(inspector.get_table_names(schema="marts")) == tables
        reflected = sa.MetaData()
        reflected.reflect(engine, schema="marts")
        seen = {(t.name, c.name): c.comment for t in reflected.tables.values() for c in t.columns}
        assert seen == comments
        table = reflected.tables["marts.kpi_finance__dso_dpo"]
        assert inspector.get_table_comment("kpi_finance__dso_dpo", schema="marts")["text"]
        with engine.connect() as con:
            rows = con.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            assert rows == expected_rows > 0
            with pytest.raises(sa.exc.DBAPIError, match="read-only"):
                con.execute(sa.text("CREATE TABLE marts.x AS SELECT 1"))
    finally:
        engine.dispose()
