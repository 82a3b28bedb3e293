"""The review CLI's account of how the AP review queue changed between two publishes (fast: two small files)."""
from __future__ import annotations

import duckdb

from smb_warehouse.reconciliation import decisions
from smb_warehouse.reconciliation.review import queue_changes
from tests.support import environment


def _publish(path, queued: list[str], invoices: list[str]) -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE TABLE marts.fct_ap_review_queue AS SELECT unnest(?::VARCHAR[]) AS invoice_id", [queued])
    con.execute("CREATE TABLE marts.fct_ap_invoices AS SELECT unnest(?::VARCHAR[]) AS finance_ap_invoice_id", [invoices])
    con.close()


def test_each_invoice_that_entered_or_left_the_queue_is_counted_under_its_reason(tmp_path):
    # previous publish: AP-1..AP-4 loaded, AP-1..AP-3 queued; now AP-5, AP-6 are new, AP-6 and AP-4 queued,
    # AP-1 was decided by a reviewer, AP-2 resolved on re-scoring, AP-3 still waits
    _publish(tmp_path / "previous.duckdb", ["AP-1", "AP-2", "AP-3"], ["AP-1", "AP-2", "AP-3", "AP-4"])
    _publish(tmp_path / "current.duckdb", ["AP-3", "AP-4", "AP-6"], [f"AP-{i}" for i in range(1, 7)])
    with environment({"SMB_DATA_DIR": str(tmp_path / "data")}):
        decisions.record("AP-1", "reject", None, "Ada", "vendor re-sent it")
        con = duckdb.connect(str(tmp_path / "current.duckdb"), read_only=True)
        try:
            changes = queue_changes(con, tmp_path / "previous.duckdb")
            assert con.execute("SELECT count(*) FROM duckdb_databases() WHERE database_name = 'previous_publish'"
                               ).fetchone() == (0,)  # detached again
        finally:
            con.close()
    assert changes == {"entered_new": 1, "entered_rescored": 1, "left_decided": 1, "left_resolved": 1}
