"""Two Dagster runs started at the same moment on one warehouse, in two processes (as two `make demo`, or the
UI and the CLI, would): exactly one publishes; the other is refused at once with a message naming the run
that holds the warehouse; nothing is lost, and the next run, once the first is done, starts from its publish."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.faults import check_rows, counting_conventions
from smb_warehouse.core.warehouse import Warehouse
from tests.support import environment, query

ROOT = Path(__file__).resolve().parents[2]


def _start(env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "benchmarks.faults", "child", "--mode", "ingest"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.scenario
def test_two_concurrent_runs_one_publishes_the_other_is_refused_clearly(tiny_sources, tmp_path):
    landing, _ = tiny_sources
    env = {**os.environ, "SMB_DATA_DIR": str(tmp_path / "data"), "SMB_LANDING_DIR": str(landing),
           "SMB_WRITER_WAIT_SECONDS": "0", "PYTHONUNBUFFERED": "1"}
    env.pop("MLFLOW_TRACKING_URI", None)
    first, second = _start(env), _start(env)
    outputs = [p.communicate(timeout=1800)[0] for p in (first, second)]
    codes = [first.returncode, second.returncode]
    assert sorted(codes) == [0, 1], (codes, [o[-3000:] for o in outputs])
    refused = outputs[codes.index(1)]
    assert "another run holds the warehouse" in refused and "holds the writer lock" in refused, refused[-3000:]
    winner_pid = (first if codes[0] == 0 else second).pid
    assert f"pid {winner_pid}" in refused  # the message names the run that holds it

    with environment({"SMB_DATA_DIR": str(tmp_path / "data"), "SMB_LANDING_DIR": str(landing)}):
        wh = Warehouse()
        assert len(wh.history()) == 1 and wh.bi_publish_id() == wh.current_publish().publish_id
        rows = check_rows(wh.published_path, landing, counting_conventions(wh.published_path, landing))
        assert (rows.lost, rows.doubled) == (0, 0), rows.notes[:5]
        loaded = query(wh.published_path, "SELECT count(*), sum(rows_loaded) FROM raw.load_audit WHERE status = 'loaded'")
        # the refused run changed nothing; a run after the winner loads nothing twice
        started = time.monotonic()
        again = _start(env)
        out = again.communicate(timeout=1800)[0]
        assert again.returncode == 0, out[-3000:]
        assert time.monotonic() - started < 1800
        assert query(wh.published_path, "SELECT count(*), sum(rows_loaded) FROM raw.load_audit WHERE status = 'loaded'") == loaded
        assert len(wh.history()) == 2
