"""Three fault-injection trials in CI (`make test-scenarios`; the fast mode of benchmarks/faults.py: the write-audit-publish path
and the loader for every entity, without Dagster and dbt; `make test-faults` runs 20 trials of the main
Dagster job): a run SIGKILLed at a step boundary, inside the publish and inside a load leaves the published
warehouse as it was or completely new, the next run recovers, and no row is lost or doubled."""
from __future__ import annotations

import shutil

import pytest

from benchmarks.faults import run_trials


@pytest.mark.scenario  # three killed runs and their recoveries in subprocesses: about a minute (make test-scenarios)
def test_three_killed_runs_leave_a_consistent_warehouse_and_the_next_run_recovers(tiny_sources, tmp_path):
    landing, _ = tiny_sources
    shutil.copytree(landing, tmp_path / "landing")  # generated once per session; the trials add batches to a copy
    report = run_trials(3, mode="fast", workdir=tmp_path)
    assert report.trials == 3 and report.killed == 3, report.kill_points
    assert report.inconsistent_publishes == 0, report.problems
    assert report.failed_recoveries == 0, report.problems
    assert (report.rows_lost, report.rows_doubled) == (0, 0), report.problems
    assert report.unchanged_publishes + report.complete_new_publishes == 3
