"""Real data no one here wrote: the Superstore order lines mapped into the ERP exports, then loaded.

`python -m benchmarks.superstore [--source superstore_orders.csv] [--landing DIR]`

A template to copy for your own data: one retailer file (one row per order line, with customer, product
and order attributes repeated on every line) is split into the four ERP exports the contracts describe,
with SQL only, and the generic loader loads them. Ids and dates stay exactly as they are in the file
(the ERP contract accepts them: its id patterns and date formats were widened for real retailers);
columns the contract does not know (ship date and mode, segment, state, row id, sales, profit) travel
along and are kept in ``_extra_columns``. The only derived values:

* ``line_no``: position of the line within its order, in file order (the file has a global row id);
* ``unit_price`` (list price) = Sales / (Quantity x (1 - Discount)), checked exact: multiplying back gives
  Sales to the cent, or the script stops; ``discount_pct`` = Discount x 100;
* product master: one row per distinct (Product ID, Product Name), list price and category from its
  first line; customer master: one row per customer, created/updated at their first/last order date
  (ISO timestamps); order header: location = Region, status ``shipped`` (every order has a ship date).

Prints per export: rows read, loaded, quarantined, and the reasons of the quarantined rows. A figure,
not a test: nothing here asserts (tests/ingestion/test_superstore.py does).
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import duckdb

from smb_warehouse.core.sql import lit
from smb_warehouse.ingestion.contracts import load_contracts
from smb_warehouse.ingestion.loader import ContractViolation, ensure_ingestion_tables, load_entity

DEFAULT_SOURCE = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "superstore" / "superstore_orders.csv"
ENTITIES = ("customers", "products", "sales_orders", "sales_order_lines")

# Each export as SQL over `src` (the file read as text, in file order, with its row position `pos`).
EXPORTS = {
    "sales_order_lines": """
        SELECT "Order ID" AS order_id,
               row_number() OVER (PARTITION BY "Order ID" ORDER BY pos) AS line_no,
               "Product ID" AS sku, "Quantity" AS quantity, unit_price, discount_pct,
               NULL AS promotion_id, "Row ID" AS row_id, "Sales" AS sales, "Profit" AS profit
        FROM priced ORDER BY pos""",
    "sales_orders": """
        SELECT "Order ID" AS order_id, "Customer ID" AS customer_id, "Order Date" AS order_date,
               NULL AS requested_date, "Region" AS location_id, 'shipped' AS status, 'USD' AS currency,
               strftime(strptime("Ship Date", '%m/%d/%Y'), '%Y-%m-%dT00:00:00') AS updated_at,
               "Ship Date" AS ship_date, "Ship Mode" AS ship_mode
        FROM src QUALIFY row_number() OVER (PARTITION BY "Order ID" ORDER BY pos) = 1 ORDER BY pos""",
    "customers": """
        SELECT "Customer ID" AS customer_id, any_value("Customer Name" ORDER BY pos) AS customer_name,
               any_value("City" ORDER BY pos) AS city, any_value("Postal Code" ORDER BY pos) AS postal_code,
               'US' AS country, any_value("State" ORDER BY pos) AS state, any_value("Segment" ORDER BY pos) AS segment,
               strftime(min(strptime("Order Date", '%m/%d/%Y')), '%Y-%m-%dT00:00:00') AS created_at,
               strftime(max(strptime("Order Date", '%m/%d/%Y')), '%Y-%m-%dT00:00:00') AS updated_at
        FROM src GROUP BY "Customer ID" ORDER BY min(pos)""",
    "products": """
        SELECT "Product ID" AS sku, "Product Name" AS product_name, any_value("Category" ORDER BY pos) AS category,
               any_value("Sub-Category" ORDER BY pos) AS sub_category, any_value(unit_price ORDER BY pos) AS unit_price,
               'USD' AS currency, 'true' AS active,
               strftime(max(strptime("Order Date", '%m/%d/%Y')), '%Y-%m-%dT00:00:00') AS updated_at
        FROM priced GROUP BY "Product ID", "Product Name" ORDER BY min(pos)""",
}


def write_exports(con: duckdb.DuckDBPyConnection, source: Path, landing: Path) -> dict[str, Path]:
    """Write the four ERP exports of ``source`` under ``landing``; returns entity -> file. Raises
    ValueError if a derived list price does not give the line's Sales back exactly."""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE src AS SELECT row_number() OVER () AS pos, *
        FROM read_csv({lit(str(source))}, header=true, all_varchar=true, auto_detect=true)""")
    con.execute("""CREATE OR REPLACE TEMP TABLE priced AS SELECT *,
        round(n_sales / (n_qty * (1 - n_disc)), 4)::DECIMAL(18,4) AS unit_price,
        (n_disc * 100)::DECIMAL(18,4) AS discount_pct
        FROM (SELECT *, "Sales"::DECIMAL(18,4) AS n_sales, "Quantity"::DECIMAL(18,4) AS n_qty,
                        "Discount"::DECIMAL(18,4) AS n_disc FROM src)""")
    wrong = con.execute("SELECT count(*) FROM priced WHERE round(unit_price * n_qty * (1 - n_disc), 4) <> n_sales").fetchone()[0]
    if wrong:
        raise ValueError(f"{wrong} line(s) whose list price does not give Sales back exactly")
    files = {}
    for entity, sql in EXPORTS.items():
        folder = landing / "erp" / entity
        folder.mkdir(parents=True, exist_ok=True)
        files[entity] = folder / "superstore.csv"
        con.execute(f"COPY ({sql}) TO {lit(str(files[entity]))} (HEADER, DELIMITER ',')")
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--landing", type=Path, help="write the exports here (default: a temp folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="superstore-") as tmp:
        landing = args.landing or Path(tmp) / "landing"
        con = duckdb.connect(str(Path(tmp) / "warehouse.duckdb"))
        write_exports(con, args.source, landing)
        erp = load_contracts()["erp"]
        ensure_ingestion_tables(con)
        print(f"{'export':<20}{'read':>8}{'loaded':>8}{'quarantined':>13}  schema drift")
        for name in ENTITIES:
            try:
                result = load_entity(con, erp.entities[name], landing, load_id="superstore")
            except ContractViolation as exc:
                result = exc.result
                print(exc)
            drift = "; ".join(sorted({d for f in result.files for d in f.schema_drift}))
            print(f"{name:<20}{result.rows_read:>8,}{result.rows_loaded:>8,}{result.rows_quarantined:>13,}  {drift}")
        for entity, reason, n in con.execute(
                "SELECT entity, regexp_replace(regexp_replace(reason, '''[^'']*''', '''...''', 'g'), 'line [0-9]+', 'line N'), "
                "count(*) FROM raw.quarantine "
                "GROUP BY ALL ORDER BY ALL").fetchall():
            print(f"  quarantined in {entity}: {n} x {reason}")
        con.close()


if __name__ == "__main__":
    main()
