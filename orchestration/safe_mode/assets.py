"""The copy of the safe-mode store (smb_warehouse/core/safe_mode.py) into the run's candidate warehouse:
ml.workflow_safe_mode_log and ml.workflow_run_outcomes, which kpi_ml__workflow_health and
fct_workflow_mode_changes read. A WARN check lists every workflow whose breaker is open.

RECORDERS: the assets that open / close breakers or record run outcomes. The copy runs after all of them;
a workflow that starts using core.safe_mode adds the key of its asset here (from its python_tables
declaration or its own AssetKey constant).

No `from __future__ import annotations` here: Dagster checks the `context` annotation by identity.
"""
from collections.abc import Iterator
from typing import Union

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from orchestration.lib.resources import WarehouseResource
from smb_warehouse.core import python_tables, safe_mode

GROUP = "safe_mode"
LOG = AssetKey(python_tables.table(safe_mode.LOG_TABLE).asset_key)
OUTCOMES = AssetKey(python_tables.table(safe_mode.OUTCOMES_TABLE).asset_key)
OPEN_CHECK = "no_workflow_in_safe_mode"

RECORDERS = [
    AssetKey(python_tables.table("ml.demand_forecasts").asset_key),   # demand forecasting: scoring records the outcome
    AssetKey(python_tables.table("reconciliation.scoring_state").asset_key),  # AP reconciliation: guards, gate, serving
    AssetKey(python_tables.table("triage.ticket_predictions").asset_key),     # support triage: gate, serving
]


@multi_asset(
    specs=[AssetSpec(LOG, group_name=GROUP, deps=RECORDERS, kinds={"duckdb", "sqlite"},
                     description="Every switch of an AI workflow's circuit breaker (copied whole from the "
                                 "append-only safe-mode store)."),
           AssetSpec(OUTCOMES, group_name=GROUP, deps=RECORDERS, kinds={"duckdb", "sqlite"},
                     description="What served each AI workflow's output in each run (model version, baseline, "
                                 "rules only), and whether it was a fallback.")],
    check_specs=[AssetCheckSpec(OPEN_CHECK, asset=LOG, description=(
        "Warns while any workflow's circuit breaker is open (the workflow runs in its safe mode until a person "
        "or a healthy run closes it); never blocks publishing."))],
    name="workflow_safe_mode",
)
def workflow_safe_mode(context: AssetExecutionContext,
                       warehouse: WarehouseResource) -> Iterator[Union[MaterializeResult, AssetCheckResult]]:
    with warehouse.connect(context.run_id) as con:
        n_changes, n_outcomes = safe_mode.write_to_warehouse(con)
    log = safe_mode.changes()
    states = {w: safe_mode.state(w) for w in sorted(set(log["workflow"]))}
    opened = {w: f"{s.mode} since {s.changed_at:%Y-%m-%d %H:%M} UTC: {s.reason}" for w, s in states.items() if s.is_open}
    yield MaterializeResult(asset_key=LOG, metadata={
        "changes": n_changes, "open_breakers": MetadataValue.json(opened),
        "states": MetadataValue.json({w: s.state for w, s in states.items()})})
    yield MaterializeResult(asset_key=OUTCOMES, metadata={"outcomes": n_outcomes})
    yield AssetCheckResult(check_name=OPEN_CHECK, asset_key=LOG, passed=not opened, severity=AssetCheckSeverity.WARN,
                           description="; ".join(f"{w}: {why}" for w, why in opened.items()) or "every breaker closed",
                           metadata={"open": MetadataValue.json(opened)})
