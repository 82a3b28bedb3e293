"""Data tests that restate a contracted model's enforced constraint, and the constraints that stand in for them.

On the engines of the dbt var ``constraint_enforcing_engines`` (DuckDB, PostgreSQL) a contracted model's table is
created with its not_null and primary_key constraints, so a null or duplicate key fails the model's own build and a
``not_null`` / ``unique`` / ``unique_combination_of_columns`` test of the same columns could never fail there: those
tests are disabled on these engines (``enabled: "{{ target.type not in var('constraint_enforcing_engines') }}"``)
and run on Spark, whose Parquet tables enforce neither. Checked both ways on the manifest (no enabled test restates
an enforced constraint; every disabled test restates one), and on a real published warehouse: each disabled test's
columns carry the constraint in DuckDB's catalog, and DuckDB refuses a duplicate key and a null key.
"""
from __future__ import annotations

import json
import shutil
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest
import yaml

from orchestration.dbt.assets import DBT_PROJECT, ensure_manifest

RESTATING = ("not_null", "unique", "unique_combination_of_columns")


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads(ensure_manifest(DBT_PROJECT).read_text())


def _constraints(model: dict) -> tuple[list[str], set[str]]:
    """(primary key columns, not-null columns) a contracted table declares; ([], set()) without an enforced contract
    or for a view (constraints apply to tables only)."""
    if not model["config"].get("contract", {}).get("enforced") or model["config"]["materialized"] not in (
            "table", "incremental"):
        return [], set()
    key = next((c.get("columns") or [] for c in model.get("constraints", []) if c["type"] == "primary_key"), [])
    not_null = set()
    for name, column in model["columns"].items():
        kinds = {c["type"] for c in column.get("constraints", [])}
        key = [name] if "primary_key" in kinds else key
        if "not_null" in kinds:
            not_null.add(name)
    return key, not_null | set(key)


def _restates(test: dict, model: dict) -> bool:
    """Whether a generic test checks exactly what the model's enforced constraints already guarantee."""
    meta = test.get("test_metadata") or {}
    kwargs = meta.get("kwargs") or {}
    key, not_null = _constraints(model)
    if meta.get("name") == "not_null":
        return kwargs["column_name"] in not_null
    if meta.get("name") == "unique":
        return key == [kwargs["column_name"]]
    if meta.get("name") == "unique_combination_of_columns":
        return bool(key) and set(kwargs["combination_of_columns"]) == set(key)
    return False


def _disabled_tests(manifest: dict) -> list[tuple[dict, dict]]:
    """(test, model) of every disabled generic test of this project's models."""
    return [(test, manifest["nodes"][test["attached_node"]])
            for versions in manifest["disabled"].values() for test in versions
            if test["resource_type"] == "test" and (test.get("attached_node") or "") in manifest["nodes"]]


def test_the_warehouse_engine_is_one_that_enforces_constraints(manifest):
    engines = yaml.safe_load((Path(DBT_PROJECT.project_dir) / "dbt_project.yml").read_text())["vars"][
        "constraint_enforcing_engines"]
    assert manifest["metadata"]["adapter_type"] == "duckdb" and set(engines) == {"duckdb", "postgres"}


def test_no_enabled_test_restates_an_enforced_constraint(manifest):
    restating = [uid for uid, test in manifest["nodes"].items()
                 if test["resource_type"] == "test" and test.get("attached_node") in manifest["nodes"]
                 and _restates(test, manifest["nodes"][test["attached_node"]])]
    assert not restating, f"checks that cannot fail on DuckDB (the constraint fails the build first): {restating}"


def test_every_disabled_test_restates_an_enforced_constraint(manifest):
    disabled = _disabled_tests(manifest)
    kinds = {(test.get("test_metadata") or {}).get("name") for test, _ in disabled}
    assert len(disabled) >= 90 and kinds == set(RESTATING)
    guarding = [test["unique_id"] for test, model in disabled if not _restates(test, model)]
    assert not guarding, f"disabled tests that guard something no constraint enforces: {guarding}"


@pytest.mark.slow
def test_the_published_tables_carry_and_enforce_the_constraints(manifest, tiny_run, tmp_path):
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(tiny_run["published"], copy)
    con = duckdb.connect(str(copy))
    try:
        catalog = defaultdict(set)  # (schema, table, constraint type) -> the column tuples it constrains
        for schema, table, kind, columns in con.execute(
                "SELECT schema_name, table_name, constraint_type, constraint_column_names FROM duckdb_constraints()"
        ).fetchall():
            catalog[(schema, table, kind)].add(tuple(columns))
        for test, model in _disabled_tests(manifest):
            meta = test["test_metadata"]
            where = (model["schema"], model["alias"])
            if meta["name"] == "not_null":
                column = meta["kwargs"]["column_name"]
                enforced = (column,) in catalog[(*where, "NOT NULL")] or any(
                    column in key for key in catalog[(*where, "PRIMARY KEY")])
            else:
                columns = set(meta["kwargs"].get("combination_of_columns") or [meta["kwargs"]["column_name"]])
                enforced = any(set(key) == columns for key in catalog[(*where, "PRIMARY KEY")])
            assert enforced, f"{test['unique_id']}: {where} has no such constraint"
        # and DuckDB refuses what the tests looked for: a second row with a key already present, a null key
        [(rows,)] = con.execute("SELECT count(*) FROM marts.dim_location").fetchall()
        assert rows > 0
        with pytest.raises(duckdb.ConstraintException):
            con.execute("INSERT INTO marts.dim_location SELECT * FROM marts.dim_location LIMIT 1")
        with pytest.raises(duckdb.ConstraintException):
            con.execute("INSERT INTO marts.dim_location SELECT * REPLACE (NULL AS location_id) FROM marts.dim_location "
                        "LIMIT 1")
    finally:
        con.close()
