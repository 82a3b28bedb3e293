"""Shared fixtures for the ingestion tests: a small test contract, a landing folder, helpers that load
and check the row-conservation identity (every data line ends up in raw or in quarantine, once)."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from smb_warehouse.ingestion.contracts import Entity, parse_contract

# A deliberately small contract covering every type, option and format the loader supports.
TEST_CONTRACT = """
system: shop
description: test system
format: {type: csv, delimiter: ",", encoding: utf-8, header: true}
entities:
  orders:
    description: orders
    primary_key: [order_id]
    columns:
      order_id: {type: string, required: true, pattern: '^O-[0-9]{3}$'}
      customer: {type: string, required: true, aliases: [client]}
      quantity: {type: integer, required: true}
      price: {type: decimal}
      order_date: {type: date, required: true}
      status: {type: string, accepted_values: [open, shipped]}
      paid: {type: boolean}
      updated_at: {type: timestamp}
  ledger:
    description: finance style
    format: {delimiter: ";", date_formats: ['%d/%m/%Y'], decimal_separator: ",", thousands_separator: "."}
    primary_key: [entry_id, line_no]
    columns:
      entry_id: {type: string, required: true}
      line_no: {type: integer, required: true}
      amount: {type: decimal, required: true}
      booking_date: {type: date, required: true}
  events:
    description: ndjson
    format: {type: ndjson}
    primary_key: [event_id]
    columns:
      event_id: {type: string, required: true}
      kind: {type: string, required: true, accepted_values: [click, view]}
      happened_at: {type: timestamp, required: true}
      clicks: {type: integer}
      city: {type: string, path: '$.address.city'}
  accounts:
    description: json array
    format: {type: json_array}
    primary_key: [account_id]
    columns:
      account_id: {type: string, required: true, path: '$.Id'}
      name: {type: string, required: true, path: '$.Name'}
      created_at: {type: timestamp, path: '$.CreatedDate'}
"""

ORDERS_HEADER = "order_id,customer,quantity,price,order_date,status,paid,updated_at"


@pytest.fixture
def contract(tmp_path: Path) -> dict[str, Entity]:
    path = tmp_path / "shop.yml"
    path.write_text(TEST_CONTRACT, encoding="utf-8")
    return parse_contract(path).entities


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    root = tmp_path / "landing"
    root.mkdir()
    return root


@pytest.fixture
def con():
    connection = duckdb.connect()
    yield connection
    connection.close()
