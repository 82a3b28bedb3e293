"""WarehouseDbtCliResource (orchestration/dbt/assets.py) leans on two private members of dagster-dbt: these tests
fail when a dagster-dbt upgrade moves them, instead of the override silently doing nothing (every dbt step would
pay the in-process adapter again) or reporting a wrong dbt version."""
from __future__ import annotations

import inspect
import re
import subprocess

from dagster_dbt import DbtCliResource

from orchestration.dbt.assets import DBT_EXECUTABLE, DBT_PROJECT, WarehouseDbtCliResource


def test_the_dbt_version_read_from_metadata_is_what_dbt_reports():
    printed = subprocess.run([DBT_EXECUTABLE, "--version"], capture_output=True, text=True, check=True).stdout
    core = re.search(r"installed:\s*(\d+\.\d+\.\d+)", printed) or re.search(r"(\d+\.\d+\.\d+)", printed)
    resource = WarehouseDbtCliResource(project_dir=DBT_PROJECT, dbt_executable=DBT_EXECUTABLE)
    assert str(resource._cli_version) == core.group(1)
    assert resource._cli_version == DbtCliResource(project_dir=DBT_PROJECT, dbt_executable=DBT_EXECUTABLE)._cli_version


def test_the_overridden_members_are_the_ones_dagster_dbt_calls():
    cli = inspect.getsource(DbtCliResource.cli)
    assert "self._initialize_dbt_core_adapter(" in cli and "self._cli_version" in cli
    assert isinstance(inspect.getattr_static(DbtCliResource, "_cli_version"), type(
        inspect.getattr_static(WarehouseDbtCliResource, "_cli_version")))
    resource = WarehouseDbtCliResource(project_dir=DBT_PROJECT, dbt_executable=DBT_EXECUTABLE)
    assert resource._initialize_dbt_core_adapter(["build"]) is None
