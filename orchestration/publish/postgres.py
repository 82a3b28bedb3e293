"""PostgreSQL as a published copy of the warehouse: the ``postgres_warehouse`` asset, its job and sensor.

The loader and the Python assets compute on DuckDB (set-based SQL on the run's candidate file); once a run
has published, ``postgres_warehouse`` builds the same dbt project on PostgreSQL from that publish's inputs
and publishes it there by schema swap (``smb_warehouse.core.postgres_publish``: copy the raw and
Python-written tables, ``dbt build`` into ``*__candidate`` schemas, rename them into place in one
transaction; the BI role reads only the public marts). It is its own job, not a step of ``warehouse_job``:
a PostgreSQL outage or a failing candidate fails this job and leaves the DuckDB publish (already done)
and PostgreSQL's last publish as they were; the next publish tries again.

Opt-in: ``SMB_POSTGRES_PUBLISH=1`` with the ``DBT_POSTGRES_*`` variables of profiles.yml. Then the
``postgres_publish_sensor`` requests ``postgres_publish_job`` after every successful ``warehouse_job`` run
(daemon: schedule, landing sensor, UI), and ``make demo`` runs it right after its own run.
"""

import os

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    DagsterRunStatus,
    DefaultSensorStatus,
    Failure,
    MaterializeResult,
    MetadataValue,
    RunRequest,
    RunStatusSensorContext,
    SkipReason,
    asset,
    define_asset_job,
    run_status_sensor,
)

from orchestration.lib.resources import WarehouseResource
from orchestration.publish.assets import published_warehouse
from smb_warehouse.core import paths, postgres_copy, postgres_publish

POSTGRES_KEY = AssetKey(["postgres_warehouse"])
ENABLE_ENV = "SMB_POSTGRES_PUBLISH"


def postgres_target() -> str:
    """Where and for whom PostgreSQL is published: the server (no password) and the BI role."""
    return f"{postgres_copy.postgres_dsn()} bi_role={os.environ.get('DBT_POSTGRES_BI_ROLE', 'smb_bi')}"


def postgres_publish_enabled(environ: dict[str, str] | None = None) -> bool:
    """True when ``SMB_POSTGRES_PUBLISH`` is 1/true/yes (any case)."""
    value = (os.environ if environ is None else environ).get(ENABLE_ENV, "")
    return value.strip().lower() in {"1", "true", "yes"}


@asset(
    key=POSTGRES_KEY,
    group_name="publish",
    kinds={"postgres"},
    deps=[published_warehouse],
    description="The warehouse on PostgreSQL (DBT_POSTGRES_*): the published DuckDB warehouse's raw and "
    "Python-written tables copied in, the dbt project built and tested in *__candidate schemas, published by "
    "renaming them in one transaction; the BI role (DBT_POSTGRES_BI_ROLE) reads the public marts only. "
    "Opt-in: SMB_POSTGRES_PUBLISH=1.",
)
def postgres_warehouse(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    if not postgres_publish_enabled():
        raise Failure(f"{ENABLE_ENV} is not set: PostgreSQL publishing is opt-in (README, Engines)")
    store = warehouse.store
    current = store.current_publish()
    if current is None or not store.published_path.exists():
        raise Failure("no published DuckDB warehouse to build PostgreSQL from: run warehouse_job first")
    copied = postgres_copy.copy_to_postgres(store.published_path, replace=True)
    context.log.info(f"copied {len(copied)} input tables ({sum(c.rows for c in copied)} rows) into PostgreSQL")
    try:
        result = postgres_publish.build_and_publish(
            target_path=paths.DBT_PROJECT_DIR / "target" / "postgres_publish")
    except postgres_publish.PublishRefused as exc:
        raise Failure(str(exc), metadata={"failed_nodes": MetadataValue.json(
            [{"node": uid, "status": status, "message": message[:500]} for uid, status, message in exc.failures])}) from exc
    context.log.info(f"published {', '.join(result.published)} on PostgreSQL ({result.statuses})")
    return MaterializeResult(metadata={
        "server": postgres_copy.postgres_dsn(),
        "target": postgres_target(),
        "from_publish": current.publish_id,
        "input_tables": len(copied),
        "input_rows": sum(c.rows for c in copied),
        "schemas_published": MetadataValue.json(result.published),
        "dbt_build_seconds": round(result.build_seconds, 1),
        "dbt_node_statuses": MetadataValue.json(result.statuses),
    })


postgres_publish_job = define_asset_job(
    "postgres_publish_job", selection=AssetSelection.assets(POSTGRES_KEY),
    description="Build and publish the warehouse on PostgreSQL from the published DuckDB warehouse (opt-in: "
    f"{ENABLE_ENV}=1).")


@run_status_sensor(run_status=DagsterRunStatus.SUCCESS, request_job=postgres_publish_job,
                   default_status=DefaultSensorStatus.RUNNING, minimum_interval_seconds=60,
                   description=f"After every successful warehouse_job run, publish on PostgreSQL too ({ENABLE_ENV}=1).")
def postgres_publish_sensor(context: RunStatusSensorContext):
    if context.dagster_run.job_name != "warehouse_job":
        return SkipReason(f"{context.dagster_run.job_name} does not publish")
    if not postgres_publish_enabled():
        return SkipReason(f"{ENABLE_ENV} is not set")
    return RunRequest(run_key=f"postgres-after-{context.dagster_run.run_id}")
