"""Write-audit-publish at the file level: candidates are copies, publish is an atomic swap, readers of
the old file are unaffected, and an unpublished candidate never leaks into the published warehouse.
Inside a candidate: Python-written tables come from one declaration (models/sources/), go through one writer
(one transaction per logical write), and dbt relation names come from the dbt manifest."""
from __future__ import annotations

from datetime import date, datetime

import duckdb
import pandas as pd
import pytest

from smb_warehouse.core import dbt_manifest, python_tables
from smb_warehouse.core.warehouse import Append, Replace, Warehouse, transaction, write_tables


def _count(path, table="t"):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        con.close()


def test_candidate_starts_as_copy_and_publish_swaps_atomically(tmp_path):
    wh = Warehouse(tmp_path)
    with wh.connect("run1") as con:
        con.execute("CREATE TABLE t AS SELECT * FROM range(3)")
    assert not wh.published_path.exists()
    wh.publish("run1")
    assert _count(wh.published_path) == 3 and not wh.candidate_file.exists()
    wh.release("run1")  # the run ends (Dagster's resource teardown does this): the next one may claim

    reader = duckdb.connect(str(wh.published_path), read_only=True)  # a BI tool holding the old file
    with wh.connect("run2") as con:
        assert con.execute("SELECT count(*) FROM t").fetchone()[0] == 3  # copy of what was published
        con.execute("INSERT INTO t SELECT * FROM range(10)")
    assert _count(wh.published_path) == 3  # candidate writes are invisible until publish
    wh.publish("run2")
    assert reader.execute("SELECT count(*) FROM t").fetchone()[0] == 3  # old readers keep their snapshot
    reader.close()
    assert _count(wh.published_path) == 13


def test_failed_run_leaves_published_untouched(tmp_path):
    wh = Warehouse(tmp_path)
    with wh.connect("good") as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
    wh.publish("good")
    wh.release("good")
    before = wh.published_path.read_bytes()
    with pytest.raises(RuntimeError), wh.connect("bad") as con:
        con.execute("DROP TABLE t")
        raise RuntimeError("a check failed")
    assert wh.published_path.read_bytes() == before
    with pytest.raises(FileNotFoundError):  # only the run that owns the candidate may publish it
        wh.publish("another-run")
    wh.release("bad")  # the failed run ends (Dagster's resource teardown does this)
    with wh.connect("next") as con:  # the next run starts from the published file, not the failed candidate
        assert con.execute("SELECT x FROM t").fetchall() == [(1,)]


# ------------------------------------------------------------------ one declaration, one writer
def _table_shape(con, relation: str) -> tuple[list[tuple], list[str]]:
    schema, name = relation.split(".")
    columns = con.execute("SELECT column_name, data_type, is_nullable FROM information_schema.columns "
                          "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position", [schema, name]).fetchall()
    pk = con.execute("SELECT constraint_column_names FROM duckdb_constraints() WHERE schema_name = ? AND table_name = ? "
                     "AND constraint_type = 'PRIMARY KEY'", [schema, name]).fetchall()
    return columns, (pk[0][0] if pk else [])


def _predictions(run_id: str, tickets=("T-1", "T-2")) -> pd.DataFrame:
    n = len(tickets)
    return pd.DataFrame({
        "run_id": run_id,  # out of declared order on purpose: the writer inserts by name
        "support_ticket_id": list(tickets), "predicted_category": "billing", "category_confidence": [0.9] * n,
        "predicted_priority": "high", "priority_confidence": [0.55] * n, "suggested_team": "finance",
        "route": "finance", "is_auto_triaged": [True] * n, "label_split": "train", "desk_category": None,
        "desk_priority": None, "category_model_version": "1", "priority_model_version": "1",
        "predicted_at": ["2025-01-02 03:04:05"] * n,  # text: cast to the declared TIMESTAMP
        "not_declared": 1,  # extra columns are ignored
    })


def _drift(run_id: str, columns=("qty_lag_7d", "price")) -> pd.DataFrame:
    return pd.DataFrame({
        "computed_at": datetime(2025, 1, 1), "dagster_run_id": run_id, "model_name": "demand_forecaster",
        "model_version": "3", "drift_kind": "feature", "column_name": list(columns), "method": "wasserstein",
        "drift_score": [0.1] * len(columns), "threshold": 0.2, "drifted": False, "reference_start": date(2024, 1, 1),
        "reference_end": date(2024, 6, 30), "current_start": date(2024, 7, 1), "current_end": date(2024, 7, 28),
        "report_path": None})


def test_every_python_written_table_is_declared_with_types_keys_and_its_asset(tmp_path):
    tables = python_tables.all_tables()
    assert {"entity_resolution.entity_map", "ml.demand_forecasts", "ml.model_registry", "reconciliation.candidate_scores",
            "cashflow.alert_deliveries", "triage.kb_suggestions"} <= set(tables)
    forecasts = tables["ml.demand_forecasts"]
    assert forecasts.column_names[:4] == ["sku", "location_id", "origin_date", "forecast_date"]  # yml order
    assert forecasts.primary_key == ("sku", "location_id", "forecast_date")
    assert tables["cashflow.alert_deliveries"].asset_key == ("cashflow", "alert_notifications")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    for spec in tables.values():
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {spec.schema}")
        con.execute(f"CREATE TABLE {spec.relation} ({spec.ddl()})")
    columns, pk = _table_shape(con, "entity_resolution.entity_map")
    assert pk == ["entity_type", "record_key"]
    assert ("match_score", "DOUBLE", "YES") in columns and ("resolved_at", "TIMESTAMP", "NO") in columns
    con.close()


def test_a_broken_declaration_is_refused_naming_file_table_and_column(tmp_path):
    good = (python_tables.SOURCES_DIR / "_triage__sources.yml").read_text(encoding="utf-8")
    broken = good.replace("{name: suggestion_rank, data_type: integer,", "{name: suggestion_rank,")
    assert broken != good
    (tmp_path / "_triage__sources.yml").write_text(broken, encoding="utf-8")
    with pytest.raises(ValueError, match=r"_triage__sources\.yml: triage\.kb_suggestions\.suggestion_rank needs data_type"):
        python_tables._declared(tmp_path)
    with pytest.raises(KeyError, match="not a Python-written table declared"):
        python_tables.table("triage.no_such_table")


def test_write_tables_casts_to_the_declaration_and_writes_all_tables_in_one_transaction(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    suggestions = pd.DataFrame({"support_ticket_id": ["T-1", "T-1"], "suggestion_rank": [1.0, 2.0],
                                "support_article_id": ["KB-1", "KB-2"], "similarity": [0.8, 0.5], "run_id": "r1"})
    write_tables(con, [Replace("triage.ticket_predictions", _predictions("r1")), Replace("triage.kb_suggestions", suggestions)])
    columns, _ = _table_shape(con, "triage.ticket_predictions")
    assert [c[0] for c in columns] == python_tables.table("triage.ticket_predictions").column_names
    assert con.execute("SELECT typeof(predicted_at), predicted_at, run_id FROM triage.ticket_predictions LIMIT 1").fetchone() == (
        "TIMESTAMP", datetime(2025, 1, 2, 3, 4, 5), "r1")
    ranks = con.execute("SELECT typeof(suggestion_rank), sum(suggestion_rank) FROM triage.kb_suggestions GROUP BY 1").fetchone()
    assert ranks == ("INTEGER", 3)

    # A frame without a declared column: refused before anything is written, naming table and column.
    with pytest.raises(ValueError, match=r"triage\.kb_suggestions: the frame lacks declared column\(s\) similarity"):
        write_tables(con, [Replace("triage.ticket_predictions", _predictions("r2", ("T-9",))),
                           Replace("triage.kb_suggestions", suggestions.drop(columns="similarity"))])
    # A value the declaration refuses (NULL in a NOT NULL column of the 2nd table): the 1st is not replaced either.
    with pytest.raises(duckdb.ConstraintException):
        write_tables(con, [Replace("triage.ticket_predictions", _predictions("r2", ("T-9",))),
                           Replace("ml.demand_forecast_log", pd.DataFrame({
                               c: [None] for c in python_tables.table("ml.demand_forecast_log").column_names}))])
    assert con.execute("SELECT list(support_ticket_id ORDER BY 1) FROM triage.ticket_predictions").fetchone()[0] == ["T-1", "T-2"]
    assert con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'ml'").fetchone()[0] == 0
    con.close()


def test_append_replaces_the_rows_it_supersedes_and_refuses_a_table_unlike_its_declaration(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    run = [Append("ml.drift_metrics", _drift("run-a"), delete_where="dagster_run_id = ?", params=["run-a"])]
    write_tables(con, run)
    write_tables(con, [Append("ml.drift_metrics", _drift("run-b", ("price",)), delete_where="dagster_run_id = ?",
                              params=["run-b"])])
    write_tables(con, run)  # a retried run replaces its own rows instead of doubling them
    counts = dict(con.execute("SELECT dagster_run_id, count(*) FROM ml.drift_metrics GROUP BY 1").fetchall())
    assert counts == {"run-a": 2, "run-b": 1}
    assert con.execute("SELECT DISTINCT typeof(reference_start) FROM ml.drift_metrics").fetchall() == [("DATE",)]

    con.execute("CREATE TABLE ml.forecast_quality (computed_at TIMESTAMP, metric_value DOUBLE)")  # a stale shape
    quality = pd.DataFrame({c: [] for c in python_tables.table("ml.forecast_quality").column_names})
    with pytest.raises(RuntimeError, match=r"ml\.forecast_quality exists with columns .* not as declared"):
        write_tables(con, [Append("ml.forecast_quality", quality)])
    con.close()


def test_transaction_rolls_back_everything_on_error(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("CREATE TABLE t (x INTEGER)")
    with pytest.raises(ZeroDivisionError), transaction(con):
        con.execute("INSERT INTO t VALUES (1)")
        _ = 1 / 0
    with transaction(con):
        con.execute("INSERT INTO t VALUES (2)")
    assert con.execute("SELECT list(x) FROM t").fetchone()[0] == [2]
    con.close()


def test_dbt_relations_come_from_the_manifest(tmp_path, monkeypatch):
    from orchestration.dbt.assets import DBT_PROJECT, ensure_manifest

    manifest = ensure_manifest(DBT_PROJECT)
    monkeypatch.setenv("SMB_DBT_MANIFEST", str(manifest))
    assert dbt_manifest.relation("int_triage__ticket_inputs") == "intermediate.int_triage__ticket_inputs"
    assert dbt_manifest.relation("fx_rates") == "reference.fx_rates"  # seeds too
    assert dbt_manifest.relation("dim_customer", version=1) == "marts.dim_customer_v1"
    with pytest.raises(dbt_manifest.ManifestError, match="did you mean int_triage__ticket_inputs"):
        dbt_manifest.relation("int_triage__ticket_input")
    monkeypatch.setenv("SMB_DBT_MANIFEST", str(tmp_path / "missing" / "manifest.json"))
    with pytest.raises(dbt_manifest.ManifestError, match="no dbt manifest at .*missing.*run `dbt parse`"):
        dbt_manifest.relation("int_triage__ticket_inputs")


def test_pipeline_connections_to_warehouse_files_run_under_the_memory_limit(tmp_path):
    import re
    from pathlib import Path

    from smb_warehouse.core.warehouse import MEMORY_LIMIT_ENV, open_duckdb
    from tests.support import environment

    def limit(con):
        return con.execute("SELECT current_setting('memory_limit')").fetchone()[0]

    with environment({MEMORY_LIMIT_ENV: None}):
        con = open_duckdb(tmp_path / "a.duckdb")
        assert limit(con) == "3.7 GiB"  # the 4GB default, as DuckDB prints it
        con.close()
    with environment({MEMORY_LIMIT_ENV: "512MB"}):
        wh = Warehouse(tmp_path / "wh")
        with wh.connect("run1") as con:
            assert limit(con) == "488.2 MiB"
            con.execute("CREATE TABLE t AS SELECT * FROM range(3)")
        wh.publish("run1")
        con = open_duckdb(wh.published_path, read_only=True)
        assert limit(con) == "488.2 MiB" and con.execute("SELECT count(*) FROM t").fetchone()[0] == 3
        con.close()
    with environment({MEMORY_LIMIT_ENV: "lots"}), pytest.raises(ValueError, match=f"{MEMORY_LIMIT_ENV}.*'lots'"):
        open_duckdb(tmp_path / "b.duckdb")
    with environment({MEMORY_LIMIT_ENV: "2G"}):  # what DuckDB reads, both variables alike
        con = open_duckdb()
        assert limit(con) == "1.8 GiB"
        con.close()
    # no pipeline module opens or ATTACHes a warehouse file any other way: every other duckdb.connect is to a
    # private in-memory database, in a module that ATTACHes no file, or carries a memory limit of its own
    root = Path(__file__).resolve().parents[1]
    for package in ("smb_warehouse", "orchestration", "api", "events"):
        for source in (root / package).rglob("*.py"):
            text = source.read_text()
            for call in re.findall(r"(?<!`)duckdb\.connect\((.*)", text):  # rest of line; ``docs`` skipped
                if "memory_limit" in call:
                    continue
                assert call.startswith((")", '":memory:"')), (source, call)
                assert "ATTACH" not in text, (source, "ATTACHes into a connection without the memory limit")
