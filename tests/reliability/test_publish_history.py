"""Publish as a compacted copy (the file does not grow from rewrites), the last N publishes kept, rollback in
one atomic step, the BI copy (public relations only) that no reader can block, and recovery of a publish
killed half way."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from smb_warehouse.core import dbt_manifest
from smb_warehouse.core.warehouse import KEEP_PUBLISHES_ENV, NoEarlierPublish, Warehouse

ROOT = Path(__file__).resolve().parents[2]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rows(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _run(wh: Warehouse, run_id: str, sql: str, relations=None) -> None:
    with wh.connect(run_id) as con:
        con.execute(sql)
    wh.publish(run_id, relations)
    wh.release(run_id)


def test_publish_is_compacted_so_rewrites_do_not_grow_the_file(tmp_path):
    wh = Warehouse(tmp_path)
    build = "CREATE OR REPLACE TABLE t AS SELECT range AS id, md5(range::VARCHAR || '{n}') AS v FROM range(300000)"
    _run(wh, "r0", build.format(n=0), relations=[])
    first = wh.published_path.stat().st_size
    sizes, candidate_sizes = [], []
    for n in range(1, 4):
        with wh.connect(f"r{n}") as con:
            for k in range(4):  # what dbt does to a table model: rebuild it, again and again
                con.execute(build.format(n=f"{n}-{k}"))
            con.execute("CHECKPOINT")
        candidate_sizes.append(wh.candidate_file.stat().st_size)
        wh.publish(f"r{n}", [])
        wh.release(f"r{n}")
        sizes.append(wh.published_path.stat().st_size)
    assert max(candidate_sizes) > 1.5 * first  # the candidate did grow: there was something to compact
    # a compacted copy's size varies by DuckDB's parallel block layout (measured -5% .. +14% of the first
    # publish), not with the number of rewrites; without compaction it is the candidate's 4.8x
    assert max(sizes) <= 1.25 * first, (first, sizes, candidate_sizes)
    assert _rows(wh.published_path, "SELECT count(*), count(DISTINCT v) FROM t") == [(300000, 300000)]


def test_the_compacted_copy_carries_every_object_and_the_rows_in_their_order(tmp_path, monkeypatch):
    from smb_warehouse.core import warehouse

    monkeypatch.setattr(warehouse, "COMPACT_CHECKPOINT_ROWS", 1000)  # a checkpoint between the two big tables
    source = tmp_path / "source.duckdb"
    con = duckdb.connect(str(source))
    con.execute("CREATE SCHEMA marts")
    for name in ("fct_a", "fct_b"):  # a primary key each: an index rebuilt with the table's copy
        con.execute(f"CREATE TABLE marts.{name} (id VARCHAR PRIMARY KEY, amount DECIMAL(18, 4) NOT NULL, day DATE)")
        con.execute(f"INSERT INTO marts.{name} SELECT 'k' || (5000 - i), i / 3, DATE '2024-01-01' + i::INT FROM range(5000) r(i)")
    con.execute("COMMENT ON TABLE marts.fct_a IS 'facts'; COMMENT ON COLUMN marts.fct_a.amount IS 'EUR'")
    con.execute("CREATE VIEW marts.v AS SELECT count(*) AS n FROM marts.fct_b")
    con.execute("CREATE MACRO marts.plus_one(x) AS x + 1")
    con.execute("CREATE TABLE main.empty (a INTEGER)")
    con.close()
    target = tmp_path / "copy.duckdb"
    warehouse.compact_copy(source, target)
    with pytest.raises(FileExistsError):
        warehouse.compact_copy(source, target)
    for table in ("marts.fct_a", "marts.fct_b"):
        assert _rows(target, f"SELECT * FROM {table}") == _rows(source, f"SELECT * FROM {table}")  # same order
    assert _rows(target, "SELECT n, marts.plus_one(1) FROM marts.v") == [(5000, 2)]
    assert _rows(target, "SELECT comment FROM duckdb_tables() WHERE table_name = 'fct_a' UNION ALL "
                         "SELECT comment FROM duckdb_columns() WHERE table_name = 'fct_a' AND column_name = 'amount'"
                 ) == [("facts",), ("EUR",)]
    assert _rows(target, "SELECT table_name, constraint_text FROM duckdb_constraints() "
                         "WHERE constraint_type = 'PRIMARY KEY' ORDER BY 1") == [
        ("fct_a", "PRIMARY KEY(id)"), ("fct_b", "PRIMARY KEY(id)")]
    assert _rows(target, "SELECT count(*) FROM main.empty") == [(0,)]


def test_last_n_publishes_are_kept_and_rollback_restores_the_previous_one(tmp_path, monkeypatch):
    monkeypatch.setenv(KEEP_PUBLISHES_ENV, "2")
    wh = Warehouse(tmp_path)
    digests = {}
    for n in (1, 2, 3):
        sql = f"CREATE SCHEMA IF NOT EXISTS marts; CREATE OR REPLACE TABLE marts.dim_date AS SELECT {n} AS publish_no"
        _run(wh, f"run{n}", sql, relations=["marts.dim_date"])
        digests[n] = _sha(wh.published_path)
    assert [e.run_id for e in wh.history()] == ["run2", "run3"]  # run1 dropped by retention
    assert wh.current_publish().run_id == "run3"

    came_from, went_to = wh.rollback("rollback-1")
    assert (came_from.run_id, went_to.run_id) == ("run3", "run2")
    assert _sha(wh.published_path) == digests[2]  # byte for byte the earlier publish
    assert _rows(wh.bi_path, "SELECT publish_no FROM marts.dim_date") == [(2,)]
    assert _rows(wh.bi_path, "SELECT run_id FROM meta.publish_info") == [("run2",)]
    with pytest.raises(NoEarlierPublish, match="oldest kept publish"):
        wh.rollback("rollback-2")
    # the next run starts from the restored publish
    with wh.connect("run4") as con:
        assert con.execute("SELECT publish_no FROM marts.dim_date").fetchall() == [(2,)]
    wh.release("run4")


def test_bi_copy_holds_only_the_public_relations(tmp_path):
    public = dbt_manifest.public_relations()
    assert "marts.dim_customer" in public and not any(r.split(".")[0] in {"raw", "staging", "intermediate"} for r in public)
    wh = Warehouse(tmp_path)
    _run(wh, "run1", "CREATE SCHEMA raw; CREATE TABLE raw.erp__customers AS SELECT 'a@b.example' AS email; "
                     "CREATE SCHEMA staging; CREATE VIEW staging.stg_erp__customers AS SELECT * FROM raw.erp__customers; "
                     "CREATE SCHEMA marts; CREATE TABLE marts.dim_date AS SELECT DATE '2024-01-01' AS date_day; "
                     "CREATE TABLE marts.internal_thing AS SELECT 1 AS x")
    tables = _rows(wh.bi_path, "SELECT schema_name || '.' || table_name FROM duckdb_tables() ORDER BY 1")
    assert tables == [("marts.dim_date",), ("meta.publish_info",)]
    assert _rows(wh.bi_path, "SELECT count(*) FROM duckdb_views() WHERE NOT internal") == [(0,)]
    missing = _rows(wh.bi_path, "SELECT missing_relations FROM meta.publish_info")[0][0]
    assert "marts.dim_customer" in missing  # named, not silently absent


READER = textwrap.dedent("""
    import sys, duckdb
    con = duckdb.connect(sys.argv[1])   # READ-WRITE, the DuckDB CLI's default
    print(con.execute("SELECT publish_no FROM marts.dim_date").fetchone()[0], flush=True)
    sys.stdin.readline()
    print(con.execute("SELECT publish_no FROM marts.dim_date").fetchone()[0], flush=True)
""")


def test_a_reader_holding_the_bi_copy_read_write_does_not_stop_the_next_publish(tmp_path):
    wh = Warehouse(tmp_path)
    _run(wh, "run1", "CREATE SCHEMA marts; CREATE TABLE marts.dim_date AS SELECT 1 AS publish_no", relations=["marts.dim_date"])
    reader = subprocess.Popen([sys.executable, "-c", READER, str(wh.bi_path)], cwd=ROOT, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "1"  # the reader holds its read-write connection
        with pytest.raises(duckdb.IOException):  # ...which locks the file against everyone else
            duckdb.connect(str(wh.bi_path), read_only=True)
        _run(wh, "run2", "CREATE OR REPLACE TABLE marts.dim_date AS SELECT 2 AS publish_no", relations=["marts.dim_date"])
        assert _rows(wh.bi_path, "SELECT publish_no FROM marts.dim_date") == [(2,)]  # new readers see the new publish
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "1"  # the old reader keeps its consistent snapshot
    finally:
        reader.kill()
        reader.wait()


def test_a_publish_killed_after_the_rename_is_completed_by_the_next_claim(tmp_path, monkeypatch):
    wh = Warehouse(tmp_path)
    _run(wh, "run1", "CREATE SCHEMA marts; CREATE TABLE marts.dim_date AS SELECT 1 AS publish_no", relations=["marts.dim_date"])
    with wh.connect("run2") as con:
        con.execute("CREATE OR REPLACE TABLE marts.dim_date AS SELECT 2 AS publish_no")

    def killed(*args, **kwargs):
        raise SystemExit("killed between the rename and the history link")

    monkeypatch.setattr(os, "link", killed)
    with pytest.raises(SystemExit):
        wh.publish("run2", ["marts.dim_date"])
    monkeypatch.undo()
    wh.release("run2")
    assert _rows(wh.published_path, "SELECT publish_no FROM marts.dim_date") == [(2,)]  # it had published
    assert wh.current_publish() is None and _rows(wh.bi_path, "SELECT publish_no FROM marts.dim_date") == [(1,)]
    assert wh.bi_path.with_name("warehouse.duckdb.partial").exists()
    wh.ensure_candidate("run3")  # the next run's claim completes it
    assert wh.current_publish() is not None and len(wh.history()) == 2
    assert not wh.bi_path.with_name("warehouse.duckdb.partial").exists()
    assert wh.bi_publish_id() == wh.current_publish().publish_id
    wh.release("run3")
