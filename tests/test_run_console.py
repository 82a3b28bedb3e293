"""`make demo` is quiet: one line per step (ingestion as one), elapsed times, the log file named, then where
everything is; read from the shared run, which goes through the same code path (orchestration.cli.demo)."""
from __future__ import annotations

import re
from pathlib import Path

from orchestration.definitions import defs
from orchestration.lib.run_console import step_labels


def test_the_demo_prints_one_line_per_step_and_under_60_lines(tiny_run):
    lines = tiny_run["terminal"].splitlines()
    assert len(lines) < 60, tiny_run["terminal"]
    header = re.fullmatch(r"warehouse_job: full log in (\S+\.log)", lines[0])
    assert header and Path(header[1]).parent == tiny_run["root"] / "logs"
    steps = [m.groups() for m in (re.fullmatch(r"  ok\s+(.+?)\s+(\d+\.\d) s", line) for line in lines) if m]
    job = defs.resolve_job_def("warehouse_job")
    others = [n.name for n in job.graph.nodes if not n.name.startswith("raw__")]
    entities = sum(n.name.startswith("raw__") for n in job.graph.nodes)
    labels = step_labels(job)
    assert steps[0][0] == f"load: {entities} entities"
    assert sorted(label for label, _ in steps[1:]) == sorted(labels.get(name, name) for name in others)
    assert any(label.startswith("dbt: ") and "tests" in label for label, _ in steps)
    assert re.fullmatch(r"succeeded in \d+ s", lines[len(steps) + 1])
    assert "Warehouse published." in tiny_run["terminal"] and "Traceback" not in tiny_run["terminal"]
    # the details went to the log: dbt's output and every Dagster event
    log = Path(header[1]).read_text()
    assert "STEP_SUCCESS" in log and "published_warehouse" in log and len(log.splitlines()) > 10 * len(lines)
