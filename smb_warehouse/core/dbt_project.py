"""Settings that the dbt project and Python share, read from dbt_project.yml's ``vars:`` so each has one source.

A var that Python needs and dbt_project.yml lacks is an error naming it (no second default that could drift
from the SQL). No dbt import.
"""
from __future__ import annotations

import functools
from pathlib import Path

import yaml

from smb_warehouse.core import paths


@functools.lru_cache(maxsize=2)
def _dbt_vars(project_file: str, mtime_ns: int) -> dict:
    with open(project_file, encoding="utf-8") as fh:
        return (yaml.safe_load(fh) or {}).get("vars") or {}


def dbt_vars(project_dir: Path | None = None) -> dict:
    """The ``vars:`` of dbt_project.yml (re-read when the file changes)."""
    path = (project_dir or paths.DBT_PROJECT_DIR) / "dbt_project.yml"
    return _dbt_vars(str(path), path.stat().st_mtime_ns)


def freshness_sla_hours(project_dir: Path | None = None) -> float:
    """The published warehouse's freshness SLA in hours (var ``pipeline_freshness_sla_hours``: a nightly run plus
    two hours, 26): the window of the Dagster freshness policies on the published marts and the SLA that
    kpi_platform__pipeline_health reports against. Raises ``KeyError`` when dbt_project.yml lacks the var."""
    found = dbt_vars(project_dir)
    if "pipeline_freshness_sla_hours" not in found:
        raise KeyError("dbt_project.yml vars lack pipeline_freshness_sla_hours (the Dagster freshness policies and "
                       "kpi_platform__pipeline_health both read it)")
    return float(found["pipeline_freshness_sla_hours"])
