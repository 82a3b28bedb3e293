"""The shared circuit-breaker store (smb_warehouse/core/safe_mode.py) on a real SQLite file, its copy into a
real DuckDB warehouse through the declared tables, its CLI and its alerts (to a local webhook)."""
from __future__ import annotations

import sqlite3

import duckdb
import pytest

from smb_warehouse.core import safe_mode
from tests.conftest import start_local_webhook
from tests.support import environment


@pytest.fixture
def store(tmp_path):
    with environment({"SMB_DATA_DIR": str(tmp_path), "SMB_ALERT_WEBHOOK_URL": None, "SMB_ALERT_CHANNEL": None}):
        yield tmp_path / "safe_mode" / "workflow_modes.sqlite"


def test_never_opened_is_closed_and_normal(store):
    s = safe_mode.state("demand_forecasting")
    assert (s.state, s.mode, s.is_open, s.changed_at) == ("closed", "normal", False, None)
    assert not store.exists()  # reading creates nothing


def test_open_close_rules_and_history(store):
    first = safe_mode.open_breaker("ap_reconciliation", "all_to_review", "quarantine 7% > 2%", by="pipeline", run_id="r1")
    assert first.changed and first.state.is_open and first.state.mode == "all_to_review"
    again = safe_mode.open_breaker("ap_reconciliation", "all_to_review", "still bad", by="pipeline", run_id="r2")
    assert not again.changed and again.state.reason == "quarantine 7% > 2%"
    assert safe_mode.close_breaker("ap_reconciliation", "guards healthy", by="pipeline", run_id="r3").changed
    assert not safe_mode.close_breaker("ap_reconciliation", "guards healthy", by="pipeline", run_id="r4").changed
    # a person's freeze is not lifted by a healthy run, only by a person
    safe_mode.open_breaker("support_triage", "all_to_person", "new product line", by="ann", by_kind="person")
    refused = safe_mode.close_breaker("support_triage", "guards healthy", by="pipeline", run_id="r5")
    assert not refused.changed and "only a person" in refused.note and safe_mode.state("support_triage").is_open
    assert safe_mode.close_breaker("support_triage", "reviewed", by="bob", by_kind="person").changed
    log = safe_mode.changes()
    assert list(log["workflow"]) == ["ap_reconciliation", "ap_reconciliation", "support_triage", "support_triage"]
    assert list(log["state"]) == ["open", "closed", "open", "closed"]
    assert list(log["changed_by_kind"]) == ["run", "run", "person", "person"]
    assert log["seq"].is_monotonic_increasing and log["changed_at"].is_monotonic_increasing


def test_refuses_bad_input_and_edits(store):
    with pytest.raises(ValueError, match="run_id"):
        safe_mode.open_breaker("demand_forecasting", "champion_or_baseline", "drift", by="pipeline")
    with pytest.raises(ValueError, match="who"):
        safe_mode.open_breaker("demand_forecasting", "champion_or_baseline", " ", by="ann", by_kind="person")
    with pytest.raises(ValueError, match="lower-case"):
        safe_mode.state("Demand Forecasting")
    with pytest.raises(ValueError, match="normal"):
        safe_mode.open_breaker("demand_forecasting", "normal", "x", by="ann", by_kind="person")
    safe_mode.open_breaker("demand_forecasting", "champion_or_baseline", "drift", by="pipeline", run_id="r1")
    con = sqlite3.connect(str(store))
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("UPDATE mode_changes SET state = 'closed'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("DELETE FROM mode_changes")
    finally:
        con.close()


def test_copy_into_the_warehouse_uses_the_declared_tables(store, tmp_path):
    safe_mode.open_breaker("demand_forecasting", "champion_or_baseline", "feature drift 0.6", by="pipeline", run_id="r1")
    safe_mode.record_run("demand_forecasting", "r1", serving="baseline:seasonal_naive", degraded=True, gate_passed=False,
                         detail="no champion; candidate refused")
    safe_mode.record_run("demand_forecasting", "r1", serving="demand_forecaster v1", degraded=True, gate_passed=None)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    try:
        assert safe_mode.write_to_warehouse(con) == (1, 1)  # a re-recorded run replaces its row
        row = con.execute("SELECT workflow, state, mode, changed_by_kind, dagster_run_id "
                          "FROM ml.workflow_safe_mode_log").fetchall()
        assert row == [("demand_forecasting", "open", "champion_or_baseline", "run", "r1")]
        out = con.execute("SELECT serving, degraded, gate_passed, breaker_state, mode FROM ml.workflow_run_outcomes").fetchall()
        assert out == [("demand_forecaster v1", True, None, "open", "champion_or_baseline")]
        types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                                 "WHERE table_name = 'workflow_safe_mode_log'").fetchall())
        assert types["changed_at"] == "TIMESTAMP" and types["seq"] == "BIGINT"
    finally:
        con.close()


def test_cli_switches_as_a_person_and_explains_errors(store, capsys):
    assert safe_mode.main(["open", "demand_forecasting", "--mode", "champion_or_baseline", "--by", "ann", "--why", "audit"]) == 0
    assert "now open, mode champion_or_baseline" in capsys.readouterr().out
    assert safe_mode.main(["status"]) == 0
    assert "demand_forecasting: open, mode champion_or_baseline" in capsys.readouterr().out
    assert safe_mode.main(["close", "demand_forecasting", "--by", "ann", "--why", "audit done"]) == 0
    assert safe_mode.state("demand_forecasting").changed_by == "ann"
    capsys.readouterr()
    assert safe_mode.main(["close", "Bad Name", "--by", "ann", "--why", "x"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("safe-mode: ") and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_every_switch_is_alerted(store):
    url, stop, received = start_local_webhook()
    try:
        with environment({"SMB_ALERT_WEBHOOK_URL": url}):
            safe_mode.open_breaker("support_triage", "all_to_person", "contract: 12% quarantined", by="pipeline", run_id="r9")
            safe_mode.open_breaker("support_triage", "all_to_person", "again", by="pipeline", run_id="r10")  # no change, no alert
            safe_mode.close_breaker("support_triage", "healthy", by="pipeline", run_id="r11")
    finally:
        stop()
    subjects = [r["body"]["subject"] for r in received]
    assert subjects == ["support_triage: circuit breaker OPEN, safe mode all_to_person",
                        "support_triage: circuit breaker closed, back to normal mode"]
    assert received[0]["body"]["alerts"][0]["reason"] == "contract: 12% quarantined"
