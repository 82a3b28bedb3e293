"""End to end through Dagster at a tiny scale: load, model, check, publish; then the same again
(nothing loaded twice); then a broken extract (run fails, published warehouse untouched)."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance

from orchestration.cli import failure_message
from smb_warehouse.ingestion.contracts import all_entities


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def env(tiny_sources: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory):
    landing_src, truth = tiny_sources
    root = tmp_path_factory.mktemp("e2e")
    landing = root / "landing"
    shutil.copytree(landing_src, landing)  # this module adds a broken file; keep the shared copy clean
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SMB_DATA_DIR", str(root))
        mp.setenv("SMB_LANDING_DIR", str(landing))
        from orchestration.definitions import defs

        yield {"root": root, "landing": landing, "truth": truth, "defs": defs,
               "published": root / "warehouse" / "warehouse.duckdb"}


def _run(env):
    job = env["defs"].get_job_def("warehouse_job")
    return job.execute_in_process(instance=DagsterInstance.ephemeral(), raise_on_error=False)


def _query(path: Path, sql: str):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def first_run(env):
    result = _run(env)
    assert result.success, [e.message for e in result.all_events if e.is_step_failure]
    return result


def test_published_warehouse_has_raw_audit_quarantine_and_staging(env, first_run):
    published = env["published"]
    tables = {(s, t) for s, t in _query(published, "SELECT table_schema, table_name FROM information_schema.tables")}
    for entity in all_entities():
        assert ("raw", entity.raw_table) in tables
        assert ("staging", f"stg_{entity.system}__{entity.name}") in tables
        # every entity really received rows from the generated extracts
        assert _query(published, f"SELECT count(*) FROM {entity.qualified_raw_table}")[0][0] > 0, entity.raw_table
    assert ("raw", "load_audit") in tables and ("raw", "quarantine") in tables
    unbalanced = _query(published, "SELECT count(*) FROM raw.load_audit WHERE rows_read <> rows_loaded + rows_quarantined")
    assert unbalanced[0][0] == 0
    assert (env["root"] / "docs" / "index.html").exists()


def test_every_injected_malformed_row_is_quarantined_at_its_line(env, first_run):
    import csv

    with open(env["truth"] / "malformed_rows.csv", newline="") as fh:
        injected = {(r["system"], r["entity"], r["file"], int(r["line"])) for r in csv.DictReader(fh)}
    assert injected, "the generator should inject malformed rows"
    quarantined = set(_query(env["published"], "SELECT system, entity, source_file, source_line FROM raw.quarantine"))
    relative = {(s, e, f if "/" in f else f"{s}/{e}/{f}", line) for s, e, f, line in injected}
    assert relative <= quarantined, sorted(relative - quarantined)[:5]


def test_second_run_loads_nothing_twice(env, first_run):
    before = _query(env["published"], "SELECT count(*), sum(rows_loaded) FROM raw.load_audit")
    raw_before = {e.raw_table: _query(env["published"], f"SELECT count(*) FROM {e.qualified_raw_table}")[0][0] for e in all_entities()}
    result = _run(env)
    assert result.success
    assert _query(env["published"], "SELECT count(*), sum(rows_loaded) FROM raw.load_audit") == before
    raw_after = {e.raw_table: _query(env["published"], f"SELECT count(*) FROM {e.qualified_raw_table}")[0][0] for e in all_entities()}
    assert raw_after == raw_before


def test_broken_extract_fails_the_run_and_leaves_the_published_warehouse_intact(env, first_run):
    published = env["published"]
    digest = _sha(published)
    broken = env["landing"] / "erp" / "customers" / "zz_broken_export.csv"
    broken.write_text("customer_name,email\nAcme,a@b.example\n")  # customer_id (required) is missing
    try:
        result = _run(env)
        assert not result.success
        messages = " ".join(failure_message(e) for e in result.all_events if e.is_step_failure)
        assert "erp/customers/zz_broken_export.csv" in messages and "customer_id" in messages
        assert _sha(published) == digest
        assert not any(e.event_type_value == "ASSET_MATERIALIZATION" and e.asset_key.path == ["published_warehouse"]
                       for e in result.all_events)
    finally:
        broken.unlink()
