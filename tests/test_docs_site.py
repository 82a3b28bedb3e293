"""The dbt docs site is regenerated at publish only when what it shows changed (issue 12: a run that brings new
rows should not pay a dbt start-up, a compile of every node and the catalog queries for an identical site)."""
from __future__ import annotations

import json
import shutil

import duckdb
from dagster_dbt import DbtCliResource

from orchestration.dbt.assets import DBT_EXECUTABLE, DBT_PROJECT
from orchestration.publish.assets import DOCS_KEY_FILE, _generate_docs, docs_key
from tests.support import environment, run_env


def _execute(path, sql: str) -> None:
    con = duckdb.connect(str(path))
    try:
        con.execute(sql)
    finally:
        con.close()


def test_the_docs_key_moves_with_project_catalog_and_settings_and_not_with_rows_or_parse_times(tiny_run, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(tiny_run["published"], warehouse)
    manifest = tmp_path / "manifest.json"
    shutil.copy(DBT_PROJECT.manifest_path, manifest)
    base = docs_key(warehouse, manifest)
    assert docs_key(warehouse, manifest) == base

    # changed rows, a new parse of the same project (run metadata, parse times): same site
    _execute(warehouse, "UPDATE marts.dim_location SET has_sales = NOT has_sales")
    project = json.loads(manifest.read_text())
    project["metadata"]["generated_at"] = "2000-01-01T00:00:00Z"
    project["metadata"]["invocation_id"] = "00000000-0000-0000-0000-000000000000"
    for node in project["nodes"].values():
        node["created_at"] = 1.0
    manifest.write_text(json.dumps(project))
    assert docs_key(warehouse, manifest) == base

    # a description in the project, a comment or a column in the warehouse, a setting a model reads: a new site
    node = next(n for n in project["nodes"].values() if n["resource_type"] == "model")
    node["description"] += " (edited)"
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(project))
    assert docs_key(warehouse, edited) != base
    _execute(warehouse, "COMMENT ON COLUMN marts.dim_location.location_id IS 'edited'")
    commented = docs_key(warehouse, manifest)
    assert commented != base
    _execute(warehouse, "ALTER TABLE marts.dim_location ADD COLUMN extra INTEGER")
    assert docs_key(warehouse, manifest) != commented
    with environment({"SMB_ANOMALY_SCORE_THRESHOLD": None}):
        unset = docs_key(warehouse, manifest)
    with environment({"SMB_ANOMALY_SCORE_THRESHOLD": "0.99"}):
        assert docs_key(warehouse, manifest) != unset
    with environment({"SMB_PII_HASH_KEY": "ab" * 32}):  # a secret is not part of it (the key file is kept beside the site)
        assert docs_key(warehouse, manifest) == unset


def test_publish_regenerates_the_site_only_when_its_key_changed(tiny_run, tmp_path):
    """Real `dbt docs generate` runs: first into an empty folder, then skipped on an unchanged warehouse (the files
    are not rewritten), then regenerated after a column comment changed, with the new comment in its catalog."""
    warehouse = tmp_path / "candidate" / "warehouse.duckdb"
    warehouse.parent.mkdir()
    shutil.copy(tiny_run["published"], warehouse)
    site = tmp_path / "docs"
    dbt = DbtCliResource(project_dir=DBT_PROJECT, dbt_executable=DBT_EXECUTABLE)
    with environment(run_env(tiny_run["root"], tiny_run["landing"], **tiny_run["extra_env"])):
        assert _generate_docs(dbt, warehouse, site) == "generated"
        assert (site / DOCS_KEY_FILE).read_text() == docs_key(warehouse, DBT_PROJECT.manifest_path)
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
