"""Ground truth is consistent with the extracts and realistic enough for the ML later on."""
from __future__ import annotations

from collections import defaultdict

from sim_helpers import entities, iter_rows, read_truth

ID_COLUMNS = {  # (system, entity) -> column holding the source id listed in entities.csv
    ("erp", "customers"): "customer_id", ("crm", "accounts"): "account_id", ("crm", "contacts"): "contact_id",
    ("finance", "ar_invoices"): "debtor_id", ("support", "tickets"): "ticket_id", ("erp", "suppliers"): "supplier_id",
    ("finance", "ap_invoices"): "vendor_id", ("erp", "products"): "sku",
}


def _values(out, system: str, name: str, column: str) -> tuple[set[str], str]:
    """Values of a column over good rows, plus the raw text of structurally broken rows."""
    ent = next(e for e in entities() if e.system == system and e.name == name)
    vals, broken = set(), []
    for path in sorted((out / system / name).glob(ent.format.file_glob)):
        for line, row, _ in iter_rows(path, ent):
            if row is None:
                broken.append(path.read_text(encoding="utf-8").splitlines()[line - 1])
            elif row.get(column):
                vals.add(str(row[column]))
    return vals, "\n".join(broken)


def test_entities_cover_extract_ids_both_ways(gen):
    out, truth, _ = gen
    ents = read_truth(truth, "entities.csv")
    by_src = defaultdict(set)
    for r in ents:
        by_src[(r["system"], r["source_entity"], r["entity_type"])].add(r["source_id"])
    for (system, name), col in ID_COLUMNS.items():
        vals, broken = _values(out, system, name, col)
        etype = {"suppliers": "supplier", "ap_invoices": "supplier", "products": "product"}.get(name, "customer")
        truth_ids = by_src[(system, name, etype)]
        assert vals <= truth_ids, (system, name, sorted(vals - truth_ids)[:3])
        missing = [i for i in truth_ids - vals if i not in broken]
        assert not missing, (system, name, missing[:3])


def test_ticket_product_mentions_in_truth(gen):
    out, truth, _ = gen
    ents = read_truth(truth, "entities.csv")
    prod_tickets = {r["source_id"] for r in ents if r["entity_type"] == "product" and r["system"] == "support"}
    labels = {r["ticket_id"]: r for r in read_truth(truth, "ticket_labels.csv")}
    assert prod_tickets == {t for t, r in labels.items() if r["true_sku"]}
    cats = {r["true_category"] for r in labels.values()}
    assert {"defect", "delivery", "billing", "how_to", "return", "other"} <= cats


def test_overlap_realism(gen):
    _, truth, _ = gen
    comps = {r["true_entity_id"] for r in read_truth(truth, "companies.csv")
             if r["entity_type"] == "customer" and r["is_customer"] == "true"}
    systems = defaultdict(set)
    for r in read_truth(truth, "entities.csv"):
        if r["entity_type"] == "customer":
            systems[r["true_entity_id"]].add(r["system"])
    multi = sum(len(systems[c]) >= 2 for c in comps)
    assert multi / len(comps) >= 0.6
    erp = [r for r in read_truth(truth, "entities.csv") if r["system"] == "erp" and r["source_entity"] == "customers"]
    assert len(erp) > len({r["true_entity_id"] for r in erp})  # in-system duplicates exist


def test_ap_matches_reference_real_pos(gen):
    out, truth, _ = gen
    pos, _ = _values(out, "erp", "purchase_orders", "po_number")
    invoices, _ = _values(out, "finance", "ap_invoices", "invoice_id")
    matches = read_truth(truth, "ap_invoice_matches.csv")
    assert {m["invoice_id"] for m in matches} >= invoices
    scen = defaultdict(int)
    for m in matches:
        scen[m["scenario"]] += 1
        if m["true_po_number"]:
            assert m["true_po_number"] in pos
        if m["scenario"] == "duplicate":
            assert m["duplicate_of"]
    assert scen["exact"] > scen["wrong_po_typo"] > 0 and scen["no_po"] > 0 and scen["price_variance"] > 0


def test_bank_anomalies_exist_and_payments_link_to_bank(gen):
    out, truth, _ = gen
    txns, _ = _values(out, "finance", "bank_transactions", "txn_id")
    anomalies = read_truth(truth, "bank_anomalies.csv")
    assert anomalies and {a["txn_id"] for a in anomalies} <= txns
    assert 0.002 < len(anomalies) / len(txns) < 0.02
    linked, _ = _values(out, "finance", "payments", "bank_txn_id")
    assert linked and linked <= txns


def test_demand_truth_grid_and_stockouts(gen):
    out, truth, _ = gen
    rows = read_truth(truth, "demand_means.csv")
    skus = {r["sku"] for r in rows}
    locs = {r["location_id"] for r in rows}
    assert len(rows) == 731 * len(skus) * len(locs)
    assert any(r["stockout"] == "true" for r in rows)
    products, _ = _values(out, "erp", "products", "sku")
    assert skus <= products | {r["source_id"] for r in read_truth(truth, "entities.csv") if r["entity_type"] == "product"}
    regime = read_truth(truth, "regime_changes.csv")
    assert any(r["affected"] == "true" for r in regime)
    assert read_truth(truth, "product_incidents.csv")
