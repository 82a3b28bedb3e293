"""Idempotency, transactions, contract evolution and the all-files-then-raise contract."""
from __future__ import annotations

import pytest
from ingest_helpers import assert_conserved, audit, land, load, quarantine

from smb_warehouse.ingestion.contracts import parse_contract
from smb_warehouse.ingestion.loader import ContractViolation, ensure_ingestion_tables, load_entity

H = "order_id,customer,quantity,price,order_date,status,paid,updated_at"
GOOD = "O-001,Ann,2,9.50,2024-03-01,open,yes,2024-03-01T10:00:00Z"


def counts(con) -> tuple[int, int, int]:
    return con.execute("SELECT (SELECT count(*) FROM raw.shop__orders), (SELECT count(*) FROM raw.quarantine), "
                       "(SELECT count(*) FROM raw.load_audit)").fetchone()


def test_idempotent_reload_loads_nothing_and_leaves_audit_unchanged(con, contract, landing):
    orders = contract["orders"]
    land(landing, orders, "b1.csv", f"{H}\n{GOOD}\nO-002,Bob,x,,2024-03-01,,,\n")
    land(landing, orders, "b2.csv", b"")
    first = load(con, orders, landing, "L1")
    before = counts(con)
    assert before == (1, 1, 2)
    audit_before = con.execute("SELECT * FROM raw.load_audit ORDER BY source_file").fetchall()
    second = load(con, orders, landing, "L2")
    assert [f.status for f in first.files] == ["loaded", "empty"]
    assert [f.status for f in second.files] == ["skipped_already_loaded"] * 2
    assert second.rows_read == second.rows_loaded == second.rows_quarantined == 0
    assert counts(con) == before
    assert con.execute("SELECT * FROM raw.load_audit ORDER BY source_file").fetchall() == audit_before


def test_same_content_under_new_filename_is_skipped(con, contract, landing):
    orders = contract["orders"]
    land(landing, orders, "b1.csv", f"{H}\n{GOOD}\n")
    land(landing, orders, "b1_copy.csv", f"{H}\n{GOOD}\n")
    result = load(con, orders, landing)
    assert [(f.source_file, f.status) for f in result.files] == [
        ("shop/orders/b1.csv", "loaded"), ("shop/orders/b1_copy.csv", "duplicate")]
    assert counts(con) == (1, 0, 2)  # loaded once; the copy is audited as a duplicate (tests/reliability/test_idempotency.py)


def test_rejected_file_is_retried_on_the_next_run(con, contract, landing):
    orders = contract["orders"]
    src = land(landing, orders, "b1.csv", "order_id\nO-001\n")
    load(con, orders, landing, "L1")
    land(landing, orders, "b1.csv", f"{H}\n{GOOD}\n")  # the source system re-exports it, fixed
    result = load(con, orders, landing, "L2")
    assert result.files[0].status == "loaded"
    assert [a[0] for a in audit(con, src)] == ["rejected", "loaded"]


def test_violation_names_every_bad_file_after_loading_good_ones(con, contract, landing):
    orders = contract["orders"]
    bad1 = land(landing, orders, "a.csv", "order_id,customer\nO-001,Ann\n")
    good = land(landing, orders, "b.csv", f"{H}\n{GOOD}\n")
    bad2 = land(landing, orders, "c.csv", b"\x89PNG\r\n\x1a\n\x00\x00\xff\xd8")
    with pytest.raises(ContractViolation) as exc:
        load_entity(con, orders, landing, "L1")
    lines = str(exc.value).splitlines()
    assert lines[0] == "2 file(s) of shop.orders violate the contract and were not loaded:"
    assert lines[1].startswith(f"{bad1}: required columns 'quantity', 'order_date' missing")
    assert lines[2].startswith(f"{bad2}: header is not valid utf-8 text")
    assert exc.value.result.failures == lines[1:]
    assert_conserved(con, orders, exc.value.result, good, 1)


def test_failed_file_transaction_rolls_back_completely(con, contract, landing):
    orders = contract["orders"]
    # Sabotage the quarantine table so the second insert of the file's transaction fails.
    con.execute("CREATE SCHEMA raw")
    con.execute("CREATE TABLE raw.quarantine (load_id VARCHAR, system VARCHAR, entity VARCHAR, source_file VARCHAR, "
                "source_line BIGINT, column_name VARCHAR, reason VARCHAR CHECK (reason IS NULL), raw_record VARCHAR, "
                "quarantined_at TIMESTAMP)")
    ensure_ingestion_tables(con)
    src = land(landing, orders, "b.csv", f"{H}\n{GOOD}\nO-002,Bob,x,,2024-03-01,,,\n")
    result = load(con, orders, landing)
    assert result.files[0].status == "rejected" and "CHECK constraint" in result.files[0].message
    assert con.execute("SELECT count(*) FROM raw.shop__orders").fetchone()[0] == 0
    assert quarantine(con, src) == []
    assert [a[:4] for a in audit(con, src)] == [("rejected", 0, 0, 0)]


def test_contract_gaining_a_column_alters_the_raw_table(con, contract, landing, tmp_path):
    orders = contract["orders"]
    land(landing, orders, "b1.csv", f"{H}\n{GOOD}\n")
    load(con, orders, landing)
    evolved = tmp_path / "evolved" / "shop.yml"
    evolved.parent.mkdir()
    text = (tmp_path / "shop.yml").read_text().replace(
        "      updated_at: {type: timestamp}\n", "      updated_at: {type: timestamp}\n      channel: {type: string}\n", 1)
    evolved.write_text(text)
    orders_v2 = parse_contract(evolved).entities["orders"]
    land(landing, orders_v2, "b2.csv", f"{H},channel\n{GOOD.replace('O-001', 'O-002')},web\n")
    result = load(con, orders_v2, landing, "L2")
    assert [f.status for f in result.files] == ["skipped_already_loaded", "loaded"]
    assert con.execute("SELECT order_id, channel FROM raw.shop__orders ORDER BY 1").fetchall() == [
        ("O-001", None), ("O-002", "web")]


def test_temp_objects_are_cleaned_up(con, contract, landing):
    orders = contract["orders"]
    land(landing, orders, "a.csv", f"{H}\n\n{GOOD}\n")
    land(landing, orders, "b.csv", "nope\n")
    load(con, orders, landing)
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM duckdb_views() WHERE temporary AND NOT internal").fetchone()[0] == 0


# found by probing nightly export folders over several runs (2026-12-02) --------------------------------------------
def test_a_refused_new_version_of_a_file_replaces_nothing(con, contract, landing):
    # the re-delivered document is cut mid-way and refused inside the load transaction: the rows of the version
    # before it must stay (a refusal changes nothing), and no audit row may call them superseded
    accounts = contract["accounts"]
    src = land(landing, accounts, "a.json", '[{"Id": "A1", "Name": "Acme"}, {"Id": "A2", "Name": "Bolt"}]')
    load(con, accounts, landing, "L1")
    land(landing, accounts, "a.json", '[{"Id": "A1", "Name": "Acme 2"}, {"Id": "A2", "Name": ')
    result = load(con, accounts, landing, "L2")
    assert [f.status for f in result.files] == ["rejected"]
    assert con.execute("SELECT account_id, name, _load_id FROM raw.shop__accounts ORDER BY 1").fetchall() == [
        ("A1", "Acme", "L1"), ("A2", "Bolt", "L1")]
    assert [(a[0], a[1]) for a in audit(con, src)] == [("loaded", 2), ("rejected", 0)]


@pytest.mark.parametrize("name", ["rep[1].csv", "q?.csv"])
def test_a_file_name_duckdb_would_read_as_a_pattern_is_refused_not_misread(con, contract, landing, name):
    # DuckDB's readers expand [ ] ? * in a path (no escape): 'rep[1].csv' would read rep1.csv, twice over
    orders = contract["orders"]
    odd = land(landing, orders, name, f"{H}\nO-009,Odd,1,1.00,2024-03-01,open,yes,2024-03-01T10:00:00Z\n")
    plain = land(landing, orders, "rep1.csv" if "[" in name else "q1.csv", f"{H}\n{GOOD}\n")
    result = load(con, orders, landing)
    assert {f.source_file: f.status for f in result.files} == {odd: "rejected", plain: "loaded"}
    assert result.failures == [f"{odd}: the path holds one of * ? [ ], which DuckDB's file readers take as a pattern "
                               "(another file would be read in its place): rename the file or folder"]
    assert con.execute("SELECT order_id, _source_file FROM raw.shop__orders").fetchall() == [("O-001", plain)]


def test_a_file_that_cannot_be_read_is_refused_by_name_and_the_others_load(con, contract, landing):
    orders = contract["orders"]
    good = land(landing, orders, "b.csv", f"{H}\n{GOOD}\n")
    (orders.landing_dir(landing) / "a.csv").symlink_to(landing / "nowhere.csv")  # a broken link
    result = load(con, orders, landing)
    statuses = {f.source_file: (f.status, f.message) for f in result.files}
    assert statuses[good] == ("loaded", None)
    assert statuses["shop/orders/a.csv"][0] == "rejected"
    assert statuses["shop/orders/a.csv"][1].startswith("cannot be read: ")


def test_a_file_that_grows_while_it_is_read_is_held_not_loaded_cut(con, contract, landing, monkeypatch):
    # a writer appends after the scan hashed and checked the file, before DuckDB reads it: what would be read is
    # not what was checked (here a cut last record), so the file waits for the next run
    import smb_warehouse.ingestion.loader as loader

    orders = contract["orders"]
    src = land(landing, orders, "a.csv", f"{H}\n{GOOD}\n")
    other = land(landing, orders, "b.csv", f"{H}\nO-002,Bob,1,2.00,2024-03-02,open,no,2024-03-02T10:00:00Z\n")
    real = loader.scan_file

    def scan_then_the_writer_appends(path, **kwargs):
        scan = real(path, **kwargs)
        if path.name == "a.csv":
            with open(path, "ab") as fh:
                fh.write(b"O-003,Ca")
        return scan

    monkeypatch.setattr(loader, "scan_file", scan_then_the_writer_appends)
    result = load(con, orders, landing, "L1")
    assert {f.source_file: f.status for f in result.files} == {src: "held", other: "loaded"}
    assert con.execute("SELECT order_id FROM raw.shop__orders").fetchall() == [("O-002",)]
    assert audit(con, src)[0][0] == "held" and "changed while it was being read" in audit(con, src)[0][5]
    monkeypatch.setattr(loader, "scan_file", real)
    with open(landing / src, "ab") as fh:  # the writer finishes
        fh.write(b"rl,1,3.00,2024-03-03,open,no,2024-03-03T10:00:00Z\n")
    load(con, orders, landing, "L2")
    assert con.execute("SELECT order_id FROM raw.shop__orders ORDER BY 1").fetchall() == [
        ("O-001",), ("O-002",), ("O-003",)]


def test_a_copy_skipped_as_duplicate_is_decided_again_when_its_twin_is_superseded(con, contract, landing):
    # night 1: b.csv is a copy of a.csv (skipped as its duplicate); night 2: a.csv arrives corrected. a.csv's old
    # content leaves the warehouse, so b.csv is now content no loaded file holds: it loads in night 2, as a fresh
    # build of that landing zone would, and not one night later with nothing changed
    orders = contract["orders"]
    first = f"{H}\n{GOOD}\n"
    a = land(landing, orders, "a.csv", first)
    b = land(landing, orders, "b.csv", first)
    load(con, orders, landing, "L1")
    land(landing, orders, "a.csv", first.replace("Ann", "Anna"))
    night2 = load(con, orders, landing, "L2")
    assert {f.source_file: f.status for f in night2.files} == {a: "loaded", b: "loaded"}
    rows = "SELECT _source_file, customer, _load_id FROM raw.shop__orders ORDER BY 1"
    assert con.execute(rows).fetchall() == [(a, "Anna", "L2"), (b, "Ann", "L2")]
    night3 = load(con, orders, landing, "L3")
    assert [f.status for f in night3.files] == ["skipped_already_loaded"] * 2
    assert con.execute(rows).fetchall() == [(a, "Anna", "L2"), (b, "Ann", "L2")]
