"""A run is skipped only when nothing it reads changed since the last successful publish
(orchestration.lib.run_inputs): every kind of input moves the fingerprint, a location or a serving setting does
not, the rows a run writes itself do not, and in doubt it runs."""
from __future__ import annotations

import io
import os
import sqlite3
import uuid

import duckdb
import pytest
from dagster import DagsterInstance, DagsterRunStatus, instance_for_test, job, op

from orchestration.lib import run_inputs
from smb_warehouse.core import paths, safe_mode
from smb_warehouse.core.config import environment
from tests.support import clone_run, run_env, sha256_of


@op
def _noop():
    return None


@job
def _stand_in():
    _noop()


def _succeeded(instance: DagsterInstance, run_id: str, status=DagsterRunStatus.SUCCESS) -> None:
    """The instance's history of the run that published (a stand-in job: only its id and status are read)."""
    instance.create_run_for_job(_stand_in, run_id=run_id, status=status)


@pytest.fixture()
def world(tmp_path):
    """A landing zone with one customers file, a small project tree, and a data dir, as the environment points
    at them (PII key from the environment, so nothing is generated into the data dir)."""
    landing, project, data = tmp_path / "landing", tmp_path / "project", tmp_path / "data"
    (landing / "erp" / "customers").mkdir(parents=True)
    (landing / "erp" / "customers" / "customers_2025-01.csv").write_text("customer_id\nC-1\n")
    (project / "models").mkdir(parents=True)
    (project / "models" / "stg.sql").write_text("select 1")
    (project / "dbt_project.yml").write_text("name: x\n")
    environ = {"SMB_DATA_DIR": str(data), "SMB_LANDING_DIR": str(landing), "SMB_TRIAGE_MIN_CONFIDENCE": "0.6",
               "SMB_PII_HASH_KEY": "ab" * 32}
    with environment(environ):
        yield landing, project, {**environ, "PATH": os.environ.get("PATH", "")}


def _fp(landing, project, environ):
    return run_inputs.input_fingerprint(landing, project, environ)


def test_every_input_moves_the_fingerprint_and_nothing_else_does(world, tmp_path):
    landing, project, environ = world
    base = _fp(landing, project, environ)
    assert _fp(landing, project, environ) == base  # deterministic
    unrelated = {"SMB_DATA_DIR": "/elsewhere", "SMB_REPORTS_DIR": "/x", "PATH": "/y", "SMB_API_KEYS": "k:viewer",
                 "SMB_REPORTS_PORT": "3002", "DBT_POSTGRES_PASSWORD": "secret", "MLFLOW_TRACKING_URI": "sqlite:///x",
                 # PostgreSQL's copy is published by its own job, which checks server and role itself
                 "SMB_POSTGRES_PUBLISH": "1", "DBT_POSTGRES_HOST": "db", "DBT_POSTGRES_BI_ROLE": "bi"}
    assert _fp(landing, project, {**environ, **unrelated}) == base
    (landing / "notes").mkdir()
    (landing / "notes" / "readme.txt").write_text("no contract reads this folder")
    assert _fp(landing, project, environ) == base

    changes = []
    new_file = landing / "erp" / "customers" / "customers_2025-02.csv"
    new_file.write_text("customer_id\nC-2\n")
    changes.append(("a new landing file", _fp(landing, project, environ)))
    new_file.write_text("customer_id\nC-2\nC-3\n")
    changes.append(("a landing file rewritten", _fp(landing, project, environ)))
    new_file.unlink()
    assert _fp(landing, project, environ) == base  # back as it was
    share = tmp_path / "share" / "suppliers"  # an entity folder that is a symlink to an export share
    share.mkdir(parents=True)
    (landing / "erp" / "suppliers").symlink_to(share, target_is_directory=True)
    (share / "suppliers_2025-01.csv").write_text("supplier_id\nS-1\n")
    changes.append(("a file in a symlinked entity folder", _fp(landing, project, environ)))
    original = landing / "erp" / "customers" / "customers_2025-01.csv"
    kept = original.stat()
    original.write_text("customer_id\nC-9\n")  # same size, and the old mtime restored (cp -p, tar, a restore)
    os.utime(original, ns=(kept.st_atime_ns, kept.st_mtime_ns))
    changes.append(("a same-size rewrite with its mtime restored", _fp(landing, project, environ)))
    (project / "models" / "stg.sql").write_text("select 2")
    changes.append(("a model edited", _fp(landing, project, environ)))
    changes.append(("a setting", _fp(landing, project, {**environ, "SMB_TRIAGE_MIN_CONFIDENCE": "0.7"})))
    with environment({"SMB_PII_HASH_KEY": "cd" * 32}):
        changes.append(("another PII key", _fp(landing, project, environ)))
    store = paths.review_decisions_store()
    store.parent.mkdir(parents=True)
    before_store = _fp(landing, project, environ)
    with sqlite3.connect(store) as con:  # a run creates the store: created and empty reads as no store at all
        con.execute("CREATE TABLE decisions (seq INTEGER PRIMARY KEY AUTOINCREMENT, decision_id TEXT)")
    con.close()
    assert _fp(landing, project, environ) == before_store
    with sqlite3.connect(store) as con:
        con.execute("INSERT INTO decisions (decision_id) VALUES ('d1')")
    con.close()
    changes.append(("a review decision", _fp(landing, project, environ)))
    safe_mode.open_breaker("demand_forecasting", "baseline_only", "supplier data looks wrong", by="ann",
                           by_kind=safe_mode.PERSON)
    changes.append(("a person's breaker change", _fp(landing, project, environ)))
    seen = [base]
    for what, fingerprint in changes:
        assert fingerprint not in seen, f"{what} did not change the fingerprint"
        seen.append(fingerprint)
    # a run's own breaker change is an output of that run, not an input of the next
    safe_mode.close_breaker("demand_forecasting", "healthy run", by="pipeline", by_kind=safe_mode.RUN, run_id="r1")
    assert _fp(landing, project, environ) == seen[-1]


def _publish(root, run_id: str, recorded: str | None, audit: list[tuple[str, str, int]]) -> None:
    """Publish a warehouse through ``Warehouse.publish`` (kept publish, BI copy) holding ``audit`` (landing path,
    status, bytes) as its ``raw.load_audit`` and ``recorded`` as its run-inputs record."""
    from smb_warehouse.core.warehouse import Warehouse
    from smb_warehouse.ingestion.loader import ensure_ingestion_tables

    store = Warehouse(root)
    with store.connect(run_id) as con:
        ensure_ingestion_tables(con)
        for rel, status, size in audit:
            con.execute("INSERT INTO raw.load_audit (load_id, source_file, status, file_bytes, finished_at) "
                        "VALUES (?, ?, ?, ?, now())", [run_id, rel, status, size])
        run_inputs.record(con, run_id, recorded)
    store.publish(run_id, bi_relations=[])
    store.release(run_id)


def test_a_run_is_skipped_only_when_the_recording_run_succeeded_and_in_doubt_it_runs(world, tmp_path):
    landing = world[0]
    root = tmp_path / "warehouse"
    published = root / "warehouse.duckdb"
    instance = DagsterInstance.ephemeral()
    assert not run_inputs.check(instance, published).skip  # nothing published
    fingerprint = run_inputs.input_fingerprint()
    rel = "erp/customers/customers_2025-01.csv"
    size = (landing / rel).stat().st_size
    loaded = [(rel, "loaded", size)]

    ui_run, run_1, run_2, run_3, run_4 = (str(uuid.uuid4()) for _ in range(5))
    _publish(root, ui_run, None, loaded)  # a run started without a fingerprint (the UI, a test)
    _succeeded(instance, ui_run)
    assert "no record" in run_inputs.check(instance, published).reason
    _publish(root, run_1, fingerprint, loaded)
    decision = run_inputs.check(instance, published)
    assert not decision.skip and "did not succeed here" in decision.reason  # the instance does not know run_1
    _succeeded(instance, run_1, DagsterRunStatus.FAILURE)  # published, then a later step failed
    assert not run_inputs.check(instance, published).skip
    # what the run read, not what was there when it started: a file held back (a contract the scheduler's process
    # had cached, a file caught mid-write), or one that vanished from a share during the load, is not read
    for audit, why in (([(rel, "loaded", size), (rel, "held", size)], "held back"), ([], "not in the audit"),
                       ([(rel, "loaded", size + 1)], "other size")):
        run = str(uuid.uuid4())
        _publish(root, run, fingerprint, audit)
        _succeeded(instance, run)
        decision = run_inputs.check(instance, published)
        assert not decision.skip and "has not read" in decision.reason, why
    _publish(root, run_2, fingerprint, loaded)
    _succeeded(instance, run_2)
    decision = run_inputs.check(instance, published)
    assert decision.skip and decision.record.run_id == run_2 and decision.fingerprint == fingerprint
    # the published file written to after its publish (a read-write session), or its BI copy gone: run
    with duckdb.connect(str(published)) as con:
        con.execute("CREATE TABLE main.scratch AS SELECT 1 AS x")
    decision = run_inputs.check(instance, published)
    assert not decision.skip and "modified after its publish" in decision.reason
    _publish(root, run_3, fingerprint, loaded)
    _succeeded(instance, run_3)
    assert run_inputs.check(instance, published).skip
    (root / "bi" / "warehouse.duckdb").unlink()
    assert "BI copy" in run_inputs.check(instance, published).reason
    _publish(root, run_4, fingerprint, loaded)
    _succeeded(instance, run_4)
    # any error while deciding means run, and check() itself never raises: a damaged store, a bad PII key
    with environment({"SMB_PII_HASH_KEY": "not a key"}):
        decision = run_inputs.check(instance, published)
    assert not decision.skip and "could not tell" in decision.reason
    paths.review_decisions_store().parent.mkdir(parents=True, exist_ok=True)
    paths.review_decisions_store().write_bytes(b"not an sqlite file at all" * 100)
    decision = run_inputs.check(instance, published)
    assert not decision.skip and decision.fingerprint is None and "could not tell" in decision.reason


@pytest.mark.slow
def test_make_demo_on_an_unchanged_warehouse_runs_nothing_and_says_so(tiny_run, tmp_path):
    from dagster import build_schedule_context, build_sensor_context

    from orchestration.cli import demo
    from orchestration.ingestion.sensors import landing_zone_sensor
    from orchestration.operations.definitions import daily_warehouse_schedule

    root = clone_run(tiny_run["root"], tmp_path / "data")
    published = root / "warehouse" / "warehouse.duckdb"
    shared = run_inputs.published_record(published)
    assert shared is not None and shared.input_fingerprint  # the shared run went through `make demo`'s path
    with instance_for_test() as instance, environment(run_env(root, tiny_run["landing"], **tiny_run["extra_env"])):
        # Other tests share (and may add to) the shared run's inputs, so the clone is published once more, through the
        # publish step's own calls, with the fingerprint of its inputs as they are now: the warehouse the next
        # `make demo` sees is then exactly what a run that just read these inputs leaves behind.
        from smb_warehouse.core.warehouse import Warehouse

        store, rerun = Warehouse(root / "warehouse"), str(uuid.uuid4())
        with store.connect(rerun) as con:
            run_inputs.record(con, rerun, run_inputs.input_fingerprint())
        store.publish(rerun)
        store.release(rerun)
        _succeeded(instance, rerun)  # this instance ran it
        record = run_inputs.published_record(published)
        digest = sha256_of(published)
        terminal = io.StringIO()
        code, result = demo(instance, terminal)
        assert (code, result) == (0, None)
        assert [r.run_id for r in instance.get_runs()] == [record.run_id]  # no new run
        assert "Nothing to do: nothing changed since the last publish" in terminal.getvalue()
        assert sha256_of(published) == digest
        # the nightly schedule and the landing-zone sensor skip too, with the reason
        tick = daily_warehouse_schedule.evaluate_tick(build_schedule_context(instance=instance))
        assert not tick.run_requests and "nothing changed since the last publish" in tick.skip_message
        sensor_tick = landing_zone_sensor.evaluate_tick(build_sensor_context(instance=instance))
        assert not sensor_tick.run_requests and "nothing changed since the last publish" in sensor_tick.skip_message
        # anything new: the next `make demo` runs (not run here: the decision is what is under test)
        with environment({"SMB_FORECAST_HORIZON_DAYS": "21"}):
            assert not run_inputs.check(instance).skip
