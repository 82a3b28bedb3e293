"""Master-data history (SCD type 2): dim_product_history / dim_supplier_history / dim_customer_history built by dbt from
every loaded version. Crafted raw versions of one SKU on a copy of the tiny run's warehouse: a re-export of an
unchanged row adds no state, a price change and a change back (with a cost going NULL) each add one, and a later
NULL-for-NULL re-export adds none; the intervals chain, one state is current, and it is what staging calls the latest
version. The customer history tracks only what dim_customer publishes."""
from __future__ import annotations

import shutil
from datetime import timedelta

import duckdb

from tests.marts.test_impact_analyses import _run_dbt
from tests.support import environment, run_env


def test_product_history_keeps_one_row_per_state_with_chained_intervals(tiny_run, tmp_path):
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(tiny_run["published"], db)
    with duckdb.connect(str(db)) as con:
        sku, price, updated, states_before = con.execute(
            "SELECT sku, unit_price, updated_at, (SELECT count(*) FROM marts.dim_product_history h WHERE h.sku = p.sku) "
            "FROM staging.stg_erp__products p WHERE unit_cost IS NOT NULL ORDER BY sku LIMIT 1").fetchone()
        latest = "FROM raw.erp__products WHERE sku = ? ORDER BY updated_at DESC, _loaded_at DESC LIMIT 1"
        crafted = [  # (file, updated_at offset, unit_price, unit_cost NULL?)
            ("reexport.csv", 0, price, False),          # the same state again: no new state
            ("price_up.csv", 1, price + 1, False),      # a change: new state
            ("price_back.csv", 2, price, True),         # back to the first price, cost now NULL: new state
            ("null_again.csv", 3, price, True),         # NULL cost again: no new state
        ]
        for i, (file, days, unit_price, cost_null) in enumerate(crafted):
            con.execute(
                "INSERT INTO raw.erp__products SELECT * REPLACE (? AS unit_price, "
                f"{'NULL' if cost_null else 'unit_cost'} AS unit_cost, ? AS updated_at, ? AS _source_file, 2 AS _source_line, "
                f"_loaded_at + INTERVAL {i + 1} HOUR AS _loaded_at) {latest}",
                [unit_price, updated + timedelta(days=days), file, sku])

    with environment(run_env(tiny_run["root"], tiny_run["landing"], **tiny_run["extra_env"])):
        built = _run_dbt(["build", "--select", "stg_erp__product_versions", "stg_erp__products", "dim_product_history"],
                         db, tmp_path)
    assert built.returncode == 0, built.stdout[-4000:]

    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "SELECT version_number, valid_from, valid_to, is_current, unit_price, unit_cost, _source_file "
            "FROM marts.dim_product_history WHERE sku = ? ORDER BY version_number", [sku]).fetchall()
        latest_staged = con.execute("SELECT unit_price, unit_cost, updated_at FROM staging.stg_erp__products WHERE sku = ?",
                                    [sku]).fetchone()
        current_everywhere = con.execute(
            "SELECT count(*) FROM staging.stg_erp__products s JOIN marts.dim_product_history h "
            "ON h.sku = s.sku AND h.is_current AND h.unit_price = s.unit_price "
            "AND h.unit_cost IS NOT DISTINCT FROM s.unit_cost").fetchone()[0]
        skus = con.execute("SELECT count(*) FROM staging.stg_erp__products").fetchone()[0]

    assert len(rows) == states_before + 2
    up, back = rows[-2], rows[-1]
    assert (up[4], up[5] is not None, up[6]) == (price + 1, True, "price_up.csv")
    assert (back[4], back[5], back[6], back[3], back[2]) == (price, None, "price_back.csv", True, None)
    assert back[1] == updated + timedelta(days=2)  # the state began with the version that brought it, not the re-export
    for earlier, later in zip(rows, rows[1:]):
        assert earlier[2] == later[1] and not earlier[3], "intervals chain and only the last state is current"
    assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
    # the current state is staging's latest version (the NULL-for-NULL re-export, same state)
    assert latest_staged == (price, None, updated + timedelta(days=3))
    assert current_everywhere == skus


def test_customer_history_tracks_published_attributes_only(tiny_run, tmp_path):
    """dim_customer_history: an e-mail change adds a state (its pseudonym differs), a street-only change and a
    re-export add none (street is not published), a move to another country adds one; the unified id is the
    bridge's, one state is current and it is staging's latest version."""
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(tiny_run["published"], db)
    with duckdb.connect(str(db)) as con:
        customer, updated, states_before = con.execute(
            "SELECT erp_customer_id, updated_at, (SELECT count(*) FROM marts.dim_customer_history h "
            "WHERE h.erp_customer_id = c.erp_customer_id) FROM staging.stg_erp__customers c "
            "WHERE email IS NOT NULL AND country_code = 'DE' ORDER BY erp_customer_id LIMIT 1").fetchone()
        latest = "FROM raw.erp__customers WHERE customer_id = ? ORDER BY updated_at DESC, _loaded_at DESC LIMIT 1"
        crafted = [  # (file, updated_at offset in days, column replacements)
            ("reexport.csv", 0, ""),
            ("new_email.csv", 1, "'billing@example.org' AS email"),
            ("new_street.csv", 2, "'Neue Strasse 1' AS street"),
            ("moved.csv", 3, "'AT' AS country"),
        ]
        for i, (file, days, replace) in enumerate(crafted):
            replaced = f"{replace}, " if replace else ""
            con.execute(
                f"INSERT INTO raw.erp__customers SELECT * REPLACE ({replaced}? AS updated_at, ? AS _source_file, "
                f"2 AS _source_line, _loaded_at + INTERVAL {i + 1} HOUR AS _loaded_at) {latest}",
                [updated + timedelta(days=days), file, customer])

    with environment(run_env(tiny_run["root"], tiny_run["landing"], **tiny_run["extra_env"])):
        built = _run_dbt(["build", "--select", "stg_erp__customer_versions", "stg_erp__customers",
                          "dim_customer_history"], db, tmp_path)
    assert built.returncode == 0, built.stdout[-4000:]

    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "SELECT version_number, valid_from, valid_to, is_current, email_masked, email_sha256, country_code, "
            "_source_file, customer_id FROM marts.dim_customer_history WHERE erp_customer_id = ? ORDER BY version_number",
            [customer]).fetchall()
        unified = con.execute("SELECT customer_id FROM marts.bdg_customer_source_ids WHERE source_system = 'erp' "
                              "AND source_entity = 'customers' AND source_id = ?", [customer]).fetchone()[0]
        staged = con.execute("SELECT country_code, updated_at, street FROM staging.stg_erp__customers "
                             "WHERE erp_customer_id = ?", [customer]).fetchone()
        current_per_customer = con.execute(
            "SELECT count(*), count(DISTINCT erp_customer_id) FROM marts.dim_customer_history WHERE is_current").fetchone()
        customers = con.execute("SELECT count(*) FROM staging.stg_erp__customers").fetchone()[0]

    assert len(rows) == states_before + 2, rows
    email, moved = rows[-2], rows[-1]
    assert (email[4], email[6], email[7]) == ("b***@example.org", "DE", "new_email.csv")
    assert email[5] != rows[-3][5] and email[5] == moved[5]          # the pseudonym follows the e-mail
    assert (moved[6], moved[7], moved[3], moved[2]) == ("AT", "moved.csv", True, None)
    assert email[1] == updated + timedelta(days=1) and moved[1] == updated + timedelta(days=3)
    for earlier, later in zip(rows, rows[1:]):
        assert earlier[2] == later[1] and not earlier[3], "intervals chain and only the last state is current"
    assert {r[8] for r in rows} == {unified}
    assert staged == ("AT", updated + timedelta(days=3), "Neue Strasse 1")   # staging's latest is the move
    assert current_per_customer == (customers, customers)
