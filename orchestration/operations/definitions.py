"""Running the warehouse unattended: a daily schedule of the main job, and an alert for every failed run.

The schedule skips a night when nothing a run reads changed since the last publish (orchestration.lib.run_inputs:
landing files, code, settings, review decisions, breaker changes); the run it starts carries its input
fingerprint, which the publish records.

Both are on by default (``make ui`` starts the Dagster daemon that evaluates them), like the landing-zone and
micro-batch sensors: a business that exports every night gets its nightly run and hears about a failure
without opening the UI.

    SMB_SCHEDULE_CRON   cron of the daily run (default ``0 2 * * *``: 02:00)
    SMB_SCHEDULE_TZ     its time zone (IANA name, default ``UTC``)

The alert goes through the same channel as the cash-flow alerts (``smb_warehouse.core.notify``: the log by
default, a webhook when ``SMB_ALERT_WEBHOOK_URL`` is set), one message per failed run naming the job, the
run id, each failed step with its error and causes (no stack), and whether anything was published (never: a failed
run leaves the published warehouse as it was).
"""
from __future__ import annotations

import os

from dagster import (
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Definitions,
    RunFailureSensorContext,
    RunRequest,
    ScheduleEvaluationContext,
    SkipReason,
    run_failure_sensor,
    schedule,
)

from orchestration.lib import run_inputs
from orchestration.lib.run_console import error_chain
from smb_warehouse.core.notify import Notifier

ALERT_SUBJECT = "warehouse run failed"

@schedule(name="daily_warehouse_schedule", job_name="warehouse_job",
          cron_schedule=os.environ.get("SMB_SCHEDULE_CRON", "0 2 * * *"),
          execution_timezone=os.environ.get("SMB_SCHEDULE_TZ", "UTC"),
          default_status=DefaultScheduleStatus.RUNNING,
          description="The nightly warehouse run (load what landed, model, check, publish), skipped when nothing it "
                      "reads changed since the last publish (orchestration.lib.run_inputs). SMB_SCHEDULE_CRON / "
                      "SMB_SCHEDULE_TZ move it.")
def daily_warehouse_schedule(context: ScheduleEvaluationContext):
    decision = run_inputs.check(context.instance)
    if decision.skip:
        return SkipReason(decision.reason)
    return RunRequest(tags={run_inputs.FINGERPRINT_TAG: decision.fingerprint} if decision.fingerprint else {})


def failure_alert(context: RunFailureSensorContext) -> dict:
    """The alert for one failed run: {job, run_id, failed_steps: [{step, error}], published: False, message}
    (``error``: the step's error and its causes, e.g. the loader's message naming file, line and column)."""
    steps = [{"step": e.step_key, "error": error_chain(e.step_failure_data.error if e.step_failure_data else None)}
             for e in context.get_step_failure_events()]
    run = context.dagster_run
    return {"job": run.job_name, "run_id": run.run_id, "failed_steps": steps, "published": False,
            "message": context.failure_event.message or "run failed"}


@run_failure_sensor(name="run_failure_alert", default_status=DefaultSensorStatus.RUNNING, minimum_interval_seconds=30,
                    description="Sends an alert (notify channel: log or webhook) for every failed run of this code "
                                "location, naming each failed step.")
def run_failure_alert(context: RunFailureSensorContext) -> None:
    delivery = Notifier.from_env().send(ALERT_SUBJECT, [failure_alert(context)])
    context.log.info(f"failure alert via {delivery.channel} ({delivery.target}): delivered={delivery.delivered}")


defs = Definitions(schedules=[daily_warehouse_schedule], sensors=[run_failure_alert])
