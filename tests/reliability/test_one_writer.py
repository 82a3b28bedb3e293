"""One writer at a time: the writer lock on the warehouse directory, taken when a run claims its candidate,
excludes a second run in another process (refused at once with a message naming the holder, or after a
bounded wait), and dies with its process (SIGKILL leaves no stale lock)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from smb_warehouse.core.warehouse import Warehouse
from smb_warehouse.core.writer_lock import WAIT_ENV, WarehouseBusy

ROOT = Path(__file__).resolve().parents[2]

HOLDER = textwrap.dedent("""
    import sys, time
    from smb_warehouse.core.warehouse import Warehouse
    wh = Warehouse(sys.argv[1])
    with wh.connect("run-A") as con:          # claims the candidate: takes the writer lock
        con.execute("CREATE OR REPLACE TABLE t AS SELECT 'A' AS by_run")
    print("claimed", flush=True)
    time.sleep(float(sys.argv[2]))
    wh.publish("run-A")
    wh.release("run-A")
    print("published", flush=True)
""")


def _start_holder(root: Path, hold_seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(root), str(hold_seconds)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.strip() == "claimed", (line, proc.stderr.read() if proc.poll() is not None else "")
    return proc


def _published_value(wh: Warehouse) -> str:
    con = duckdb.connect(str(wh.published_path), read_only=True)
    try:
        return con.execute("SELECT by_run FROM t").fetchone()[0]
    finally:
        con.close()


def test_a_second_run_is_refused_at_once_naming_the_holder(tmp_path, monkeypatch):
    monkeypatch.setenv(WAIT_ENV, "0")
    holder = _start_holder(tmp_path, hold_seconds=30)
    try:
        wh = Warehouse(tmp_path)
        started = time.monotonic()
        with pytest.raises(WarehouseBusy) as refused:
            wh.ensure_candidate("run-B")
        assert time.monotonic() - started < 5
        message = str(refused.value)
        assert "another run holds the warehouse" in message
        assert "run run-A" in message and f"pid {holder.pid}" in message and "started at" in message
        assert wh._owner() == "run-A"  # the refused run touched nothing: the holder's candidate is intact
    finally:
        holder.kill()
        holder.wait()


def test_a_second_run_waits_for_the_first_then_publishes_on_top_of_it(tmp_path, monkeypatch):
    monkeypatch.setenv(WAIT_ENV, "120")
    holder = _start_holder(tmp_path, hold_seconds=2)
    wh = Warehouse(tmp_path)
    with wh.connect("run-B") as con:  # blocks until run-A has published and released
        assert con.execute("SELECT by_run FROM t").fetchall() == [("A",)]  # starts from A's publish: nothing lost
        con.execute("INSERT INTO t VALUES ('B')")
    assert holder.wait(timeout=60) == 0 and holder.stdout.read().strip() == "published"
    wh.publish("run-B")
    wh.release("run-B")
    con = duckdb.connect(str(wh.published_path), read_only=True)
    assert sorted(con.execute("SELECT by_run FROM t").fetchall()) == [("A",), ("B",)]
    con.close()
    assert [e.run_id for e in wh.history()] == ["run-A", "run-B"]


def test_sigkill_of_the_holder_frees_the_lock_and_leaves_the_published_file(tmp_path, monkeypatch):
    monkeypatch.setenv(WAIT_ENV, "0")
    wh = Warehouse(tmp_path)
    with wh.writer("run-0"), wh.connect("run-0") as con:
        con.execute("CREATE TABLE t AS SELECT 'zero' AS by_run")
        con.close()
        wh.publish("run-0")
    before = wh.published_path.read_bytes()
    holder = _start_holder(tmp_path, hold_seconds=60)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    with wh.connect("run-C") as con:  # no stale lock; the killed run's candidate is replaced by a fresh copy
        assert con.execute("SELECT by_run FROM t").fetchall() == [("zero",)]
    assert wh.published_path.read_bytes() == before
    assert _published_value(wh) == "zero"
    wh.release("run-C")


def test_two_runs_in_one_process_exclude_each_other_too(tmp_path, monkeypatch):
    monkeypatch.setenv(WAIT_ENV, "0")
    wh = Warehouse(tmp_path)
    wh.ensure_candidate("run-1")
    with pytest.raises(WarehouseBusy, match="run run-1"):
        Warehouse(tmp_path).ensure_candidate("run-2")
    wh.ensure_candidate("run-1")  # re-entrant for the same run
    assert wh.release("run-1") and not wh.release("run-1")
    Warehouse(tmp_path).ensure_candidate("run-2")
    assert wh.release("run-2")


def test_a_bad_wait_setting_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv(WAIT_ENV, "soon")
    with pytest.raises(ValueError, match=WAIT_ENV):
        Warehouse(tmp_path).ensure_candidate("run-1")
