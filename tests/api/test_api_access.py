"""The API over the shared tiny run: every read endpoint answers from the published warehouse; access is by
role (a viewer cannot decide, a publisher cannot read), personal data only for roles allowed to see it, and
every write attempt is in the audit log with who and when."""
from __future__ import annotations

import pytest

from tests.api.conftest import headers
from tests.support import query


def _first(published, sql):
    return query(published, sql)[0][0]


def test_reads_answer_from_the_published_warehouse(tiny_api, api_keys, tiny_run):
    client, published = tiny_api, tiny_run["published"]
    viewer = headers(api_keys, "viewer")
    assert client.get("/v1/health").json()["status"] == "ok"
    sku, location = query(published, "SELECT sku, location_id FROM ml.demand_forecasts ORDER BY 1, 2 LIMIT 1")[0]
    page = client.get(f"/v1/forecasts?sku={sku}&location_id={location}&date_from=2000-01-01&limit=5", headers=viewer).json()
    assert page["returned"] == 5 and {i["sku"] for i in page["items"]} == {sku}
    assert all(i["model_name"] == "demand_forecaster" and i["model_version"] for i in page["items"])
    expected = _first(published, "SELECT count(*) FROM marts.fct_ap_review_queue")
    queue = client.get("/v1/review-queue?limit=1000", headers=viewer).json()
    assert queue["waiting"] == expected == queue["returned"]
    invoice = queue["items"][0]["invoice_id"]
    detail = client.get(f"/v1/invoices/{invoice}", headers=viewer).json()
    assert detail["outcome"]["invoice_id"] == invoice and detail["outcome"]["outcome"] == "exception"
    ticket = _first(published, "SELECT min(support_ticket_id) FROM marts.fct_ticket_triage")
    triage = client.get(f"/v1/tickets/{ticket}/triage", headers=viewer).json()
    assert triage["triage"]["support_ticket_id"] == ticket and 1 <= len(triage["suggested_articles"]) <= 3
    assert client.get("/v1/cash/alerts", headers=viewer).json()["returned"] == _first(
        published, "SELECT least(count(*), 100) FROM marts.fct_cash_alerts")
    supplier, source = query(published, "SELECT supplier_id, source_id FROM marts.bdg_supplier_source_ids ORDER BY 1 LIMIT 1")[0]
    by_source = client.get(f"/v1/entities/supplier/{source}", headers=viewer).json()
    assert by_source["unified_id"] == supplier and any(s["source_id"] == source for s in by_source["source_ids"])
    customer = _first(published, "SELECT min(src_node_id) FROM marts.fct_graph_edges WHERE src_node_id LIKE 'customer:%'")
    near = client.get(f"/v1/entities/customer/{customer.split(':', 1)[1]}/neighbours", headers=viewer).json()
    assert near["node_id"] == customer and near["items"]
    assert client.get("/v1/entities/product/NOPE-0000", headers=viewer).status_code == 404


def test_lineage_names_model_version_fingerprint_and_source_lines(tiny_api, api_keys, tiny_run):
    client, published = tiny_api, tiny_run["published"]
    viewer = headers(api_keys, "viewer")
    sku, location, day = query(published, "SELECT sku, location_id, forecast_date FROM ml.demand_forecasts "
                                          "ORDER BY 1, 2, 3 LIMIT 1")[0]
    lineage = client.get(f"/v1/lineage/forecast?sku={sku}&location_id={location}&forecast_date={day}", headers=viewer).json()
    model = lineage["models"][0]
    fingerprint = query(published, "SELECT data_fingerprint FROM ml.model_registry WHERE model_name = ? AND model_version = ?",
                        [model["model_name"], model["model_version"]])[0][0]
    assert model["registered"] and model["data_fingerprint"] == fingerprint and fingerprint
    assert {s["entity"] for s in lineage["sources"]} == {"erp/sales_order_lines", "erp/sales_orders"}
    assert all(s["lines"] and s["content_sha256"] for s in lineage["sources"])
    txn = _first(published, "SELECT min(finance_bank_txn_id) FROM marts.fct_bank_txn_anomaly_scores")
    bank = client.get(f"/v1/lineage/bank-txn-score/{txn}", headers=viewer).json()
    file, line = query(published, "SELECT _source_file, _source_line FROM raw.finance__bank_transactions WHERE txn_id = ? "
                                  "ORDER BY _loaded_at DESC LIMIT 1", [txn])[0]
    assert any(s["source_file"] == file and line in s["lines"] for s in bank["sources"])
    assert bank["models"][0]["model_name"] == "bank_txn_anomaly_scorer" and bank["models"][0]["registered"]
    invoice = _first(published, "SELECT min(invoice_id) FROM marts.fct_ap_invoice_outcomes")
    assert client.get(f"/v1/lineage/invoice-outcome/{invoice}", headers=viewer).json()["sources"]


def test_roles_decide_who_may_do_what_and_refusals_are_audited(tiny_api, api_keys):
    client = tiny_api
    invoice = client.get("/v1/review-queue?limit=1", headers=headers(api_keys, "viewer")).json()["items"][0]["invoice_id"]
    body = {"action": "reject", "reason": "looks like a duplicate"}
    assert client.get("/v1/review-queue").status_code == 401
    assert client.get("/v1/review-queue", headers={"X-API-Key": "not-a-key-0123456789"}).status_code == 401
    refused = client.post(f"/v1/review-queue/{invoice}/decisions", json=body, headers=headers(api_keys, "viewer"))
    assert refused.status_code == 403 and "may not decide" in refused.json()["detail"]
    assert client.get("/v1/forecasts", headers=headers(api_keys, "publisher")).status_code == 403
    assert client.get("/v1/audit", headers=headers(api_keys, "reviewer")).status_code == 403
    # the shared run must stay untouched: a reviewer's invalid request is refused before anything is written
    bad = client.post(f"/v1/review-queue/{invoice}/decisions", json={"action": "reassign", "reason": "x"},
                      headers=headers(api_keys, "reviewer"))
    assert bad.status_code == 422 and "po_number" in bad.text
    trail = client.get("/v1/audit", headers=headers(api_keys, "admin")).json()["items"]
    refusal = next(r for r in trail if r["outcome"] == "refused")
    assert (refusal["principal"], refusal["role"], refusal["target"], refusal["status_code"]) == \
        ("Vic Viewer", "viewer", invoice, 403)
    assert refusal["at"] and any(r["principal"] == "Rita Reviewer" and r["status_code"] == 422 for r in trail)


@pytest.mark.parametrize("role, sees_pii", [("viewer", False), ("reviewer", True), ("admin", True)])
def test_personal_data_only_for_roles_allowed(tiny_api, api_keys, tiny_run, role, sees_pii):
    client, published = tiny_api, tiny_run["published"]
    customer, email = query(published, "SELECT customer_id, email_masked FROM marts.dim_customer WHERE email_masked IS NOT NULL "
                                        "ORDER BY 1 LIMIT 1")[0]
    body = client.get(f"/v1/entities/customer/{customer}", headers=headers(api_keys, role)).json()
    assert (body["record"]["email_masked"] == email) is sees_pii
    assert ("email_masked" in body["redacted"]) is not sees_pii
    if not sees_pii:
        assert body["record"]["email_masked"] is None and body["record"]["customer_id"] == customer
