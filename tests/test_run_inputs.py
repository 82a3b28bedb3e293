"""A run is skipped only when nothing it reads changed since the last publish (smb_warehouse.core.run_inputs):
every kind of input moves the fingerprint, a location alone does not, and `make demo` on an unchanged
warehouse publishes nothing and says so."""
from __future__ import annotations

import io
import os
import sqlite3

import duckdb
import pytest

from smb_warehouse.core import run_inputs, safe_mode
from smb_warehouse.core.config import environment
from tests.support import clone_run, run_env, sha256_of


@pytest.fixture()
def world(tmp_path):
    """A landing zone with one file, a small project tree, and a data dir, as the environment points at them."""
    landing, project, data = tmp_path / "landing", tmp_path / "project", tmp_path / "data"
    (landing / "erp" / "customers").mkdir(parents=True)
    (landing / "erp" / "customers" / "customers_2025-01.csv").write_text("customer_id\nC-1\n")
    (project / "models").mkdir(parents=True)
    (project / "models" / "stg.sql").write_text("select 1")
    (project / "dbt_project.yml").write_text("name: x\n")
    environ = {"SMB_DATA_DIR": str(data), "SMB_LANDING_DIR": str(landing), "SMB_TRIAGE_MIN_CONFIDENCE": "0.6"}
    with environment(environ):
        yield landing, project, {**environ, "PATH": os.environ.get("PATH", "")}


def _fp(landing, project, environ):
    return run_inputs.input_fingerprint(landing, project, environ)


def test_every_input_moves_the_fingerprint_and_a_location_does_not(world):
    landing, project, environ = world
    base = _fp(landing, project, environ)
    assert _fp(landing, project, environ) == base  # deterministic
    assert _fp(landing, project, {**environ, "SMB_DATA_DIR": "/elsewhere", "SMB_REPORTS_DIR": "/x", "PATH": "/y"}) == base

    changes = []
    new_file = landing / "erp" / "customers" / "customers_2025-02.csv"
    new_file.write_text("customer_id\nC-2\n")
    changes.append(("a new landing file", _fp(landing, project, environ)))
    new_file.write_text("customer_id\nC-2\nC-3\n")
    changes.append(("a landing file rewritten", _fp(landing, project, environ)))
    new_file.unlink()
    assert _fp(landing, project, environ) == base  # back as it was
    (project / "models" / "stg.sql").write_text("select 2")
    changes.append(("a model edited", _fp(landing, project, environ)))
    changes.append(("a setting", _fp(landing, project, {**environ, "SMB_TRIAGE_MIN_CONFIDENCE": "0.7"})))
    changes.append(("a dbt target", _fp(landing, project, {**environ, "DBT_TARGET": "postgres"})))
    store = run_inputs.paths.review_decisions_store()
    store.parent.mkdir(parents=True)
    with sqlite3.connect(store) as con:
        con.execute("CREATE TABLE decisions (seq INTEGER PRIMARY KEY AUTOINCREMENT, decision_id TEXT)")
        con.execute("INSERT INTO decisions (decision_id) VALUES ('d1')")
    changes.append(("a review decision", _fp(landing, project, environ)))
    seen = [base]
    for what, fingerprint in changes:
        assert fingerprint not in seen, f"{what} did not change the fingerprint"
        seen.append(fingerprint)


def test_the_record_travels_with_the_published_file_and_a_breaker_change_counts(world, tmp_path):
    landing, project, environ = world
    published = tmp_path / "warehouse.duckdb"
    fingerprint = _fp(landing, project, environ)
    assert run_inputs.unchanged_since_publish(fingerprint, published) is None  # nothing published: run
    con = duckdb.connect(str(published))
    run_inputs.record(con, "run-1", None)  # a run started without a fingerprint (UI, sensor)
    con.close()
    assert run_inputs.published_record(published).run_id == "run-1"
    assert run_inputs.unchanged_since_publish(fingerprint, published) is None
    con = duckdb.connect(str(published))
    run_inputs.record(con, "run-2", fingerprint)
    con.close()
    same = run_inputs.unchanged_since_publish(fingerprint, published)
    assert same is not None and same.run_id == "run-2" and same.input_fingerprint == fingerprint
    assert run_inputs.unchanged_since_publish("0" * 64, published) is None
    safe_mode.open_breaker("demand_forecasting", "baseline_only", "supplier data looks wrong", by="ann",
                           by_kind=safe_mode.PERSON)  # a person changes a breaker between runs
    assert run_inputs.unchanged_since_publish(fingerprint, published) is None


@pytest.mark.slow
def test_make_demo_on_an_unchanged_warehouse_runs_nothing_and_says_so(tiny_run, tmp_path):
    from dagster import DagsterInstance, build_schedule_context, build_sensor_context

    from orchestration.cli import demo
    from orchestration.ingestion.sensors import landing_zone_sensor
    from orchestration.operations.definitions import daily_warehouse_schedule

    root = clone_run(tiny_run["root"], tmp_path / "data")
    published = root / "warehouse" / "warehouse.duckdb"
    digest = sha256_of(published)
    record = run_inputs.published_record(published)
    assert record is not None and record.input_fingerprint  # the shared run went through `make demo`'s path
    with environment(run_env(root, tiny_run["landing"], **tiny_run["extra_env"])):
        assert run_inputs.input_fingerprint() == record.input_fingerprint
        terminal = io.StringIO()
        instance = DagsterInstance.ephemeral()
        code, result = demo(instance, terminal)
        assert (code, result) == (0, None)
        assert instance.get_runs() == []
        assert "Nothing changed since the last publish" in terminal.getvalue()
        assert sha256_of(published) == digest
        # the nightly schedule and the landing-zone sensor skip too (with the reason)
        tick = daily_warehouse_schedule.evaluate_tick(build_schedule_context())
        assert not tick.run_requests and "nothing changed since the last publish" in tick.skip_message
        sensor_tick = landing_zone_sensor.evaluate_tick(build_sensor_context(instance=instance))
        assert not sensor_tick.run_requests and "all read by the last publish" in sensor_tick.skip_message
        # anything new: the next `make demo` runs (not run here: the decision is what is under test)
        with environment({"SMB_FORECAST_HORIZON_DAYS": "21"}):
            assert run_inputs.unchanged_since_publish(run_inputs.input_fingerprint(), published) is None
