"""Unattended operation is on by default: the nightly schedule and the sensors `make ui`'s daemon evaluates
(the run-failure alert itself is exercised on a real failed run in tests/test_end_to_end.py)."""
from __future__ import annotations

from dagster import DefaultScheduleStatus, DefaultSensorStatus, build_schedule_context

from orchestration.definitions import defs


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
