"""The dbt docs site is regenerated at publish only when what it shows changed (issue 12: a run that brings new
rows should not pay a dbt start-up, a compile of every node and the catalog queries for an identical site)."""
from __future__ import annotations

import json
import shutil

import duckdb

from orchestration.dbt.assets import DBT_EXECUTABLE, DBT_INPUTS, DBT_PROJECT, WarehouseDbtCliResource
from orchestration.publish.assets import DOCS_KEY_FILE, _generate_docs, docs_key
from smb_warehouse.core import paths
from tests.support import environment, run_env


def _execute(path, sql: str) -> None:
    con = duckdb.connect(str(path))
    try:
        con.execute(sql)
    finally:
        con.close()


def test_the_docs_key_moves_with_project_catalog_and_settings_and_not_with_rows_or_file_times(tiny_run, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(tiny_run["published"], warehouse)
    project = tmp_path / "project"
    for name in DBT_INPUTS:
        source = paths.DBT_PROJECT_DIR / name
        if source.is_dir():
            shutil.copytree(source, project / name)
        elif source.is_file():
            project.mkdir(exist_ok=True)
            shutil.copy(source, project / name)
    base = docs_key(warehouse, project)
    assert docs_key(warehouse, project) == base

    # changed rows, a project file touched without a change: the same site
    _execute(warehouse, "UPDATE marts.dim_location SET has_sales = NOT has_sales")
    (project / "dbt_project.yml").touch()
    assert docs_key(warehouse, project) == base

    # a description in the project, a comment or a column in the warehouse, a setting a model reads: a new site
    model_yml = project / "models" / "marts" / "core" / "dim_location.yml"
    model_yml.write_text(model_yml.read_text().replace("description:", "description: (edited)", 1))
    edited = docs_key(warehouse, project)
    assert edited != base
    _execute(warehouse, "COMMENT ON COLUMN marts.dim_location.location_id IS 'edited'")
    commented = docs_key(warehouse, project)
    assert commented not in (base, edited)
    _execute(warehouse, "ALTER TABLE marts.dim_location ADD COLUMN extra INTEGER")
    assert docs_key(warehouse, project) != commented
    with environment({"SMB_ANOMALY_SCORE_THRESHOLD": None}):
        unset = docs_key(warehouse, project)
    with environment({"SMB_ANOMALY_SCORE_THRESHOLD": "0.99"}):
        assert docs_key(warehouse, project) != unset
    with environment({"SMB_PII_HASH_KEY": "ab" * 32}):  # a secret is not part of it (the key file is kept beside the site)
        assert docs_key(warehouse, project) == unset


def test_publish_regenerates_the_site_only_when_its_key_changed(tiny_run, tmp_path):
    """Real `dbt docs generate` runs: first into an empty folder, then skipped on an unchanged warehouse (the files
    are not rewritten), then regenerated after a column comment changed, with the new comment in its catalog."""
    warehouse = tmp_path / "candidate" / "warehouse.duckdb"
    warehouse.parent.mkdir()
    shutil.copy(tiny_run["published"], warehouse)
    site = tmp_path / "docs"
    dbt = WarehouseDbtCliResource(project_dir=DBT_PROJECT, dbt_executable=DBT_EXECUTABLE)
    with environment(run_env(tiny_run["root"], tiny_run["landing"], **tiny_run["extra_env"])):
        assert _generate_docs(dbt, warehouse, site) == "generated"
        assert (site / DOCS_KEY_FILE).read_text() == docs_key(warehouse)
        written = {p.name: p.stat().st_mtime_ns for p in site.iterdir()}
        assert set(written) == {"index.html", "manifest.json", "catalog.json", DOCS_KEY_FILE}

        _execute(warehouse, "UPDATE marts.dim_location SET has_sales = NOT has_sales")
        assert _generate_docs(dbt, warehouse, site) == "unchanged"
        assert {p.name: p.stat().st_mtime_ns for p in site.iterdir()} == written

        _execute(warehouse, "COMMENT ON COLUMN marts.dim_location.location_id IS 'edited for the docs test'")
        assert _generate_docs(dbt, warehouse, site) == "generated"
        catalog = json.loads((site / "catalog.json").read_text())
        column = catalog["nodes"]["model.smb_warehouse.dim_location"]["columns"]["location_id"]
        assert column["comment"] == "edited for the docs test"

        (site / "catalog.json").unlink()  # a damaged site is rebuilt even with a matching key
        assert _generate_docs(dbt, warehouse, site) == "generated"
        assert (site / "catalog.json").exists()
