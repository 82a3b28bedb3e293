"""`python -m orchestration.forecasting.cli rollback|approve|status` (make forecast-rollback, make forecast-approve)

rollback [--by NAME]: runs the Dagster job forecast_rollback_job, which moves the `champion` alias of
    demand_forecaster back to the version it replaced (logged in the rollout store with who asked), re-scores
    with it and republishes the warehouse (forecasts, registry mirror, monitoring, kpis) through
    write-audit-publish. With nothing to roll back to it prints one line saying why and exits 1.
approve VERSION --by NAME --why TEXT: records a person's approval of promoting VERSION (needed when
    SMB_FORECAST_REQUIRE_APPROVER=1); the next run promotes it if its live KPI qualifies.
status: every registered version with its aliases and gate status, the circuit breaker, the latest rollout events.

Every failure is one line on stderr and exit code 1, never a stack trace.
"""
from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys

from smb_warehouse.forecasting.config import MODEL_NAME, WORKFLOW


def rollback(instance=None, by: str | None = None) -> int:
    """`instance`: a DagsterInstance (tests pass an ephemeral one); default: the project's DAGSTER_HOME."""
    from smb_warehouse.core import registry

    try:
        current, previous = registry.rollback_target(MODEL_NAME)
    except registry.NothingToRollBack as exc:
        print(f"nothing to roll back to: {exc}", file=sys.stderr)
        return 1
    from contextlib import nullcontext

    from dagster import DagsterInstance

    from orchestration.cli import failure_message
    from smb_warehouse.core.config import dagster_home, disable_telemetry

    disable_telemetry()
    dagster_home()
    from orchestration.definitions import defs

    config = {"ops": {"forecast_rollout": {"config": {"rollback": True, "requested_by": by or _user()}}}}
    with (nullcontext(instance) if instance is not None else DagsterInstance.get()) as active:
        result = defs.resolve_job_def("forecast_rollback_job").execute_in_process(
            instance=active, run_config=config, raise_on_error=False)
    if not result.success:
        for event in result.all_events:
            if event.is_step_failure:
                print(failure_message(event), file=sys.stderr)
        return 1
    meta = result.asset_materializations_for_node("forecast_scoring")[0].metadata
    print(f"{MODEL_NAME}: champion v{current} -> v{previous}; {meta['rows'].value} forecast rows re-scored and published "
          f"(serving {meta['serving'].value})")
    return 0


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def approve(version: str, by: str, why: str) -> int:
    from smb_warehouse.forecasting import rollout

    try:
        rollout.approve(version, by=by, why=why)
    except ValueError as exc:
        print(f"cannot approve: {exc}", file=sys.stderr)
        return 1
    print(f"{MODEL_NAME} v{version}: approved by {by}; the next run promotes it if its live KPI qualifies")
    return 0


def status() -> int:
    from smb_warehouse.core import registry, safe_mode
    from smb_warehouse.forecasting import rollout

    versions, _ = registry.mirror_frames()
    if versions.empty:
        print("no registered models")
    else:
        print(versions[["model_name", "model_version", "aliases", "gate_status", "data_fingerprint", "code_version",
                        "created_at"]].to_string(index=False))
    s = safe_mode.state(WORKFLOW)
    print(f"\ncircuit breaker {WORKFLOW}: {s.state}, mode {s.mode}" + (f" ({s.reason})" if s.changed_at else ""))
    events = rollout.events()
    if len(events):
        print("\nlatest rollout events:")
        print(events.tail(10)[["decided_at", "model_version", "event", "decided_by", "reason"]].to_string(index=False))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.forecasting.cli", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rb = sub.add_parser("rollback", help="move the champion back to the version it replaced, re-score, republish")
    rb.add_argument("--by", default=None, help="who asks (default: the login name)")
    ap = sub.add_parser("approve", help="approve promoting a version (when SMB_FORECAST_REQUIRE_APPROVER=1)")
    ap.add_argument("version")
    ap.add_argument("--by", required=True)
    ap.add_argument("--why", required=True)
    sub.add_parser("status", help="registered versions, circuit breaker, latest rollout events")
    args = parser.parse_args(argv)
    # MLflow announces creating / migrating its store at INFO on stderr: a command prints its own one line
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        if args.command == "rollback":
            return rollback(by=args.by)
        if args.command == "approve":
            return approve(args.version, args.by, args.why)
        return status()
    except Exception as exc:  # a command line prints one line, never a stack trace
        print(f"{args.command} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
