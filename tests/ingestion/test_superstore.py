"""Real data no one here wrote (shared/datasets/superstore): mapped into the ERP exports by
benchmarks/superstore.py and loaded under the real contracts, with nothing lost."""
from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from decimal import Decimal

import duckdb
import pytest

from benchmarks.superstore import DEFAULT_SOURCE, ENTITIES, write_exports
from smb_warehouse.ingestion.contracts import load_contracts
from smb_warehouse.ingestion.loader import ContractViolation, load_entity

pytestmark = pytest.mark.skipif(not DEFAULT_SOURCE.exists(), reason=f"{DEFAULT_SOURCE} not present")


def test_every_superstore_order_line_loads_exactly(tmp_path):
    con = duckdb.connect()
    write_exports(con, DEFAULT_SOURCE, tmp_path / "landing")
    erp = load_contracts()["erp"]
    results = {}
    for name in ENTITIES:
        try:
            results[name] = load_entity(con, erp.entities[name], tmp_path / "landing", "L1")
        except ContractViolation as exc:  # pragma: no cover - shown by the assertion below
            results[name] = exc.result
    counts = {n: (r.rows_read, r.rows_loaded, r.rows_quarantined, r.failures) for n, r in results.items()}
    with DEFAULT_SOURCE.open(encoding="utf-8-sig", newline="") as fh:
        source = list(csv.DictReader(fh))
    names = defaultdict(set)
    for row in source:
        names[row["Product ID"]].add(row["Product Name"])
    renamed = sum(len(v) - 1 for v in names.values())  # the file's real defect: one id, several names
    assert counts == {
        "customers": (793, 793, 0, []),
        "products": (len(names) + renamed, len(names), renamed, []),
        "sales_orders": (5009, 5009, 0, []),
        "sales_order_lines": (9994, 9994, 0, []),
    }
    assert renamed == 32
    reasons = con.execute("SELECT DISTINCT regexp_replace(reason, '\\(.*', '') FROM raw.quarantine").fetchall()
    assert reasons == [("duplicate key ",)]
    # nothing lost: ids, dates as in the file, and the sales amounts (kept as exported) add up exactly
    got = con.execute("""SELECT count(DISTINCT _extra_columns->>'row_id'), sum((_extra_columns->>'sales')::DECIMAL(18,4)),
                                sum(quantity), min(order_id), max(order_id) FROM raw.erp__sales_order_lines""").fetchone()
    assert got == (9994, sum(Decimal(r["Sales"]) for r in source), sum(int(r["Quantity"]) for r in source),
                   min(r["Order ID"] for r in source), max(r["Order ID"] for r in source))
    first = source[0]
    assert con.execute("SELECT order_date, customer_id FROM raw.erp__sales_orders WHERE order_id = ?",
                       [first["Order ID"]]).fetchone() == (
        dt.datetime.strptime(first["Order Date"], "%m/%d/%Y").date(), first["Customer ID"])
    # list price x quantity x (1 - discount) gives every line's Sales back: summed in exact decimals
    assert con.execute("SELECT sum(quantity * unit_price * (100 - discount_pct)) FROM raw.erp__sales_order_lines"
                       ).fetchone()[0] == 100 * sum(Decimal(r["Sales"]) for r in source)
