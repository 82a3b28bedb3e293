"""WarehouseDbtCliResource (orchestration/dbt/assets.py) leans on private members of dagster-dbt: these tests
fail when a dagster-dbt upgrade moves them, instead of the override silently doing nothing (every dbt step would
pay the in-process adapter again, a large selection would copy the repository with its data again) or reporting a
wrong dbt version."""
from __future__ import annotations

import inspect
import re
import subprocess

from dagster_dbt import DbtCliResource

from orchestration.dbt.assets import (
    DBT_EXECUTABLE,
    DBT_INPUTS,
    DBT_PROJECT,
    WarehouseDbtCliResource,
    dbt_inputs_only_project_copies,
)


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


def test_a_project_copy_for_a_large_selection_holds_only_what_dbt_reads(tmp_path):
    """dagster-dbt copies the project folder (``shutil.copytree(project_dir, ...)`` in asset_utils) when a step's
    selection exceeds 200 resources; inside ``cli()`` that copy takes the dbt inputs, not data/ or .venv."""
    import shutil as real_shutil

    from dagster_dbt import asset_utils

    source = inspect.getsource(asset_utils.get_updated_cli_invocation_params_for_context)
    assert "shutil.copytree(project_dir, temp_project_dir" in source
    assert "dbt_inputs_only_project_copies()" in inspect.getsource(WarehouseDbtCliResource.cli)
    project = tmp_path / "project"
    (project / "models" / "staging").mkdir(parents=True)
    (project / "models" / "staging" / "stg_a.sql").write_text("select 1 as a")
    (project / "dbt_project.yml").write_text("name: p")
    (project / "data" / "landing").mkdir(parents=True)
    (project / "data" / "landing" / "big.csv").write_text("x" * 1000)
    (project / ".venv").mkdir()
    (project / "README.md").write_text("not for dbt")
    with dbt_inputs_only_project_copies():
        asset_utils.shutil.copytree(project, tmp_path / "copy", dirs_exist_ok=True)
        assert asset_utils.shutil.which("python") == real_shutil.which("python")  # everything else is shutil's
    assert asset_utils.shutil is real_shutil
    copied = sorted(p.relative_to(tmp_path / "copy").as_posix() for p in (tmp_path / "copy").rglob("*"))
    assert copied == ["dbt_project.yml", "models", "models/staging", "models/staging/stg_a.sql"]
    assert {"models", "dbt_project.yml"} <= set(DBT_INPUTS)
