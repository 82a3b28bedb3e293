"""dbt descriptions reach the database (dbt ``persist_docs``): what BI tools and the DuckDB CLI see through
``duckdb_tables()`` / ``duckdb_columns()`` is what the dbt docs say, in the published file and in the BI copy."""
from __future__ import annotations

import json

from orchestration.dbt.assets import DBT_PROJECT
from smb_warehouse.core.warehouse import Warehouse
from tests.support import environment, query, run_env


def _described_models() -> dict[tuple[str, str], tuple[str, dict[str, str]]]:
    """(schema, relation) -> (model description, {column: description}) for every model of the project."""
    manifest = json.loads(DBT_PROJECT.manifest_path.read_text())
    return {(n["schema"], n.get("alias") or n["name"]): (n["description"], {c: v["description"] for c, v in n["columns"].items()})
            for n in manifest["nodes"].values()
            if n["resource_type"] == "model" and n["package_name"] == "smb_warehouse"
            and n["config"]["materialized"] != "ephemeral"}


def _comments(path) -> tuple[dict[tuple[str, str], str | None], dict[tuple[str, str, str], str | None]]:
    relations = query(path, "SELECT schema_name, table_name, comment FROM duckdb_tables() UNION ALL "
                            "SELECT schema_name, view_name, comment FROM duckdb_views() WHERE NOT internal")
    columns = query(path, "SELECT schema_name, table_name, column_name, comment FROM duckdb_columns()")
    return {(s, t): c for s, t, c in relations}, {(s, t, col): c for s, t, col, c in columns}


def test_every_model_and_column_carries_its_description_in_the_published_file_and_the_bi_copy(tiny_run):
    models = _described_models()
    with environment(run_env(tiny_run["root"], tiny_run["landing"])):
        wh = Warehouse()
        published, bi = wh.published_path, wh.bi_path
    for path, which in ((published, "all"), (bi, "public")):
        relation_comments, column_comments = _comments(path)
        in_file = {key for key in models if key in relation_comments}
        if which == "all":
            assert in_file == set(models), f"models missing from the published file: {set(models) - in_file}"
        else:
            assert {k for k in relation_comments if k[0] != "meta"} == in_file and len(in_file) >= 30
        undocumented, wrong = [], []
        for key in sorted(in_file):
            description, columns = models[key]
            assert description.strip(), f"{key} has no description in its yml"
            if relation_comments[key] != description:
                wrong.append(f"{key}: {relation_comments[key]!r}")
            for (schema, name, column), comment in column_comments.items():
                if (schema, name) != key:
                    continue
                if not comment:
                    undocumented.append(f"{schema}.{name}.{column}")
                elif comment != columns.get(column):
                    wrong.append(f"{schema}.{name}.{column}: {comment!r} != {columns.get(column)!r}")
        assert undocumented == [] and wrong == [], f"{path}: undocumented {undocumented[:10]}, wrong {wrong[:10]}"


def test_dagster_and_the_docs_site_name_relations_as_the_published_file_does(tiny_run):
    """DuckDB names a database after its file; the candidate is candidate/warehouse.duckdb, so what dbt, its docs
    site and Dagster's metadata call a relation is what BI tools see in the published file (never candidate.…)."""
    from dagster import AssetKey

    from orchestration.dbt.assets import warehouse_dbt_models

    spec = next(s for s in warehouse_dbt_models.specs if s.key == AssetKey(["marts", "dim_location"]))
    assert spec.metadata["dagster/table_name"] == "warehouse.marts.dim_location"
    assert query(tiny_run["published"], "SELECT current_database()") == [("warehouse",)]
    site = json.loads((tiny_run["root"] / "docs" / "manifest.json").read_text())
    databases = {n["database"] for n in site["nodes"].values() if n["resource_type"] == "model"}
    assert databases == {"warehouse"}
