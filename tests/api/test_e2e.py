"""End to end, each on a private copy of the shared tiny run (`make test-api`; they need redis-server and
Chromium, and run pipeline jobs):

* an AP clerk approves an invoice in the review page (headless Chromium through Playwright); the next
  apply_review_decisions_job run matches it, exactly as a CLI approval does;
* events published through the API webhook reach a real broker; the consumer validates them with the
  file loader's contracts, quarantines the bad one with the reason, lands the rest as micro-batches and
  scores them in real time (seen through the API); the micro-batch sensor requests event_microbatch_job,
  whose run loads the rows into the warehouse, where the batch scores take over.
"""
from __future__ import annotations

import threading
import time

import pytest
from dagster import DagsterInstance, RunRequest, build_sensor_context

from api.app import create_app
from api.auth import KeyRing
from events.broker import client as redis_client
from events.consumer import Consumer
from events.producer import publish_raw
from events.store import EventStore
from smb_warehouse.core.published import PublishedWarehouse
from tests.api.conftest import LiveServer, chromium_path, headers
from tests.support import query, step_failures

pytestmark = pytest.mark.api_e2e
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _run(job_name: str):
    from orchestration.definitions import defs

    result = defs.resolve_job_def(job_name).execute_in_process(instance=DagsterInstance.ephemeral(), raise_on_error=False)
    assert result.success, step_failures(result)
    return result


def test_an_approval_in_the_review_page_changes_the_next_run(run_clone, keyring: KeyRing, api_keys):
    from playwright.sync_api import expect, sync_playwright

    chromium = chromium_path()
    assert chromium, "Chromium is missing: apt-get install -y chromium (.ci/run installs it)"
    published = run_clone["published"]
    invoice, suggested = query(published, "SELECT invoice_id, suggested_po_number FROM marts.fct_ap_invoice_outcomes "
                                          "WHERE exception_reason = 'price_variance' AND suggested_po_number IS NOT NULL "
                                          "ORDER BY invoice_id LIMIT 1")[0]
    reason = "price increase agreed by purchasing"
    wh = PublishedWarehouse(published)
    app = create_app(keys=keyring, warehouse=wh)  # stores under the copy's data dir, as `make api` would use them
    with LiveServer(app) as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.goto(f"{server.url}/review")
            page.fill("#api-key", api_keys["reviewer"])
            page.click("#load")
            row = page.locator(f"#queue tbody tr[data-invoice='{invoice}']")
            expect(row).to_be_visible()
            row.click()
            expect(page.locator("#detail-id")).to_have_text(invoice)
            expect(page.locator("#candidates tbody tr").first).to_contain_text(suggested)  # the evidence, best first
            expect(page.locator("#po")).to_have_value(suggested)
            page.select_option("#action", "approve")
            page.fill("#reason", reason)
            page.click("#submit")
            expect(page.locator("#message")).to_contain_text(f"Recorded: approve of {invoice} -> {suggested} by Rita Reviewer")
            expect(row).to_have_count(0)  # decided: no longer waiting
            # a viewer's key in the same page is refused, and says so
            page.fill("#api-key", api_keys["viewer"])
            page.locator("#queue tbody tr").first.click()
            page.fill("#reason", "trying")
            page.click("#submit")
            expect(page.locator("#message")).to_contain_text("403")
        finally:
            browser.close()
    wh.close()

    _run("apply_review_decisions_job")
    outcome = query(published, "SELECT outcome, matched_po_number, decided_by, decision_reason "
                               "FROM marts.fct_ap_invoice_outcomes WHERE invoice_id = ?", [invoice])[0]
    assert outcome == ("matched_by_review", suggested, "Rita Reviewer", reason)
    assert invoice not in {r[0] for r in query(published, "SELECT invoice_id FROM marts.fct_ap_review_queue")}
    trail = query(published, "SELECT action, decided_by, reason FROM reconciliation.review_decisions WHERE invoice_id = ?",
                  [invoice])
    assert trail == [("approve", "Rita Reviewer", reason)]


def _wait(predicate, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the consumer")


def test_events_are_validated_landed_scored_in_real_time_and_loaded_by_the_next_run(run_clone, redis_server, keyring, api_keys):
    from fastapi.testclient import TestClient

    published, landing = run_clone["published"], run_clone["landing"]
    iban, counterparty_iban = query(published, "SELECT account_iban, min(counterparty_iban) FROM raw.finance__bank_transactions "
                                               "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")[0]
    vendor = query(published, "SELECT vendor_id, vendor_name FROM raw.finance__ap_invoices ORDER BY invoice_id LIMIT 1")[0]
    email = query(published, "SELECT min(customer_email) FROM raw.support__tickets")[0][0]
    envelope = {"spec": "smb-event/1", "type_version": 1, "source": "e2e"}
    bank = {**envelope, "event_id": "e2e-bank-1", "type": "bank_transaction.created",
            "data": {"txn_id": "BT-99000001", "account_iban": iban, "booking_date": "27/12/2025", "value_date": "29/12/2025",
                     "amount": "-4.321,00", "currency": "EUR", "counterparty_name": "Brand New Payee GmbH",
                     "counterparty_iban": "DE02120300000000202051", "reference": "one-off"}}
    ticket = {**envelope, "event_id": "e2e-ticket-1", "type": "support_ticket.created",
              "data": {"ticket_id": "T-9900001", "customer_email": email, "customer_name": "Pat Doe",
                       "subject": "Invoice charged twice",
                       "body": "My invoice was charged twice, please refund the extra payment.",
                       "channel": "email", "status": "new", "created_at": "2025-12-30T09:15:00+01:00", "contact_count": 1}}
    invoice = {**envelope, "event_id": "e2e-invoice-1", "type": "ap_invoice.created",
               "data": {"invoice_id": "AP-9900001", "vendor_id": vendor[0], "vendor_name": vendor[1],
                        "vendor_invoice_number": "V-1",
                        "invoice_date": "29/12/2025", "due_date": "28/01/2026", "currency": "EUR", "net_amount": "100,00",
                        "tax_amount": "19,00", "total_amount": "119,00", "status": "open"}}
    bad = {**envelope, "event_id": "e2e-invoice-bad", "type": "ap_invoice.created",
           "data": {**invoice["data"], "invoice_id": "AP-12", "invoice_date": "2025-12-29"}}

    wh = PublishedWarehouse(published)
    app = create_app(keys=keyring, warehouse=wh, redis_client=redis_client(redis_server.url))
    consumer = Consumer(client=redis_client(redis_server.url), name="e2e", landing=landing, store=EventStore())
    consumer.scorer.warm()  # profiles and models loaded before the clock starts, as `make events` does at start-up
    stop = threading.Event()
    worker = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    worker.start()
    try:
        with TestClient(app) as api:
            publisher = headers(api_keys, "publisher")
            for event in (bank, ticket, invoice, bad):
                sent = api.post("/v1/events", json=event, headers=publisher)
                assert sent.status_code == 202, sent.text
            assert api.post("/v1/events", json={**bank, "type_version": 9}, headers=publisher).status_code == 422
            assert api.post("/v1/events", json=bank, headers=headers(api_keys, "viewer")).status_code == 403
            publish_raw(consumer.client, {"event": "{not json"})
            viewer, reviewer = headers(api_keys, "viewer"), headers(api_keys, "reviewer")

            def seen(event_id):
                got = api.get(f"/v1/events/{event_id}", headers=viewer)
                done = got.status_code == 200 and (got.json().get("decision") or event_id.startswith("e2e-inv"))
                return got.json() if done else None

            scored = _wait(lambda: seen("e2e-bank-1"))
            assert scored["status"] == "landed" and scored["batch_file"].startswith("finance/bank_transactions/")
            decision = scored["decision"]
            assert decision["label"] == "alert" and decision["score"] >= 0.7
            assert "new counterparty" in decision["detail"]["reasons"] and "weekend booking" in decision["detail"]["reasons"]
            assert decision["latency_ms"] < 10_000  # seconds, not a batch cycle (the benchmark measures the p99)
            assert scored["payload"]["data"]["account_iban"] is None and "account_iban" in scored["redacted"]  # PII
            assert api.get("/v1/events/e2e-bank-1", headers=reviewer).json()["payload"]["data"]["account_iban"] == iban

            _wait(lambda: seen("e2e-ticket-1"))
            triage = api.get("/v1/tickets/T-9900001/triage", headers=viewer).json()
            assert triage["triage"] is None and triage["realtime"][0]["detail"]["predicted_category"]
            assert triage["realtime"][0]["model_version"].startswith("ticket_category_classifier/")
            assert len(triage["suggested_articles"]) == 3

            rejected = _wait(lambda: seen("e2e-invoice-bad"))
            assert rejected["status"] == "quarantined" and rejected["batch_file"] is None
            assert "invoice_id" in rejected["reason"] and "date formats" in rejected["reason"]
            quarantined = _wait(lambda: [e for e in api.get("/v1/events?status=quarantined", headers=viewer).json()["items"]
                                         if e["event_id"].startswith("stream:")])
            assert "not JSON" in quarantined[0]["reason"]
            assert _wait(lambda: seen("e2e-invoice-1"))["status"] == "landed"
    finally:
        stop.set()
        worker.join(timeout=30)
        wh.close()

    from orchestration.events.definitions import event_microbatch_sensor

    request = event_microbatch_sensor(build_sensor_context(instance=DagsterInstance.ephemeral()))
    assert isinstance(request, RunRequest) and request.tags["microbatches"] == "3"
    _run("event_microbatch_job")

    file = query(published, "SELECT _source_file FROM raw.finance__bank_transactions WHERE txn_id = 'BT-99000001'")
    assert file == [(scored["batch_file"],)]
    assert query(published, "SELECT count(*) FROM marts.fct_bank_txn_anomaly_scores "
                            "WHERE finance_bank_txn_id = 'BT-99000001'") == [(1,)]
    assert query(published, "SELECT count(*) FROM marts.fct_ticket_triage WHERE support_ticket_id = 'T-9900001'") == [(1,)]
    assert query(published, "SELECT count(*) FROM staging.stg_finance__ap_invoices WHERE finance_ap_invoice_id = 'AP-9900001'") \
        == [(1,)]
    assert query(published, "SELECT count(*) FROM raw.finance__ap_invoices WHERE invoice_id = 'AP-12'") == [(0,)]
