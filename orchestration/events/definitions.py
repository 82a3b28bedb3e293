"""Event intake: the job that loads new micro-batches (and rebuilds what depends on them) and the sensor
that requests it when the consumer (``events.consumer``) lands micro-batch files.

``event_microbatch_job`` = the ingestion assets of the entities events can carry, and everything downstream of
them (staging, marts, the AI workflows that read them, the ledger and its blocking checks, publish): the
same loader and the same write-audit-publish as any run; the batch pipeline stays the source of truth for
the real-time decisions. Runs are queued one at a time like every other run.
"""
import hashlib

from dagster import (
    AssetKey,
    AssetSelection,
    DefaultSensorStatus,
    Definitions,
    RunRequest,
    SensorEvaluationContext,
    SkipReason,
    define_asset_job,
    sensor,
)
from dagster_dbt import get_asset_key_for_model

from events.microbatch import landed_microbatches
from events.schema import EVENT_TYPES
from orchestration.dbt.assets import warehouse_dbt_models
from orchestration.ingestion.audit import AUDIT_KEY, QUARANTINE_KEY
from smb_warehouse.core import paths

EVENT_ENTITIES = list({(t.system, t.entity): t.contract() for t in EVENT_TYPES.values()}.values())
EVENT_ENTITY_KEYS = [AssetKey(e.asset_key_path) for e in EVENT_ENTITIES]

_EVENT_RAW = AssetSelection.assets(*EVENT_ENTITY_KEYS)
_LEDGER = AssetSelection.assets(AUDIT_KEY, QUARANTINE_KEY)
# Every model that reads a raw table also depends on the ledger (its rows_conserved check gates staging), so the
# ledger's downstream is every system's staging: follow the event entities' own readers, and from the ledger only
# what reads the ledger's tables (its staging models), not the other systems' staging.
_LEDGER_READERS = AssetSelection.assets(*(get_asset_key_for_model([warehouse_dbt_models], f"stg_ingestion__{table}")
                                          for table in ("load_audit", "quarantine")))
event_microbatch_job = define_asset_job(
    "event_microbatch_job",
    selection=(_EVENT_RAW | _LEDGER | (_EVENT_RAW.downstream(depth=1) - _EVENT_RAW - _LEDGER).downstream()
               | _LEDGER_READERS.downstream()).required_multi_asset_neighbors(),
    description="Load event micro-batches (bank lines, AP invoices, tickets), rebuild what depends on them, publish.")


def microbatch_fingerprint() -> tuple[str, int]:
    """(sha256 over the names and sizes of every landed micro-batch, how many there are)."""
    files = landed_microbatches(paths.landing_dir(), EVENT_ENTITIES)
    digest = hashlib.sha256()
    for file in files:
        digest.update(f"{file.parent.name}/{file.name}|{file.stat().st_size}\n".encode())
    return digest.hexdigest(), len(files)


@sensor(job=event_microbatch_job, minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING,
        description="Requests event_microbatch_job when the event consumer has landed new micro-batch files. On by "
                    "default, like the landing-zone sensor (`make ui` runs the daemon); off in the UI's Automation tab.")
def event_microbatch_sensor(context: SensorEvaluationContext):
    fingerprint, count = microbatch_fingerprint()
    if count == 0 or fingerprint == context.cursor:
        return SkipReason(f"no new micro-batches ({count} landed so far)")
    context.update_cursor(fingerprint)
    return RunRequest(run_key=fingerprint, tags={"trigger": "event_microbatches", "microbatches": str(count)})


defs = Definitions(jobs=[event_microbatch_job], sensors=[event_microbatch_sensor])
