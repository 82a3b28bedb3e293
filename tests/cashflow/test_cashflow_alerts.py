"""Cash-flow monitoring on a real tiny warehouse_job run: projection marts, anomaly scores against the
generator's injected anomalies, alerts, and their delivery to a local webhook."""
from __future__ import annotations

import pytest

from benchmarks.cashflow import anomaly_scores, precision_recall
from smb_warehouse.core.notify import Notifier
from tests.support import query_df

RECALL_FLOOR = 0.5  # the benchmark target is far higher; this only catches a broken scorer
THRESHOLD = 0.7


def test_daily_position_matches_month_end_kpi_and_projection_has_three_horizons(tiny_run):
    published = tiny_run["published"]
    diff = query_df(published, """
        SELECT k.month_start, k.cash_position_base, d.cash_balance_base
        FROM marts.kpi_finance__cash_position k JOIN marts.fct_cash_daily_position d ON d.date_day = k.month_end
        WHERE abs(k.cash_position_base - d.cash_balance_base) > 0.01 * greatest(abs(k.cash_position_base), 1000)""")
    assert diff.empty, diff.head()
    summary = query_df(published, "SELECT * FROM marts.kpi_cashflow__projection_summary ORDER BY horizon_days")
    assert summary["horizon_days"].tolist() == [30, 60, 90]
    assert (summary["lowest_balance_base"] <= summary["projected_balance_base"]).all()
    assert query_df(published, "SELECT count(*) AS n FROM marts.fct_cash_projection")["n"][0] == 90


def test_scores_catch_injected_anomalies(tiny_run):
    merged = anomaly_scores(tiny_run["published"], tiny_run["truth"])
    assert merged["anomaly_score"].notna().all(), "every bank line (and every injected anomaly) is scored"
    pr = precision_recall(merged, THRESHOLD)
    assert pr["anomalies"] > 0
    assert pr["recall"] >= RECALL_FLOOR, pr
    assert pr["precision"] > 0.2, pr


def test_alerts_fire_for_flagged_lines_and_reach_the_local_webhook(tiny_run):
    published = tiny_run["published"]
    alerts = query_df(published, "SELECT * FROM marts.fct_cash_alerts")
    flagged = query_df(published, """
        SELECT finance_bank_txn_id FROM marts.fct_bank_txn_anomaly_scores
        WHERE is_flagged AND booking_date > (SELECT max(booking_date) FROM marts.fct_bank_transactions) - 365""")
    assert len(flagged) > 0
    assert set(flagged["finance_bank_txn_id"]) <= set(alerts.loc[alerts["alert_type"] == "bank_txn_anomaly", "subject_id"])
    assert len(alerts) > 0
    # every workflow posts its own digest to the same webhook (forecast rollout, AP and triage gates, circuit
    # breakers); the cash-flow alerts are one of them, one message per run
    assert all(p["body"].get("subject") and isinstance(p["body"].get("alerts"), list) for p in tiny_run["webhooks"])
    posts = [p for p in tiny_run["webhooks"] if p["body"]["subject"] == "SMB warehouse cash-flow alerts"]
    assert len(posts) == 1, "one digest message per run"
    assert posts[0]["path"].startswith("/hooks/alerts")
    assert {a["alert_id"] for a in posts[0]["body"]["alerts"]} == set(alerts["alert_id"])
    deliveries = query_df(published, "SELECT * FROM marts.fct_cash_alert_deliveries")
    assert set(deliveries["alert_id"]) == set(alerts["alert_id"])
    assert deliveries["delivered"].all() and (deliveries["channel"] == "webhook").all()
    assert not deliveries["target"].str.contains("token|hooks").any(), "the webhook secret never reaches the warehouse"
    check = tiny_run["checks"]["cashflow/alert_notifications:no_open_cash_alerts"]
    assert check is False, "open alerts fail the WARN asset check"


def test_workflow_assets_are_part_of_warehouse_job():
    from orchestration.definitions import defs

    keys = {k.to_user_string() for k in defs.resolve_job_def("warehouse_job").asset_layer.selected_asset_keys}
    assert {"cashflow/bank_txn_scores", "cashflow/alert_notifications", "triage/ticket_predictions",
            "triage/kb_suggestions", "marts/fct_cash_alerts", "marts/kpi_triage__tickets"} <= keys


def test_notifier_logs_by_default_and_reports_an_unreachable_webhook(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("SMB_ALERT_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("SMB_ALERT_CHANNEL", raising=False)
    assert Notifier.from_env().send("s", [{"alert_id": "a"}]).channel == "log"
    import socket

    with socket.socket() as s:  # a port nobody listens on: bound, never accepted
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("SMB_ALERT_WEBHOOK_URL", f"http://127.0.0.1:{port}/x")
    delivery = Notifier(channel="webhook", webhook_url=f"http://127.0.0.1:{port}/x", timeout=2).send("s", [{"alert_id": "a"}])
    assert not delivery.delivered and delivery.target == f"http://127.0.0.1:{port}"
