"""Run the warehouse job when new exports land. On by default: `make ui` starts the daemon that evaluates it
(turn it off in the UI's Automation tab)."""

import hashlib

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SkipReason, sensor

from orchestration.lib import run_inputs
from smb_warehouse.core import paths
from smb_warehouse.ingestion.contracts import all_entities
from smb_warehouse.ingestion.discovery import discover


def landing_fingerprint() -> tuple[str, int]:
    """A cheap fingerprint of the landing zone (names, sizes, mtimes; no file reads).

    The loader itself decides by content hash what is new, so a false positive only costs a no-op run.
    """
    digest = hashlib.sha256()
    count = 0
    root = paths.landing_dir()
    for entity in all_entities():
        for file in sorted(f.path for f in discover(entity, root) if f.path.is_file()):  # every file, any form
            stat = file.stat()
            digest.update(f"{file.relative_to(root)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
            count += 1
    return digest.hexdigest(), count


@sensor(job_name="warehouse_job", minimum_interval_seconds=60, default_status=DefaultSensorStatus.RUNNING,
        description="Requests a warehouse run when files in the landing zone change.")
def landing_zone_sensor(context: SensorEvaluationContext):
    fingerprint, count = landing_fingerprint()
    if fingerprint == context.cursor:
        return SkipReason(f"no change in {count} landed files")
    context.update_cursor(fingerprint)
    decision = run_inputs.check(context.instance)
    if decision.skip:  # e.g. the first tick after the daemon starts, on a warehouse already current
        return SkipReason(f"{count} landed files: {decision.reason}")
    tags = {"trigger": "landing_zone", **({run_inputs.FINGERPRINT_TAG: decision.fingerprint} if decision.fingerprint else {})}
    return RunRequest(run_key=fingerprint, tags=tags)
