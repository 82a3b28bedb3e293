"""End to end through Dagster at a tiny scale: the shared complete run (load, model, check, publish), then on a
copy of it the same again (nothing loaded twice) and a broken extract (run fails, published warehouse untouched)."""
from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from dagster import DagsterEventType, DagsterInstance, build_run_status_sensor_context

from orchestration.cli import demo, failure_message
from orchestration.operations.definitions import run_failure_alert
from smb_warehouse.ingestion.contracts import all_entities
from tests.conftest import start_local_webhook
from tests.support import clone_run, environment, query, run_env, sha256_of, step_failures


@pytest.fixture(scope="module")
def e2e_clone(tiny_run: dict, tmp_path_factory: pytest.TempPathFactory):
    """A private copy of the shared run (data dir and landing zone) for the tests that run again on top of it
    (a second run; a broken extract)."""
    root = tmp_path_factory.mktemp("e2e")
    clone_run(tiny_run["root"], root / "data")
    landing = root / "landing"
    shutil.copytree(tiny_run["landing"], landing)  # a broken file is added here, never to the shared copy
    with environment(run_env(root / "data", landing)):
        from orchestration.definitions import defs

        yield {"root": root / "data", "landing": landing, "defs": defs,
               "published": root / "data" / "warehouse" / "warehouse.duckdb"}


def _raw_counts(published: Path) -> dict[str, int]:
    return {e.raw_table: query(published, f"SELECT count(*) FROM {e.qualified_raw_table}")[0][0] for e in all_entities()}


def _run(env):
    job = env["defs"].resolve_job_def("warehouse_job")
    return job.execute_in_process(instance=DagsterInstance.ephemeral(), raise_on_error=False)


def test_published_warehouse_has_raw_audit_quarantine_and_staging(tiny_run):
    published = tiny_run["published"]
    tables = {(s, t) for s, t in query(published, "SELECT table_schema, table_name FROM information_schema.tables")}
    for entity in all_entities():
        assert ("raw", entity.raw_table) in tables
        assert ("staging", f"stg_{entity.system}__{entity.name}") in tables
        # every entity really received rows from the generated extracts
        assert query(published, f"SELECT count(*) FROM {entity.qualified_raw_table}")[0][0] > 0, entity.raw_table
    assert ("raw", "load_audit") in tables and ("raw", "quarantine") in tables
    unbalanced = query(published, "SELECT count(*) FROM raw.load_audit WHERE rows_read <> rows_loaded + rows_quarantined")
    assert unbalanced[0][0] == 0
    assert (tiny_run["root"] / "docs" / "index.html").exists()


def test_every_injected_malformed_row_is_quarantined_at_its_line(tiny_run):
    import csv

    with open(tiny_run["truth"] / "malformed_rows.csv", newline="") as fh:
        injected = {(r["system"], r["entity"], r["file"], int(r["line"])) for r in csv.DictReader(fh)}
    assert injected, "the generator should inject malformed rows"
    quarantined = set(query(tiny_run["published"], "SELECT system, entity, source_file, source_line FROM raw.quarantine"))
    relative = {(s, e, f if "/" in f else f"{s}/{e}/{f}", line) for s, e, f, line in injected}
    assert relative <= quarantined, sorted(relative - quarantined)[:5]


@pytest.mark.scenario
def test_second_run_loads_nothing_twice(e2e_clone):
    env = e2e_clone
    before = query(env["published"], "SELECT count(*), sum(rows_loaded) FROM raw.load_audit")
    raw_before = _raw_counts(env["published"])
    result = _run(env)
    assert result.success, step_failures(result)
    assert query(env["published"], "SELECT count(*), sum(rows_loaded) FROM raw.load_audit") == before
    assert _raw_counts(env["published"]) == raw_before


def test_broken_extract_fails_the_run_and_leaves_the_published_warehouse_intact(e2e_clone):
    env = e2e_clone
    published = env["published"]
    digest = sha256_of(published)
    broken = env["landing"] / "erp" / "customers" / "zz_broken_export.csv"
    broken.write_text("customer_name,email\nAcme,a@b.example\n")  # customer_id (required) is missing
    try:
        terminal = io.StringIO()  # through `make demo`'s code path: what the user reads
        instance = DagsterInstance.ephemeral()
        code, result = demo(instance, terminal)
        assert code == 1 and not result.success
        messages = " ".join(failure_message(e) for e in result.all_events if e.is_step_failure)
        assert "erp/customers/zz_broken_export.csv" in messages and "customer_id" in messages
        printed = terminal.getvalue()
        assert "RUN FAILED: the published warehouse was left untouched." in printed
        assert "- step raw__erp__customers: " in printed and "zz_broken_export.csv" in printed
        assert "Traceback" not in printed and len(printed.splitlines()) < 20, printed
        log = Path(printed.split("Full log: ")[1].split()[0])
        full = log.read_text()  # the whole story: the error with its stack, every event at DEBUG
        assert log.parent == env["root"] / "logs" and "zz_broken_export.csv" in full and 'File "' in full
        assert sha256_of(published) == digest
        assert not any(e.event_type_value == "ASSET_MATERIALIZATION" and e.asset_key.path == ["published_warehouse"]
                       for e in result.all_events)
        # the run-failure sensor (on by default) alerts through the notify channel, naming the failed step
        failure = instance.all_logs(result.run_id, of_type=DagsterEventType.RUN_FAILURE)[0].dagster_event
        context = build_run_status_sensor_context(sensor_name="run_failure_alert", dagster_event=failure,
                                                  dagster_instance=instance, dagster_run=result.dagster_run)
        url, stop, received = start_local_webhook()
        try:
            with environment({"SMB_ALERT_WEBHOOK_URL": url, "SMB_ALERT_CHANNEL": None}):
                run_failure_alert(context.for_run_failure())
        finally:
            stop()
        [alert] = received[0]["body"]["alerts"]
        assert received[0]["body"]["subject"] == "warehouse run failed" and len(received) == 1
        assert alert["run_id"] == result.run_id and alert["job"] == "warehouse_job" and alert["published"] is False
        assert [s["step"] for s in alert["failed_steps"]] == ["raw__erp__customers"]
        assert "zz_broken_export.csv" in alert["failed_steps"][0]["error"]
    finally:
        broken.unlink()


def test_a_run_without_the_publish_is_labelled_scratch_and_changes_nothing_bi_sees(e2e_clone):
    """The UI's "Materialize" on a few assets: the run is tagged warehouse/publish=scratch (the UI's run list shows
    it) and the published warehouse stays byte-identical."""
    from dagster import AssetKey

    from orchestration.lib.resources import SCRATCH_TAG

    env = e2e_clone
    digest = sha256_of(env["published"])
    instance = DagsterInstance.ephemeral()
    customers = next(e for e in all_entities() if (e.system, e.name) == ("erp", "customers"))
    result = env["defs"].resolve_job_def("warehouse_job").execute_in_process(
        instance=instance, raise_on_error=False, asset_selection=[AssetKey(customers.asset_key_path)])
    assert result.success, step_failures(result)
    assert instance.get_run_by_id(result.run_id).tags.get(SCRATCH_TAG) == "scratch"
    assert sha256_of(env["published"]) == digest
    published = env["defs"].resolve_job_def("warehouse_job").execute_in_process(
        instance=instance, raise_on_error=False,
        asset_selection=[AssetKey(customers.asset_key_path), AssetKey(["published_warehouse"])])
    assert published.success and SCRATCH_TAG not in instance.get_run_by_id(published.run_id).tags

