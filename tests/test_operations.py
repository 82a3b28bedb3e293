"""Unattended operation is on by default: the nightly schedule and the sensors `make ui`'s daemon evaluates
(the run-failure alert itself is exercised on a real failed run in tests/test_end_to_end.py)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dagster import DefaultScheduleStatus, DefaultSensorStatus, build_schedule_context

from orchestration.definitions import defs
from smb_warehouse.core.config import DAGSTER_YAML


def test_the_nightly_schedule_requests_the_main_job_and_is_on_by_default():
    schedule = next(s for s in defs.schedules if s.name == "daily_warehouse_schedule")
    assert schedule.default_status == DefaultScheduleStatus.RUNNING
    assert schedule.job_name == "warehouse_job" and schedule.cron_schedule == "0 2 * * *"
    [request] = list(schedule.evaluate_tick(build_schedule_context()).run_requests)
    assert request.job_name in (None, "warehouse_job")


def test_sensors_that_keep_the_warehouse_current_are_on_by_default():
    status = {s.name: s.default_status for s in defs.sensors}
    running = {"landing_zone_sensor", "event_microbatch_sensor", "run_failure_alert"}
    assert {name for name, st in status.items() if st == DefaultSensorStatus.RUNNING} == running
    # retraining on drift stays a decision someone turns on (it replaces the serving model's candidate)
    assert status["forecast_drift_sensor"] == DefaultSensorStatus.STOPPED


def test_the_code_location_loads_as_make_ui_and_the_daemon_load_it(tmp_path):
    """`dagster dev` loads orchestration.definitions as a module (pyproject's [tool.dagster]), which Dagster accepts
    only with exactly one Definitions at its top level: `dagster definitions validate` does the same load."""

    (tmp_path / "dagster.yaml").write_text(DAGSTER_YAML)
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-m", "dagster", "definitions", "validate"], cwd=root, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "DAGSTER_HOME": str(tmp_path),
                                                       "SMB_DATA_DIR": str(tmp_path / "data")})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "All code locations passed validation" in done.stdout + done.stderr
