"""Unattended operation is on by default: the nightly schedule and the sensors `make ui`'s daemon evaluates
(the run-failure alert itself is exercised on a real failed run in tests/test_end_to_end.py)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import DefaultScheduleStatus, DefaultSensorStatus, build_schedule_context, instance_for_test

from orchestration.definitions import defs
from smb_warehouse.core.config import DAGSTER_YAML, environment


def test_the_nightly_schedule_requests_the_main_job_and_is_on_by_default(tmp_path):
    schedule = next(s for s in defs.schedules if s.name == "daily_warehouse_schedule")
    assert schedule.default_status == DefaultScheduleStatus.RUNNING
    assert schedule.job_name == "warehouse_job" and schedule.cron_schedule == "0 2 * * *"
    with environment({"SMB_DATA_DIR": str(tmp_path)}), instance_for_test() as instance:  # nothing published yet
        [request] = list(schedule.evaluate_tick(build_schedule_context(instance=instance)).run_requests)
    assert request.tags.get("warehouse/input_fingerprint")
    assert request.job_name in (None, "warehouse_job")


def test_sensors_that_keep_the_warehouse_current_are_on_by_default():
    status = {s.name: s.default_status for s in defs.sensors}
    # postgres_publish_sensor runs by default but requests nothing unless SMB_POSTGRES_PUBLISH is set
    running = {"landing_zone_sensor", "event_microbatch_sensor", "run_failure_alert", "postgres_publish_sensor"}
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


def test_every_public_mart_and_the_published_warehouse_carry_the_freshness_sla():
    """What BI reads has a Dagster freshness policy whose window is the dbt var the pipeline-health mart uses."""
    from dagster import AssetKey

    from smb_warehouse.core import dbt_manifest
    from smb_warehouse.core.dbt_project import freshness_sla_hours

    graph = defs.resolve_asset_graph()
    with_policy = {key: graph.get(key).freshness_policy for key in graph.get_all_asset_keys()
                   if graph.get(key).freshness_policy}
    publish = AssetKey("published_warehouse")
    relations = {graph.get(key).metadata["dagster/table_name"].removeprefix("warehouse.") for key in with_policy
                 if key != publish}
    assert publish in with_policy and relations == set(dbt_manifest.public_relations())
    sla = freshness_sla_hours()
    assert sla == 26
    for policy in with_policy.values():
        assert policy.fail_window.to_timedelta().total_seconds() == sla * 3600
        assert policy.warn_window.to_timedelta().total_seconds() < sla * 3600


@pytest.mark.slow
def test_the_daemon_judges_the_published_marts_fresh_then_stale_after_the_sla():
    """Dagster's freshness daemon (what `make ui` runs) on this code location: a mart and the publish built now
    pass, the same builds seen 25 h later warn, 27 h later fail; a mart never built is unknown, not fresh."""
    import time
    from unittest import mock

    import dagster._core.definitions.freshness_evaluator as evaluator
    from dagster import AssetKey, AssetMaterialization, instance_for_test
    from dagster._core.definitions.freshness import FreshnessState
    from dagster._core.test_utils import create_test_daemon_workspace_context
    from dagster._core.workspace.load_target import ModuleTarget
    from dagster._daemon.freshness import FreshnessDaemon

    publish, mart, never = (AssetKey("published_warehouse"), AssetKey(["marts", "kpi_finance__dso_dpo"]),
                            AssetKey(["marts", "kpi_finance__cash_position"]))
    target = ModuleTarget(module_name="orchestration.definitions", attribute="defs",
                          working_directory=str(Path(__file__).resolve().parents[1]), location_name="smb_warehouse")
    with instance_for_test() as instance:
        for key in (publish, mart):
            instance.report_runless_asset_event(AssetMaterialization(key))
        with create_test_daemon_workspace_context(target, instance) as context:
            states = []
            for hours_later in (0, 25, 27):
                with mock.patch.object(evaluator, "get_current_timestamp", return_value=time.time() + hours_later * 3600):
                    list(FreshnessDaemon().run_iteration(context))
                records = instance.get_freshness_state_records([publish, mart, never])
                states.append(tuple(records[k].freshness_state for k in (publish, mart, never)))
    assert states == [(FreshnessState.PASS, FreshnessState.PASS, FreshnessState.UNKNOWN),
                      (FreshnessState.WARN, FreshnessState.WARN, FreshnessState.UNKNOWN),
                      (FreshnessState.FAIL, FreshnessState.FAIL, FreshnessState.UNKNOWN)]
