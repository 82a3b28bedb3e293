"""Pipeline history in the warehouse: every dbt step records its node results and the Dagster run history
into the run's candidate (``ops.dbt_node_results``, ``ops.pipeline_runs``, declared in
models/sources/_ops__sources.yml), which ``kpi_platform__pipeline_health`` turns into SLA figures.

A dbt step writes after its dbt invocation ended (the dbt process has closed the candidate), appending its
own results (replacing those of the same run and step, so a retried step does not double them).
"""
from __future__ import annotations

from typing import Any

import pandas as pd
from dagster import DagsterInstance, RunsFilter

from smb_warehouse.core.warehouse import Append, Replace, write_tables

NODE_RESULTS = "ops.dbt_node_results"
PIPELINE_RUNS = "ops.pipeline_runs"
RUN_HISTORY_LIMIT = 1000
MESSAGE_CHARS = 500


def node_results_frame(run_results: dict[str, Any], run_id: str, step: str) -> pd.DataFrame:
    """dbt's run_results.json as rows of ``ops.dbt_node_results``: run_id, dbt_step, invocation_id, unique_id,
    resource_type (from the unique id's prefix), status, execution_seconds (float, s), rows_affected (Int64;
    NA when the adapter reports none), failures (Int64; tests only), message (str, at most 500 characters),
    completed_at (datetime64[ns], UTC naive: the end of the node's last timing phase)."""
    invocation = (run_results.get("metadata") or {}).get("invocation_id")
    rows = []
    for result in run_results.get("results") or []:
        uid = result.get("unique_id") or ""
        kind = uid.split(".", 1)[0]
        ends = [t.get("completed_at") for t in result.get("timing") or [] if t.get("completed_at")]
        rows.append({
            "run_id": run_id, "dbt_step": step, "invocation_id": invocation, "unique_id": uid, "resource_type": kind,
            "status": str(result.get("status")), "execution_seconds": result.get("execution_time"),
            "rows_affected": (result.get("adapter_response") or {}).get("rows_affected"),
            "failures": result.get("failures") if kind in ("test", "unit_test") else None,
            "message": (result.get("message") or "")[:MESSAGE_CHARS] or None,
            "completed_at": max(ends) if ends else None})
    frame = pd.DataFrame(rows, columns=["run_id", "dbt_step", "invocation_id", "unique_id", "resource_type", "status",
                                        "execution_seconds", "rows_affected", "failures", "message", "completed_at"])
    for column in ("rows_affected", "failures"):
        frame[column] = pd.array(frame[column], dtype="Int64")
    frame["completed_at"] = pd.to_datetime(frame["completed_at"], utc=True).dt.tz_localize(None)
    return frame


def pipeline_runs_frame(instance: DagsterInstance, limit: int = RUN_HISTORY_LIMIT) -> pd.DataFrame:
    """The instance's last ``limit`` runs as rows of ``ops.pipeline_runs``: run_id, job_name, status (str),
    started_at / ended_at (datetime64, UTC naive; NaT while not started/ended), duration_seconds (float, s),
    trigger (the ``trigger`` tag, else schedule / sensor / manual)."""
    rows = []
    for record in instance.get_run_records(filters=RunsFilter(), limit=limit):
        run, tags = record.dagster_run, record.dagster_run.tags
        trigger = tags.get("trigger") or ("schedule" if "dagster/schedule_name" in tags else
                                          "sensor" if "dagster/sensor_name" in tags else "manual")
        rows.append({"run_id": run.run_id, "job_name": run.job_name, "status": run.status.value,
                     "started_at": record.start_time, "ended_at": record.end_time, "trigger": trigger})
    frame = pd.DataFrame(rows, columns=["run_id", "job_name", "status", "started_at", "ended_at", "trigger"])
    for column in ("started_at", "ended_at"):
        frame[column] = pd.to_datetime(frame[column], unit="s", utc=True).dt.tz_localize(None)
    frame["duration_seconds"] = (frame["ended_at"] - frame["started_at"]).dt.total_seconds()
    return frame


def record_step(con, instance: DagsterInstance, run_id: str, step: str, run_results: dict[str, Any]) -> int:
    """Write one dbt step's results and the run history into the candidate open in ``con`` (one transaction);
    returns how many node results were written."""
    nodes = node_results_frame(run_results, run_id, step)
    write_tables(con, [Append(NODE_RESULTS, nodes, delete_where="run_id = ? AND dbt_step = ?", params=(run_id, step)),
                       Replace(PIPELINE_RUNS, pipeline_runs_frame(instance))])
    return len(nodes)
