"""The real contracts in contracts/*.yml: every entity is loadable, and the known quirks of the real
systems (ERP customers v2 drift, finance number/date style, nested CRM accounts) load as intended."""
from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from ingest_helpers import assert_conserved, land, load, quarantine

from smb_warehouse.ingestion.contracts import Column, Entity, all_entities
from smb_warehouse.ingestion.loader import ensure_ingestion_tables

ENTITIES = {f"{e.system}.{e.name}": e for e in all_entities()}


def sample_from_pattern(pattern: str) -> str:
    """A string matching the simple patterns contracts use: literals, [classes] and {n} repeats."""
    out, i = [], 0
    body = pattern.strip("^$")
    while i < len(body):
        if body[i] == "[":
            end = body.index("]", i)
            token, i = body[i + 1], end + 1  # first character of the class ('0-9' -> '0')
        elif body[i] == "\\":
            token, i = body[i + 1], i + 2
        else:
            token, i = body[i], i + 1
        count = 1
        if i < len(body) and body[i] == "{":
            end = body.index("}", i)
            count, i = int(body[i + 1:end].split(",")[0]), end + 1
        out.append(token * count)
    value = "".join(out)
    assert re.fullmatch(pattern, value), (pattern, value)
    return value


def sample_value(entity: Entity, col: Column) -> str:
    fmt = entity.format
    if col.accepted_values:
        return col.accepted_values[0]
    if col.pattern:
        return sample_from_pattern(col.pattern)
    return {
        "string": f"{col.name} value",
        "integer": "7",
        "decimal": "1234.5".replace(".", fmt.decimal_separator),
        "date": dt.date(2024, 3, 1).strftime((col.formats or fmt.date_formats)[0]),
        "timestamp": "2024-03-01T10:00:00+01:00",
        "boolean": "true",
    }[col.type]


def synthetic_file(entity: Entity) -> str:
    values = {c.name: sample_value(entity, c) for c in entity.columns}
    if entity.format.type == "csv":
        delim = entity.format.delimiter
        return delim.join(values) + "\n" + delim.join(values.values()) + "\n"
    record: dict = {}
    for col in entity.columns:
        *parents, leaf = col.json_path[2:].split(".")
        node = record
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = values[col.name]
    return json.dumps([record]) if entity.format.type == "json_array" else json.dumps(record) + "\n"


@pytest.mark.parametrize("name", sorted(ENTITIES))
def test_every_real_contract_entity_loads_a_valid_row(con, landing, name):
    entity = ENTITIES[name]
    src = land(landing, entity, "batch_0001" + entity.format.file_glob.lstrip("*"), synthetic_file(entity))
    result = load(con, entity, landing)
    assert result.failures == [] and quarantine(con, src) == []
    assert [(f.status, f.rows_loaded, f.schema_drift) for f in result.files] == [("loaded", 1, [])]
    row = con.execute(f"SELECT * EXCLUDE (_load_id, _source_file, _loaded_at) FROM {entity.qualified_raw_table}").fetchone()
    assert None not in row[: len(entity.columns)], "every contract column got a typed value"
    first_line = {"csv": 2, "ndjson": 1, "json_array": 1}[entity.format.type]
    assert row[len(entity.columns):] == (first_line, None)
    assert_conserved(con, entity, result, src, 1)


def test_all_raw_tables_can_be_created_together(con):
    ensure_ingestion_tables(con, all_entities())
    ensure_ingestion_tables(con, all_entities())  # idempotent
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw'").fetchall()}
    assert tables == {e.raw_table for e in all_entities()} | {"quarantine", "load_audit"}


def test_erp_customers_v2_export_with_renamed_and_added_columns(con, landing):
    customers = ENTITIES["erp.customers"]
    header = "customer_id,customer_name,email,phone_number,street,city,postal_code,country,vat_id,created_at,updated_at,segment"
    row = ("C-00042,Acme BV,info@acme.example,+32 9 123 45 67,Main 1,Ghent,9000,BE,BE0123456789,2024-01-05 08:00:00,"
           "2024-03-01T09:30:00+01:00,SMB")
    src = land(landing, customers, "customers_2024-03.csv", f"{header}\n{row}\n")
    result = load(con, customers, landing)
    assert result.files[0].schema_drift == ["renamed phone_number->phone", "added segment"]
    assert con.execute("SELECT phone, updated_at, _extra_columns->>'segment' FROM raw.erp__customers").fetchone() == (
        "+32 9 123 45 67", dt.datetime(2024, 3, 1, 8, 30), "SMB")
    assert_conserved(con, customers, result, src, 1)


def test_erp_customers_file_written_with_semicolons_is_rejected(con, landing):
    customers = ENTITIES["erp.customers"]
    src = land(landing, customers, "customers_2024-03.csv", "customer_id;customer_name;created_at;updated_at\nC-00001;A;x;y\n")
    result = load(con, customers, landing)
    assert result.failures == [
        f"{src}: required columns 'customer_id', 'customer_name', 'created_at', 'updated_at' missing "
        "(header: 'customer_id;customer_name;created_at;updated_at'; contract delimiter ',')"]


def test_finance_payments_decimal_comma_and_european_dates(con, landing):
    payments = ENTITIES["finance.payments"]
    header = "payment_id;direction;invoice_id;counterparty_name;amount;currency;payment_date;method;bank_txn_id"
    rows = ["PAY-0000001;incoming;AR-0000001;Acme;1.234,50;EUR;31/01/2024;transfer;BT-00000001",
            "PAY-0000002;outgoing;;Supplier;-99,9;EUR;2024-01-31;cheque;"]
    src = land(landing, payments, "payments_2024-01.csv", header + "\n" + "\n".join(rows) + "\n")
    result = load(con, payments, landing)
    assert con.execute("SELECT amount, payment_date FROM raw.finance__payments").fetchall() == [
        (Decimal("1234.5"), dt.date(2024, 1, 31))]
    assert quarantine(con, src) == [(3, "payment_date",
                                     "payment_date: '2024-01-31' does not match date formats ['%d/%m/%Y']; "
                                     "method: 'cheque' is not one of the accepted values [transfer, card, direct_debit, cash]")]
    assert_conserved(con, payments, result, src, 2)
