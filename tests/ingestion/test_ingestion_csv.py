"""One test per kind of bad CSV input: exact quarantine/audit outcome plus row conservation."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from ingest_helpers import assert_conserved, audit, land, load, quarantine

from smb_warehouse.ingestion.loader import ContractViolation, load_entity

H = "order_id,customer,quantity,price,order_date,status,paid,updated_at"
GOOD = "O-001,Ann,2,9.50,2024-03-01,open,yes,2024-03-01T10:00:00Z"


def raw_rows(con, table: str, source_file: str, cols: str = "*") -> list[tuple]:
    return con.execute(f"SELECT {cols} FROM raw.{table} WHERE _source_file = ? ORDER BY _source_line",
                       [source_file]).fetchall()


def test_good_file_loads_typed_values_with_line_numbers(con, contract, landing):
    orders = contract["orders"]
    src = land(landing, orders, "b1.csv", f"{H}\n{GOOD}\nO-002,Bob,1,,2024-03-02,,0,\n")
    result = load(con, orders, landing)
    assert result.files[0].status == "loaded" and not result.failures
    assert raw_rows(con, "shop__orders", src, "order_id, quantity, price, order_date, paid, updated_at, _source_line") == [
        ("O-001", 2, Decimal("9.5000"), dt.date(2024, 3, 1), True, dt.datetime(2024, 3, 1, 10), 2),
        ("O-002", 1, None, dt.date(2024, 3, 2), False, None, 3),
    ]
    assert_conserved(con, orders, result, src, 2)


def test_missing_required_column_rejects_file_and_still_loads_good_sibling(con, contract, landing):
    orders = contract["orders"]
    bad = land(landing, orders, "a_bad.csv", "order_id,quantity,order_date\nO-001,1,2024-03-01\n")
    good = land(landing, orders, "b_good.csv", f"{H}\n{GOOD}\n")
    with pytest.raises(ContractViolation) as exc:
        load_entity(con, orders, landing, "L1")
    message = str(exc.value)
    assert f"{bad}: required column 'customer' missing" in message
    assert good not in message
    result = exc.value.result
    assert [(f.source_file, f.status) for f in result.files] == [(bad, "rejected"), (good, "loaded")]
    assert raw_rows(con, "shop__orders", bad) == [] and quarantine(con, bad) == []
    assert audit(con, bad) == [("rejected", 0, 0, 0, None, result.files[0].message)]
    assert_conserved(con, orders, result, good, 1)


def test_wrong_type_integer(con, contract, landing):
    orders = contract["orders"]
    src = land(landing, orders, "b.csv", f"{H}\n{GOOD}\nO-002,Bob,12x,1,2024-03-01,,,\nO-003,Cy,12.5,1,2024-03-01,,,\n")
    result = load(con, orders, landing)
    assert quarantine(con, src) == [
        (3, "quantity", "quantity: '12x' is not a valid integer"),
        (4, "quantity", "quantity: '12.5' is not a valid integer"),
    ]
    assert_conserved(con, orders, result, src, 3)


def test_bad_date_reports_every_failure_of_the_row(con, contract, landing):
    orders = contract["orders"]
    src = land(landing, orders, "b.csv", f"{H}\nO-001,Ann,1x,1,2024-13-45,,,\n{GOOD}\n")
    result = load(con, orders, landing)
    assert quarantine(con, src) == [(2, "quantity", "quantity: '1x' is not a valid integer; "
                                     "order_date: '2024-13-45' does not match date formats ['%Y-%m-%d']")]
    assert_conserved(con, orders, result, src, 2)


def test_missing_required_value(con, contract, landing):
    orders = contract["orders"]
    src = land(landing, orders, "b.csv", f"{H}\nO-001,  ,1,,2024-03-01,,,\n{GOOD.replace('O-001', 'O-002')}\n")
    result = load(con, orders, landing)
    assert quarantine(con, src) == [(2, "customer", "customer: missing required value")]
    assert_conserved(con, orders, result, src, 2)


def test_accepted_value_violation(con, contract, landing):
    orders = contract["orders"]
    src = land(landing, orders, "b.csv", f"{H}\nO-001,Ann,1,,2024-03-01,lost,,\n")
    result = load(con, orders, landing)
    assert quarantine(con, src) == [(2, "status", "status: 'lost' is not one of the accepted values [open, shipped]")]
    assert_conserved(con, orders, result, src, 1)


def test_pattern_violation(con, contract, landing):
    orders = contract["orders"]
    src = land(landing, orders, "b.csv", f"{H}\nO-1,Ann,1,,2024-03-01,,,\n{GOOD}\n")
    result = load(con, orders, landing)
    assert quarantine(con, src) == [(2, "order_id", "order_id: 'O-1' does not match pattern '^O-[0-9]{3}$'")]
    assert_conserved(con, orders, result, src, 2)


def test_duplicate_key_within_file_keeps_first_and_across_files_loads_both(con, contract, landing):
    orders = contract["orders"]
    first = land(landing, orders, "b1.csv", f"{H}\n{GOOD}\nO-002,Bob,1,,2024-03-01,,,\n{GOOD.replace('Ann', 'Ann2')}\n")
    second = land(landing, orders, "b2.csv", f"{H}\n{GOOD.replace('Ann', 'Ann v2')}\n")
    result = load(con, orders, landing)
    assert quarantine(con, first) == [(4, None, "duplicate key (order_id='O-001') first seen at line 2")]
    assert raw_rows(con, "shop__orders", first, "customer") == [("Ann",), ("Bob",)]
    assert con.execute("SELECT count(*) FROM raw.shop__orders WHERE order_id = 'O-001'").fetchone()[0] == 2
    assert_conserved(con, orders, result, first, 3)
    assert_conserved(con, orders, result, second, 1)


def test_empty_file(con, contract, landing):
    orders = contract["orders"]
    src = land(landing, orders, "b.csv", b"")
    result = load(con, orders, landing)
    assert (result.files[0].status, result.failures) == ("empty", [])
    assert audit(con, src) == [("empty", 0, 0, 0, None, None)]
    assert_conserved(con, orders, result, src, 0)


def test_header_only_file(con, contract, landing):
    orders = contract["orders"]
    src = land(landing, orders, "b.csv", f"{H}\n")
    result = load(con, orders, landing)
    assert result.files[0].status == "loaded"
    assert_conserved(con, orders, result, src, 0)


def test_wrong_delimiter_is_rejected_with_a_hint(con, contract, landing):
    orders = contract["orders"]
    src = land(landing, orders, "b.csv", H.replace(",", ";") + "\n" + GOOD.replace(",", ";") + "\n")
    with pytest.raises(ContractViolation) as exc:
        load_entity(con, orders, landing, "L1")
    assert (f"{src}: required columns 'order_id', 'customer', 'quantity', 'order_date' missing "
            f"(header: '{H.replace(',', ';')}'; contract delimiter ',')") in str(exc.value)
    assert_conserved(con, orders, exc.value.result, src, 0)


def test_wrong_encoding_latin1_row_is_quarantined(con, contract, landing):
    orders = contract["orders"]
    data = f"{H}\n{GOOD}\n".encode() + "O-002,Zoë Müller,1,,2024-03-01,,,\n".encode("latin-1") + b"O-003,Al,1,,2024-03-01,,,\n"
    src = land(landing, orders, "b.csv", data)
    result = load(con, orders, landing)
    ((line, column, reason),) = quarantine(con, src)
    assert (line, column) == (3, None)
    assert reason == "record rejected by the CSV reader: not valid utf-8 text (INVALID ENCODING)"
    assert raw_rows(con, "shop__orders", src, "order_id, _source_line") == [("O-001", 2), ("O-003", 4)]
    assert_conserved(con, orders, result, src, 3)


def test_wrong_encoding_in_header_rejects_file(con, contract, landing):
    orders = contract["orders"]
    src = land(landing, orders, "b.csv", ("order_id,customér," + H[18:] + "\n").encode("latin-1") + b"\x00\xff\xfe\n")
    result = load(con, orders, landing)
    assert result.failures == [f"{src}: header is not valid utf-8 text (invalid continuation byte at byte 15); "
                               "binary file or wrong encoding?"]
    assert_conserved(con, orders, result, src, 0)


def test_too_many_and_too_few_fields(con, contract, landing):
    orders = contract["orders"]
    src = land(landing, orders, "b.csv", f"{H}\n{GOOD}\nO-002,Bob,1,,2024-03-01,open,no,,surplus\nO-003,Cy\n"
                                         "O-004,Di,1,,2024-03-01,,,\n")
    result = load(con, orders, landing)
    rows = quarantine(con, src)
    assert [(line, col) for line, col, _ in rows] == [(3, None), (4, None)]
    assert rows[0][2] == "record has 9 fields, the header has 8"
    assert rows[1][2] == "record has 2 field(s), the header has 8"
    raw_record = con.execute("SELECT raw_record FROM raw.quarantine WHERE source_line = 3").fetchone()[0]
    assert raw_record == "O-002,Bob,1,,2024-03-01,open,no,,surplus"
    assert raw_rows(con, "shop__orders", src, "order_id, _source_line") == [("O-001", 2), ("O-004", 5)]
    assert_conserved(con, orders, result, src, 4)


def test_line_numbers_survive_blank_lines_and_multiline_values(con, contract, landing):
    orders = contract["orders"]
    src = land(landing, orders, "b.csv", f"{H}\r\n\r\nO-001,\"Ann\r\nSmith\",1,,2024-03-01,,,\r\nO-002,Bob,x,,,,,\r\n"
                                         f"O-003,Cy,1\r\n\r\nO-004,Di,1,,2024-03-01,,,\r\n")
    result = load(con, orders, landing)
    assert raw_rows(con, "shop__orders", src, "order_id, _source_line") == [("O-001", 3), ("O-004", 8)]
    assert [(line, col) for line, col, _ in quarantine(con, src)] == [(5, "quantity"), (6, None)]
    assert_conserved(con, orders, result, src, 4)


def test_schema_drift_alias_and_added_column(con, contract, landing):
    orders = contract["orders"]
    header = H.replace("customer", "client") + ",segment"
    src = land(landing, orders, "b.csv", f"{header}\n{GOOD},smb\nO-002,Bob,1,,2024-03-01,,,,\n")
    result = load(con, orders, landing)
    assert result.files[0].schema_drift == ["renamed client->customer", "added segment"]
    assert audit(con, src)[0][4] == "renamed client->customer; added segment"
    assert raw_rows(con, "shop__orders", src, "customer, _extra_columns->>'segment'") == [("Ann", "smb"), ("Bob", None)]
    assert_conserved(con, orders, result, src, 2)


def test_finance_style_decimal_comma_and_day_first_dates(con, contract, landing):
    ledger = contract["ledger"]
    src = land(landing, ledger, "b.csv", "entry_id;line_no;amount;booking_date\nE1;1;1.234,56;31/12/2024\n"
                                         "E1;2;-0,5;01/02/2024\nE2;1;12.5;2024-02-01\n")
    result = load(con, ledger, landing)
    assert raw_rows(con, "shop__ledger", src, "entry_id, line_no, amount, booking_date") == [
        ("E1", 1, Decimal("1234.56"), dt.date(2024, 12, 31)),
        ("E1", 2, Decimal("-0.5"), dt.date(2024, 2, 1)),
    ]
    assert quarantine(con, src) == [(4, "amount", "amount: '12.5' is not a valid decimal (decimal separator ',', "
                                                  "thousands separator '.'); "
                                     "booking_date: '2024-02-01' does not match date formats ['%d/%m/%Y']")]
    assert_conserved(con, ledger, result, src, 3)


def test_timestamps_with_offsets_are_converted_to_utc(con, contract, landing):
    orders = contract["orders"]
    values = ["2024-03-01T10:00:00+02:00", "2024-03-01 10:00:00-0130", "2024-03-01T10:00:00Z",
              "2024-03-01T10:00:00.250", "2024-03-01", "2024-03-01T25:00:00Z"]
    lines = [f"O-00{i},C,1,,2024-03-01,,,{v}" for i, v in enumerate(values)]
    src = land(landing, orders, "b.csv", H + "\n" + "\n".join(lines) + "\n")
    result = load(con, orders, landing)
    assert [r[0] for r in raw_rows(con, "shop__orders", src, "updated_at")] == [
        dt.datetime(2024, 3, 1, 8), dt.datetime(2024, 3, 1, 11, 30), dt.datetime(2024, 3, 1, 10),
        dt.datetime(2024, 3, 1, 10, 0, 0, 250000), dt.datetime(2024, 3, 1)]
    assert quarantine(con, src) == [(7, "updated_at", "updated_at: '2024-03-01T25:00:00Z' is not a valid timestamp "
                                     "(ISO 8601)")]
    assert_conserved(con, orders, result, src, 6)
