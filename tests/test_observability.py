"""`make observability` (smb_warehouse/observability/elementary.py): opt-in, never needed by the default build.

Without elementary's dbt package on this machine (no dbt hub access) the real report runs only when
SMB_ELEMENTARY_PACKAGE names a local checkout; the refusals and the private project's plumbing are tested always
(dbt deps of a local package and dbt parse work offline)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from smb_warehouse.observability import elementary
from tests.support import clone_run, environment, query, run_env


def test_a_path_that_is_not_elementary_is_refused_in_one_clear_paragraph(tmp_path, capsys):
    (tmp_path / "dbt_project.yml").write_text("name: something_else\n")
    with environment({elementary.PACKAGE_ENV: str(tmp_path)}):
        assert elementary.main([]) == 2
    message = capsys.readouterr().err
    assert message.startswith("elementary is not available here: ") and "names 'something_else'" in message
    assert "dbt-data-reliability" in message and "Traceback" not in message


def test_the_hub_is_the_default_source_with_a_version_range():
    assert elementary.package_entry({}) == {"package": "elementary-data/elementary", "version": [">=0.16.0", "<0.17.0"]}
    assert elementary.package_entry({elementary.VERSION_ENV: ">=0.17,<0.18"})["version"] == [">=0.17", "<0.18"]


def test_the_private_project_installs_a_local_package_and_parses_offline(tmp_path):
    """A stand-in package named elementary (one macro): dbt deps links it and dbt parses this project with it,
    without touching the project's own packages (it has none) or the network."""
    package = tmp_path / "elementary_pkg"
    (package / "macros").mkdir(parents=True)
    (package / "dbt_project.yml").write_text("name: elementary\nversion: '0.0.1'\nconfig-version: 2\n")
    (package / "macros" / "marker.sql").write_text("{% macro elementary_marker() %}1{% endmacro %}\n")
    entry = elementary.package_entry({elementary.PACKAGE_ENV: str(package)})
    project = elementary.assemble_project(tmp_path / "work", entry)
    assert yaml.safe_load((project / "packages.yml").read_text()) == {"packages": [{"local": str(package)}]}
    profiles = yaml.safe_load((project / "profiles.yml").read_text())
    assert profiles["elementary"]["outputs"]["duckdb"]["schema"] == "elementary"
    env = {**os.environ, "DBT_DUCKDB_PATH": str(tmp_path / "w.duckdb"), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    for args in (("deps",), ("parse",)):
        done = elementary._dbt(project, *args, env=env)
        assert done.returncode == 0, elementary._tail(done)
    manifest = (project / "target" / "manifest.json").read_text()
    assert "macro.elementary.elementary_marker" in manifest and "model.smb_warehouse.dim_location" in manifest
    assert not (elementary.paths.DBT_PROJECT_DIR / "packages.yml").exists()  # the default build is untouched


@pytest.mark.skipif(not os.environ.get(elementary.PACKAGE_ENV), reason=f"set {elementary.PACKAGE_ENV} to a local "
                    "checkout of elementary's dbt package (no dbt hub access here)")
def test_the_report_is_built_from_a_local_elementary_package(tiny_run, tmp_path):
    root = clone_run(tiny_run["root"], tmp_path / "data")
    with environment(run_env(root, tiny_run["landing"])):
        done = subprocess.run([sys.executable, "-m", "smb_warehouse.observability.elementary"], capture_output=True,
                              text=True, env=dict(os.environ))
        assert done.returncode == 0, done.stderr
        report = root / "observability" / "elementary_report.html"
        assert report.stat().st_size > 10_000
        assert query(root / "observability" / "warehouse.duckdb",
                     "SELECT count(*) > 0 FROM elementary.dbt_run_results") == [(True,)]
