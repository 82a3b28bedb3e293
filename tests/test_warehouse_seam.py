"""Write-audit-publish at the file level: candidates are copies, publish is an atomic swap, readers of
the old file are unaffected, and an unpublished candidate never leaks into the published warehouse."""
from __future__ import annotations

import duckdb
import pytest

from smb_warehouse.core.warehouse import Warehouse


def _count(path, table="t"):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        con.close()


def test_candidate_starts_as_copy_and_publish_swaps_atomically(tmp_path):
    wh = Warehouse(tmp_path)
    with wh.connect("run1") as con:
        con.execute("CREATE TABLE t AS SELECT * FROM range(3)")
    assert not wh.published_path.exists()
    wh.publish("run1")
    assert _count(wh.published_path) == 3 and not wh.candidate_file.exists()

    reader = duckdb.connect(str(wh.published_path), read_only=True)  # a BI tool holding the old file
    with wh.connect("run2") as con:
        assert con.execute("SELECT count(*) FROM t").fetchone()[0] == 3  # copy of what was published
        con.execute("INSERT INTO t SELECT * FROM range(10)")
    assert _count(wh.published_path) == 3  # candidate writes are invisible until publish
    wh.publish("run2")
    assert reader.execute("SELECT count(*) FROM t").fetchone()[0] == 3  # old readers keep their snapshot
    reader.close()
    assert _count(wh.published_path) == 13


def test_failed_run_leaves_published_untouched(tmp_path):
    wh = Warehouse(tmp_path)
    with wh.connect("good") as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
    wh.publish("good")
    before = wh.published_path.read_bytes()
    with pytest.raises(RuntimeError), wh.connect("bad") as con:
        con.execute("DROP TABLE t")
        raise RuntimeError("a check failed")
    assert wh.published_path.read_bytes() == before
    with pytest.raises(FileNotFoundError):  # only the run that owns the candidate may publish it
        wh.publish("another-run")
    with wh.connect("next") as con:  # the next run starts from the published file, not the failed candidate
        assert con.execute("SELECT x FROM t").fetchall() == [(1,)]
