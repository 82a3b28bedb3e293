"""`python -m orchestration.forecasting.cli rollback|status`

rollback: runs the Dagster job forecast_rollback_job, which moves the `champion` alias of
demand_forecaster back to the version it replaced, re-scores with it and republishes the warehouse
(forecasts, registry mirror, monitoring, kpis) through write-audit-publish.
status: prints every registered version with its aliases and gate status.
"""
from __future__ import annotations

import argparse
import sys

from smb_warehouse.forecasting.config import MODEL_NAME


def rollback(instance=None) -> int:
    """`instance`: a DagsterInstance (tests pass an ephemeral one); default: the project's DAGSTER_HOME."""
    from contextlib import nullcontext

    from dagster import DagsterInstance

    from orchestration.cli import failure_message
    from smb_warehouse.core.config import dagster_home, disable_telemetry

    disable_telemetry()
    dagster_home()
    from orchestration.definitions import defs

    with (nullcontext(instance) if instance is not None else DagsterInstance.get()) as active:
        result = defs.resolve_job_def("forecast_rollback_job").execute_in_process(instance=active, raise_on_error=False)
    if not result.success:
        for event in result.all_events:
            if event.is_step_failure:
                print(failure_message(event), file=sys.stderr)
        return 1
    meta = result.asset_materializations_for_node("forecast_scoring")[0].metadata
    print(f"{MODEL_NAME}: champion v{meta['rolled_back_from'].value} -> v{meta['model_version'].value}; "
          f"{meta['rows'].value} forecast rows re-scored and published")
    return 0


def status() -> int:
    from smb_warehouse.core import registry

    versions, _ = registry.mirror_frames()
    if versions.empty:
        print("no registered models")
        return 0
    print(versions[["model_name", "model_version", "aliases", "gate_status", "data_fingerprint", "code_version",
                    "created_at"]].to_string(index=False))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.forecasting.cli", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["rollback", "status"])
    args = parser.parse_args(argv)
    return rollback() if args.command == "rollback" else status()


if __name__ == "__main__":
    sys.exit(main())
