"""PostgreSQL as a published copy of the warehouse: the ``postgres_warehouse`` asset, its job and sensor.

The loader and the Python assets compute on DuckDB (set-based SQL on the run's candidate file); once a run
has published, ``postgres_warehouse`` builds the same dbt project on PostgreSQL from that publish's inputs
and publishes it there by schema swap (``smb_warehouse.core.postgres_publish.copy_build_publish``: under
the database's publish lock, copy the raw and Python-written tables, ``dbt build`` into ``*__candidate``
schemas, rename them into place in one transaction; the BI role reads only the public marts). It is its
own job, not a step of the pipeline's jobs: a PostgreSQL outage or a refused candidate fails this job and
leaves the DuckDB publish (already done) standing and PostgreSQL's published marts as they were (its
input tables, already replaced, are read live only by the unpublished-layer views); the next publish, or
the next ``make demo``, tries again.

Not a Dagster dependency of ``published_warehouse`` on purpose: the pipeline's jobs select
``.downstream()`` of their assets, which would pull this asset (and a PostgreSQL build) into every event
micro-batch, forecast rollback and review job. ``postgres_publish_sensor`` is the link: it watches
``published_warehouse`` materializations, whichever job made them.

Opt-in: ``SMB_POSTGRES_PUBLISH=1`` with the ``DBT_POSTGRES_*`` variables of profiles.yml. Then the sensor
requests ``postgres_publish_job`` when PostgreSQL does not hold the current publish (daemon: schedule,
landing sensor, UI), and ``make demo`` runs it right after its own run.
"""

import os

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    DefaultSensorStatus,
    EventLogEntry,
    Failure,
    MaterializeResult,
    MetadataValue,
    RunRequest,
    SensorEvaluationContext,
    SkipReason,
    asset,
    asset_sensor,
    define_asset_job,
)

from orchestration.lib.resources import PUBLISH_KEY, WarehouseResource
from smb_warehouse.core import paths, postgres_copy, postgres_publish
from smb_warehouse.core.warehouse import Warehouse

POSTGRES_KEY = AssetKey(["postgres_warehouse"])
ENABLE_ENV = "SMB_POSTGRES_PUBLISH"


def postgres_target() -> str:
    """Where and for whom PostgreSQL is published: the server (no password) and the BI role."""
    return f"{postgres_copy.postgres_dsn()} bi_role={os.environ.get('DBT_POSTGRES_BI_ROLE', 'smb_bi')}"


def postgres_publish_enabled(environ: dict[str, str] | None = None) -> bool:
    """True when ``SMB_POSTGRES_PUBLISH`` is 1/true/yes (any case)."""
    value = (os.environ if environ is None else environ).get(ENABLE_ENV, "")
    return value.strip().lower() in {"1", "true", "yes"}


def postgres_behind(instance, current_publish_id: str | None) -> bool:
    """True when PostgreSQL publishing is on and the latest ``postgres_warehouse`` materialization is not
    of ``current_publish_id`` for the current server and BI role (``postgres_target()``)."""
    if not postgres_publish_enabled() or current_publish_id is None:
        return False
    latest = instance.get_latest_materialization_event(POSTGRES_KEY)
    metadata = latest.asset_materialization.metadata if latest and latest.asset_materialization else {}
    done = {k: getattr(v, "value", v) for k, v in metadata.items() if k in ("from_publish", "target")}
    return done != {"from_publish": current_publish_id, "target": postgres_target()}


@asset(
    key=POSTGRES_KEY,
    group_name="publish",
    kinds={"postgres"},
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
    try:
        copied, result = postgres_publish.copy_build_publish(
            store.published_path, target_path=paths.DBT_PROJECT_DIR / "target" / "postgres_publish")
    except postgres_publish.PublishRefused as exc:
        raise Failure(str(exc), metadata={"failed_nodes": MetadataValue.json(
            [{"node": uid, "status": status, "message": message[:500]} for uid, status, message in exc.failures])}) from exc
    context.log.info(f"copied {len(copied)} input tables ({sum(c.rows for c in copied)} rows); published "
                     f"{', '.join(result.published)} on PostgreSQL ({result.statuses})")
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


@asset_sensor(asset_key=PUBLISH_KEY, job=postgres_publish_job, default_status=DefaultSensorStatus.RUNNING,
              minimum_interval_seconds=60,
              description=f"After a publish of the DuckDB warehouse (any job), publish on PostgreSQL too ({ENABLE_ENV}=1).")
def postgres_publish_sensor(context: SensorEvaluationContext, asset_event: EventLogEntry):
    if not postgres_publish_enabled():
        return SkipReason(f"{ENABLE_ENV} is not set")
    current = Warehouse().current_publish()
    if not postgres_behind(context.instance, current.publish_id if current else None):
        return SkipReason("PostgreSQL already holds the current publish" if current else "nothing published yet")
    return RunRequest(run_key=f"postgres-{current.publish_id}-{postgres_target()}")
