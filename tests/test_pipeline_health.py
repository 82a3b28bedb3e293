"""Pipeline history in the warehouse (orchestration/dbt/results.py) and the SLA mart kpi_platform__pipeline_health."""
from __future__ import annotations

import json

from dagster import AssetKey

from orchestration.dbt.assets import DBT_PROJECT
from orchestration.dbt.check_placement import dbt_steps
from orchestration.dbt.results import node_results_frame
from orchestration.definitions import defs
from tests.support import query


def test_run_results_become_typed_rows():
    run_results = {"metadata": {"invocation_id": "inv-1"}, "results": [
        {"unique_id": "model.smb_warehouse.dim_location", "status": "success", "execution_time": 0.25,
         "adapter_response": {"rows_affected": 12}, "failures": None, "message": "OK",
         "timing": [{"completed_at": "2026-11-30T06:26:17.50Z"}, {"completed_at": "2026-11-30T06:26:17.61Z"}]},
        {"unique_id": "test.smb_warehouse.not_null_dim_location_location_id.abc", "status": "warn",
         "execution_time": 0.01, "adapter_response": {}, "failures": 3, "message": "x" * 900, "timing": []}]}
    frame = node_results_frame(run_results, "run-1", "warehouse_dbt_models_2")
    assert list(frame["resource_type"]) == ["model", "test"] and list(frame["status"]) == ["success", "warn"]
    assert frame["rows_affected"].tolist()[0] == 12 and frame["rows_affected"].isna().tolist() == [False, True]
    assert frame["failures"].isna().tolist() == [True, False] and frame["failures"].tolist()[1] == 3
    assert len(frame["message"][1]) == 500 and set(frame["invocation_id"]) == {"inv-1"}
    assert str(frame["completed_at"][0]) == "2026-11-30 06:26:17.610000" and frame["completed_at"].isna().tolist()[1]


def test_the_shared_run_recorded_every_dbt_step_and_the_kpi_counts_them(tiny_run):
    published = tiny_run["published"]
    steps = dbt_steps(defs.resolve_job_def("warehouse_job"))
    kpi_step = next(s for s, keys in steps.items() if AssetKey(["marts", "kpi_platform__pipeline_health"]) in keys)
    recorded = dict(query(published, "SELECT dbt_step, count(*) FROM ops.dbt_node_results GROUP BY 1"))
    assert set(recorded) == set(steps)  # every dbt step of the run wrote its results
    assert query(published, "SELECT count(DISTINCT run_id) FROM ops.dbt_node_results") == [(1,)]
    models_built = query(published, "SELECT count(*) FROM ops.dbt_node_results WHERE resource_type = 'model' "
                                    "AND status = 'success'")[0][0]
    manifest = json.loads(DBT_PROJECT.manifest_path.read_text())
    assert models_built == sum(n["resource_type"] == "model" and n["config"]["materialized"] != "ephemeral"
                               for n in manifest["nodes"].values())
    [(tests_before_kpi, failed_before_kpi)] = query(
        published, "SELECT count(*), count(*) FILTER (WHERE status IN ('fail', 'error')) FROM ops.dbt_node_results "
                   "WHERE resource_type = 'test' AND dbt_step <> ?", [kpi_step])
    assert tests_before_kpi > 200
    [run] = query(published, "SELECT job_name, status, ended_at FROM ops.pipeline_runs")
    assert run == ("warehouse_job", "STARTED", None)  # the history as the run's last dbt step saw it
    [kpi] = query(published, "SELECT job_name, runs, runs_succeeded, runs_failed, success_rate, tests_run, tests_failed, "
                             "last_success_at, is_within_freshness_sla FROM marts.kpi_platform__pipeline_health")
    assert kpi == ("warehouse_job", 1, 0, 0, None, tests_before_kpi, failed_before_kpi, None, None)
