"""The dbt project (staging layer) against a hand-made raw warehouse.

Static checks (no database): the source ymls of the raw tables are exactly what
`smb_warehouse.ingestion.source_yml` generates from the contracts (no drift), and as generated every
contract entity has a dbt source table mapped to its Dagster ingestion asset; every entity has a stg_
model with a yml beside it, and every PII contract column is tagged pii in the source yml and on every
staging column derived from it.

Build check: a temp DuckDB file gets the raw schema exactly as the loader creates it (contract DDL +
ingestion ledger tables) and a few hand-written rows; `dbt build` (seeds, views, data tests, unit tests)
must succeed, and the staging views must show the latest version, E.164 phones and base-currency amounts.
"""
from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import yaml

from smb_warehouse.ingestion import source_yml
from smb_warehouse.ingestion.contracts import all_entities, parse_contract

PROJECT_DIR = Path(__file__).resolve().parents[2]
STAGING_DIR = PROJECT_DIR / "models" / "staging"
ENTITIES = all_entities()
LINEAGE_COLUMNS = ("_load_id", "_source_file", "_source_line")


# ------------------------------------------------------------------------------------------ helpers
def _load_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _is_pii(node: dict) -> bool:
    """Tagged pii the way dbt reads it: meta/tags at the top level or under config."""
    config = node.get("config") or {}
    meta = {**(node.get("meta") or {}), **(config.get("meta") or {})}
    tags = set(node.get("tags") or []) | set(config.get("tags") or [])
    return bool(meta.get("pii")) and "pii" in tags


def _source_table(system: str, entity: str) -> dict:
    doc = _load_yaml(STAGING_DIR / system / f"_{system}__sources.yml")
    for source in doc.get("sources", []):
        if source["name"] == system:
            for table in source.get("tables", []):
                if table["name"] == entity:
                    return {**table, "_schema": source.get("schema")}
    raise AssertionError(f"no dbt source table {system}.{entity}")


def _staging_model(system: str, entity: str) -> dict:
    return _staging_model_named(system, f"stg_{system}__{entity}")


def _staging_model_named(system: str, name: str) -> dict:
    doc = _load_yaml(STAGING_DIR / system / f"{name}.yml")
    models = [m for m in doc.get("models", []) if m["name"] == name]
    assert models, f"{name}.yml does not describe {name}"
    return models[0]


def _select_list(sql: str) -> dict[str, str]:
    """Output column -> expression of a staging model's select list (one column per line, as the models are
    written); the column-emitting staging macros are expanded from their arguments."""
    body = re.split(r"\n\s*from ", re.split(r"(?m)^\s*select$", sql, maxsplit=1)[1], maxsplit=1)[0]
    columns: dict[str, str] = {}
    for line in body.splitlines():
        line = line.strip().rstrip(",")
        if not line or line.startswith("--") or line == "select":
            continue
        if line == "{{ lineage_columns() }}":  # macros/staging/lineage_columns.sql
            columns.update({c: c for c in ("_load_id", "_source_file", "_source_line", "_loaded_at")})
            continue
        contact = re.match(r"^\{\{ contact_columns\((?P<args>.*)\) \}\}$", line)  # macros/staging/contact_columns.sql
        if contact:
            args = re.findall(r"(?:(\w+)=)?'(\w+)'", contact["args"])
            phone, street, city, country = (value for key, value in args if not key)
            postal = dict(args).get("postal_code")
            columns.update({"phone_raw": phone, "phone_e164": f"{phone} {country}", "street": street, "city": city,
                            "country_code": country, **({"postal_code": postal} if postal else {})})
            continue
        match = re.match(r"^(?P<expr>.+?)\s+as\s+(?P<name>\w+)$", line, flags=re.IGNORECASE)
        if match:
            columns[match["name"]] = match["expr"]
        else:
            columns[line.split(".")[-1]] = line
    return columns


# ---------------------------------------------------------------------------------- static checks
def test_source_ymls_are_generated_from_the_contracts():
    """models/staging/<system>/_<system>__sources.yml == the generator's rendering of contracts/<system>.yml."""
    stale = source_yml.stale_files(STAGING_DIR)
    assert not stale, (f"out of date with their contracts: {[str(p.relative_to(PROJECT_DIR)) for p in stale]}; "
                       "run: python -m smb_warehouse.ingestion.source_yml --write")
    assert len(source_yml.rendered_files(STAGING_DIR)) == len({e.system for e in ENTITIES})


def test_source_yml_generator_follows_the_contract(tmp_path):
    """What the contract says shows up in the rendering; contract keys the generator does not need are ignored."""
    contract_path = tmp_path / "shop.yml"
    contract_path.write_text("""\
system: shop
description: 'Web shop: orders as CSV.'
format: {type: csv, encoding: utf-8}
entities:
  orders:
    description: Web orders.
    primary_key: [order_id, line]
    freshness: {warn_after: {count: 2, period: day}}
    files_owner: ops team   # a key only other readers of the contract know
    columns:
      order_id: {type: string, required: true, description: 'Order number: SO-...'}
      line: {type: integer, required: true}
      buyer_email: {type: string, pii: true}
      placed_at: {type: timestamp, required: true}
""", encoding="utf-8")
    doc = yaml.safe_load(source_yml.render(parse_contract(contract_path)))
    source = doc["sources"][0]
    assert (source["name"], source["schema"], source["description"]) == ("shop", "raw", "Web shop: orders as CSV.")
    table = source["tables"][0]
    assert table["identifier"] == "shop__orders" and table["loaded_at_field"] == "_loaded_at"
    assert "key: order_id, line" in table["description"] and table["description"].startswith("Web orders.")
    assert table["config"]["meta"]["dagster"]["asset_key"] == ["raw", "shop", "orders"]
    assert table["freshness"] == {"warn_after": {"count": 2, "period": "day"}}
    assert "files_owner" not in table and "data_tests" not in table
    columns = {c["name"]: c for c in table["columns"]}
    assert list(columns) == ["order_id", "line", "buyer_email", "placed_at",
                             "_load_id", "_source_file", "_source_line", "_loaded_at", "_extra_columns"]
    assert columns["order_id"]["description"] == "Order number: SO-..."
    assert columns["placed_at"]["description"] == "Placed at (UTC timestamp) as exported."
    assert (columns["line"]["data_type"], columns["placed_at"]["data_type"]) == ("bigint", "timestamp")
    assert _is_pii(columns["buyer_email"]) and not _is_pii(columns["order_id"])
    assert columns["_load_id"]["description"] == "{{ doc('lineage__load_id') }}"


@pytest.mark.parametrize("entity", ENTITIES, ids=lambda e: e.raw_table)
def test_every_contract_entity_has_a_source_table(entity):
    table = _source_table(entity.system, entity.name)
    assert table["_schema"] == "raw"
    assert table.get("identifier") == entity.raw_table
    meta = {**(table.get("meta") or {}), **((table.get("config") or {}).get("meta") or {})}
    assert meta["dagster"]["asset_key"] == entity.asset_key_path
    assert table.get("loaded_at_field") == "_loaded_at"
    documented = {c["name"]: c for c in table.get("columns", [])}
    for column in entity.columns:
        assert column.name in documented, f"{entity.raw_table}.{column.name} missing from the source yml"
        assert documented[column.name].get("description"), f"{entity.raw_table}.{column.name} undocumented"
        assert _is_pii(documented[column.name]) == column.pii, f"{entity.raw_table}.{column.name} pii tag"


def _versions_model(system: str, sql: str) -> str | None:
    """The ``stg_<system>__<entity>_versions`` model a staging model takes its latest version from, if any (master
    data with history: the versions model cleans every loaded version, dim_*_history reads it)."""
    found = re.search(rf"latest_version\(ref\('(stg_{system}__\w+_versions)'\)", sql)
    return found[1] if found else None


def _reading_model(entity) -> tuple[str, str]:
    """(name, SQL) of the model that reads the entity's raw table: its staging model, or that model's versions model."""
    name = f"stg_{entity.system}__{entity.name}"
    sql = (STAGING_DIR / entity.system / f"{name}.sql").read_text(encoding="utf-8")
    versions = _versions_model(entity.system, sql)
    if versions:
        return versions, (STAGING_DIR / entity.system / f"{versions}.sql").read_text(encoding="utf-8")
    return name, sql


@pytest.mark.parametrize("entity", ENTITIES, ids=lambda e: e.raw_table)
def test_every_contract_entity_has_a_documented_staging_model(entity):
    name = f"stg_{entity.system}__{entity.name}"
    sql_path = STAGING_DIR / entity.system / f"{name}.sql"
    assert sql_path.is_file(), f"missing {sql_path}"
    sql = sql_path.read_text(encoding="utf-8")
    assert "latest_version(" in sql
    reader, reader_sql = _reading_model(entity)
    assert f"source('{entity.system}', '{entity.name}')" in reader_sql, f"{reader} does not read the raw table"
    for model_name, model_sql in {name: sql, reader: reader_sql}.items():
        model = _staging_model_named(entity.system, model_name)
        assert model.get("description")
        documented = {c["name"]: c for c in model.get("columns", [])}
        selected = _select_list(model_sql)
        assert set(selected) == set(documented), f"{model_name}: yml columns differ from the SQL select list"
        assert all(c.get("description") for c in documented.values()), f"{model_name}: undocumented columns"
        for lineage in LINEAGE_COLUMNS:
            assert lineage in selected, f"{model_name} drops lineage column {lineage}"
    model = _staging_model(entity.system, entity.name)
    # The key is tested: unique + not_null (one column) or unique_combination_of_columns (several).
    tests = [t if isinstance(t, str) else next(iter(t)) for t in model.get("data_tests", [])]
    if len(entity.primary_key) > 1:
        assert "unique_combination_of_columns" in tests, f"{name}: multi-column key untested"


@pytest.mark.parametrize("entity", [e for e in ENTITIES if any(c.pii for c in e.columns)],
                         ids=lambda e: e.raw_table)
def test_staging_columns_derived_from_pii_are_tagged(entity):
    pii = {c.name for c in entity.columns if c.pii}
    name, sql = _reading_model(entity)
    selected = _select_list(sql)
    documented = {c["name"]: c for c in _staging_model_named(entity.system, name)["columns"]}
    for column, expression in selected.items():
        referenced = set(re.findall(r"(?<![\w.])(?:source\.)?(\w+)", expression)) & pii
        if referenced:
            assert _is_pii(documented[column]), f"{name}.{column} derives from PII {sorted(referenced)}"
    latest = f"stg_{entity.system}__{entity.name}"
    if name != latest:  # the latest-version model keeps the versions model's tags column by column
        tagged = {c["name"] for c in documented.values() if _is_pii(c)}
        latest_columns = {c["name"]: c for c in _staging_model(entity.system, entity.name)["columns"]}
        assert {c for c in tagged if c in latest_columns and not _is_pii(latest_columns[c])} == set(), latest


def test_ingestion_sources_map_to_ledger_assets():
    doc = _load_yaml(STAGING_DIR / "ingestion" / "_ingestion__sources.yml")
    tables = {t["name"]: t for s in doc["sources"] for t in s["tables"]}
    for name in ("load_audit", "quarantine"):
        meta = (tables[name].get("config") or {}).get("meta") or tables[name].get("meta")
        assert meta["dagster"]["asset_key"] == ["raw", "ingestion", name]
    raw_record = next(c for c in tables["quarantine"]["columns"] if c["name"] == "raw_record")
    assert _is_pii(raw_record)
    for model in ("stg_ingestion__load_audit", "stg_ingestion__quarantine"):
        assert (STAGING_DIR / "ingestion" / f"{model}.sql").is_file()
        assert (STAGING_DIR / "ingestion" / f"{model}.yml").is_file()


# ----------------------------------------------------------------------------------- build check
_LEDGER_DDL = (  # fallback when the loader module is not importable; mirrors loader.ensure_ingestion_tables
    """CREATE TABLE IF NOT EXISTS raw.load_audit (load_id VARCHAR, system VARCHAR, entity VARCHAR,
    source_file VARCHAR, content_sha256 VARCHAR, file_bytes BIGINT, rows_read BIGINT, rows_loaded BIGINT,
    rows_quarantined BIGINT, status VARCHAR, schema_drift VARCHAR, message VARCHAR, started_at TIMESTAMP,
    finished_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS raw.quarantine (load_id VARCHAR, system VARCHAR, entity VARCHAR,
    source_file VARCHAR, source_line BIGINT, column_name VARCHAR, reason VARCHAR, raw_record VARCHAR,
    quarantined_at TIMESTAMP)""",
)


def _create_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    for entity in ENTITIES:
        con.execute(entity.raw_ddl())
    try:
        from smb_warehouse.ingestion.loader import ensure_ingestion_tables
    except ImportError:
        for ddl in _LEDGER_DDL:
            con.execute(ddl)
    else:
        ensure_ingestion_tables(con)


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict]) -> None:
    for row in rows:
        cols = ", ".join(f'"{c}"' for c in row)
        con.execute(f"INSERT INTO raw.{table} ({cols}) VALUES ({', '.join('?' for _ in row)})", list(row.values()))


def _lineage(load_id: str, source_file: str, line: int, loaded_at: str) -> dict:
    return {"_load_id": load_id, "_source_file": source_file, "_source_line": line, "_loaded_at": loaded_at}


def _seed_raw_rows(con: duckdb.DuckDBPyConnection) -> None:
    _insert(con, "erp__customers", [
        # Two versions of one customer (batch 2 is newer) plus an older version that arrived late.
        {"customer_id": "C-00001", "customer_name": "Müller  Maschinenbau GmbH ", "email": " Info@Mueller-MB.de",
         "phone": "030-4579018", "country": "DE", "vat_id": "de 123 456 789",
         "created_at": "2023-05-01 09:00:00", "updated_at": "2023-05-01 09:00:00",
         **_lineage("load-1", "erp/customers/batch_0001.csv", 2, "2024-01-01 02:00:00")},
        {"customer_id": "C-00001", "customer_name": "Müller Maschinenbau GmbH", "email": "INFO@MUELLER-MB.DE ",
         "phone": "(030) 4579018", "country": "DE", "vat_id": "DE123456789",
         "created_at": "2023-05-01 09:00:00", "updated_at": "2024-02-10 14:30:00",
         **_lineage("load-2", "erp/customers/batch_0002.csv", 7, "2024-02-11 02:00:00")},
        {"customer_id": "C-00001", "customer_name": "Müller MB (stale)", "email": "old@mueller-mb.de",
         "phone": "+49 30 1111111", "country": "DE", "vat_id": None,
         "created_at": "2023-05-01 09:00:00", "updated_at": "2023-12-01 08:00:00",
         **_lineage("load-3", "erp/customers/batch_0003.csv", 1, "2024-03-01 02:00:00")},
        {"customer_id": "C-00002", "customer_name": "Acme Supply Inc", "email": "ap@acme.example",
         "phone": "212.555.2668", "country": "US", "vat_id": "12-3456789",
         "created_at": "2023-06-01 09:00:00", "updated_at": "2023-06-01 09:00:00",
         **_lineage("load-1", "erp/customers/batch_0001.csv", 3, "2024-01-01 02:00:00")},
    ])
    _insert(con, "crm__accounts", [
        {"account_id": "001A00000001", "account_name": "Mueller Maschinenbau", "website": "https://www.mueller-mb.de/",
         "phone": "+49 30 4579018", "street": "Hauptstr. 1", "city": "Berlin", "postal_code": "10115",
         "country": "Germany", "vat_number": "DE 123 456 789", "industry": "Machinery",
         "created_at": "2023-04-01 10:00:00", "updated_at": "2024-01-05 10:00:00",
         **_lineage("load-1", "crm/accounts/2024-01-06.json", 0, "2024-01-06 02:00:00")},
    ])
    _insert(con, "crm__contacts", [
        {"contact_id": "003A00000001", "account_id": "001A00000001", "first_name": "Anna", "last_name": "Schmidt",
         "email": "Anna.Schmidt@Mueller-MB.de", "phone": "0170 1234567", "created_at": "2023-04-02 10:00:00",
         **_lineage("load-1", "crm/contacts/2024-01-06.ndjson", 1, "2024-01-06 02:00:00")},
    ])
    _insert(con, "finance__ap_invoices", [
        {"invoice_id": "AP-0000001", "vendor_id": "V-100", "vendor_name": "Acme Supply Inc",
         "vendor_vat_id": None, "vendor_invoice_number": "INV-77", "po_reference": "po-000123",
         "invoice_date": "2024-03-15", "due_date": "2024-04-14", "received_date": "2024-03-18",
         "currency": "USD", "net_amount": Decimal("1234.5600"), "tax_amount": Decimal("0.0000"),
         "total_amount": Decimal("1234.5600"), "status": "open",
         **_lineage("load-1", "finance/ap_invoices/2024-03-20.csv", 2, "2024-03-20 02:00:00")},
        {"invoice_id": "AP-0000002", "vendor_id": "V-200", "vendor_name": "Bürobedarf Klein",
         "vendor_vat_id": "DE.987.654.321", "vendor_invoice_number": "2024-0042", "po_reference": None,
         "invoice_date": "2024-03-16", "due_date": "2024-04-15", "received_date": None,
         "currency": "EUR", "net_amount": Decimal("100.0000"), "tax_amount": Decimal("19.0000"),
         "total_amount": Decimal("119.0000"), "status": "approved",
         **_lineage("load-1", "finance/ap_invoices/2024-03-20.csv", 3, "2024-03-20 02:00:00")},
    ])
    _insert(con, "finance__ap_invoice_lines", [
        {"invoice_id": "AP-0000001", "line_no": 1, "description": " Bearings  6204 ", "sku": "brg-0001",
         "quantity": Decimal("10.0000"), "unit_price": Decimal("123.4560"), "line_amount": Decimal("1234.5600"),
         **_lineage("load-1", "finance/ap_invoice_lines/2024-03-20.csv", 2, "2024-03-20 02:00:00")},
    ])
    _insert(con, "support__tickets", [
        {"ticket_id": "T-0000001", "customer_email": " Anna.Schmidt@Mueller-MB.de ", "customer_name": "Anna Schmidt",
         "subject": "Bearing noisy", "body": "My name is Anna, call me on 0170 1234567", "category": "defect",
         "priority": "high", "channel": "email", "status": "open", "created_at": "2024-03-01 08:00:00",
         "contact_count": 1, **_lineage("load-1", "support/tickets/2024-03-02.ndjson", 1, "2024-03-02 02:00:00")},
    ])
    _insert(con, "load_audit", [
        {"load_id": "load-1", "system": "erp", "entity": "customers", "source_file": "erp/customers/batch_0001.csv",
         "content_sha256": "ab" * 32, "file_bytes": 512, "rows_read": 3, "rows_loaded": 2, "rows_quarantined": 1,
         "status": "loaded", "schema_drift": "[]", "message": None,
         "started_at": "2024-01-01 02:00:00", "finished_at": "2024-01-01 02:00:01"},
    ])
    _insert(con, "quarantine", [
        {"load_id": "load-1", "system": "erp", "entity": "customers", "source_file": "erp/customers/batch_0001.csv",
         "source_line": 4, "column_name": "customer_id", "reason": "pattern mismatch",
         "raw_record": '{"customer_id": "X-1", "customer_name": "Jane Doe"}', "quarantined_at": "2024-01-01 02:00:01"},
    ])


def _dbt_executable() -> list[str]:
    candidate = Path(sys.executable).with_name("dbt")
    if candidate.exists():
        return [str(candidate)]
    found = shutil.which("dbt")
    if not found:
        pytest.skip("dbt executable not found")
    return [found]


@pytest.fixture(scope="module")
def built_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("dbt_build")
    db_path = work / "candidate_test.duckdb"
    con = duckdb.connect(str(db_path))
    try:
        _create_raw_schema(con)
        _seed_raw_rows(con)
    finally:
        con.close()
    env = {**os.environ, "DBT_DUCKDB_PATH": str(db_path), "DBT_TARGET": "duckdb",
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "False", "DO_NOT_TRACK": "1"}
    cmd = _dbt_executable() + [
        "build", "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR),
        "--target-path", str(work / "target"), "--log-path", str(work / "logs"), "--no-use-colors",
    ]
    proc = subprocess.run(cmd, cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"dbt build failed:\n{proc.stdout[-8000:]}\n{proc.stderr[-4000:]}"
    assert "Completed successfully" in proc.stdout
    return db_path


def _rows(db_path: Path, sql: str) -> list[dict]:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]
    finally:
        con.close()


def _fx_rate(currency: str, month: str) -> Decimal:
    with (PROJECT_DIR / "seeds" / "fx_rates.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["currency"] == currency and row["rate_month"] == month:
                return Decimal(row["rate_to_base"])
    raise KeyError((currency, month))


def test_staging_views_exist_for_every_entity(built_warehouse):
    views = {r["view_name"] for r in _rows(built_warehouse,
             "SELECT view_name FROM duckdb_views() WHERE schema_name = 'staging'")}
    expected = {f"stg_{e.system}__{e.name}" for e in ENTITIES} | {
        "stg_ingestion__load_audit", "stg_ingestion__quarantine"}
    assert expected <= views


def test_every_unit_test_runs_and_passes_here(built_warehouse):
    """The nightly pipeline build leaves unit tests out (orchestration/dbt/assets.py), so this build is where every
    one of them runs on DuckDB: each unit test of the manifest has a passing result."""
    target = built_warehouse.parent / "target"
    declared = set(json.loads((target / "manifest.json").read_text())["unit_tests"])
    results = {r["unique_id"]: r["status"] for r in json.loads((target / "run_results.json").read_text())["results"]
               if r["unique_id"].startswith("unit_test.")}
    assert len(declared) >= 25 and results == dict.fromkeys(declared, "pass")


def test_latest_customer_version_wins(built_warehouse):
    rows = _rows(built_warehouse, "SELECT * FROM staging.stg_erp__customers ORDER BY erp_customer_id")
    assert [r["erp_customer_id"] for r in rows] == ["C-00001", "C-00002"]
    mueller, acme = rows
    assert mueller["customer_name"] == "Müller Maschinenbau GmbH"  # batch 2, not the late stale version
    assert mueller["email"] == "info@mueller-mb.de"
    assert mueller["vat_id"] == "DE123456789"
    assert (mueller["_source_file"], mueller["_source_line"], mueller["_load_id"]) == (
        "erp/customers/batch_0002.csv", 7, "load-2")
    assert mueller["phone_e164"] == "+49304579018"
    assert acme["phone_e164"] == "+12125552668"


def test_crm_rows_are_normalised(built_warehouse):
    account = _rows(built_warehouse, "SELECT * FROM staging.stg_crm__accounts")[0]
    assert account["crm_account_id"] == "001A00000001"
    assert account["country_code"] == "DE"
    assert account["website_domain"] == "mueller-mb.de"
    assert account["vat_id"] == "DE123456789"
    assert account["phone_e164"] == "+49304579018"
    contact = _rows(built_warehouse, "SELECT * FROM staging.stg_crm__contacts")[0]
    assert contact["phone_e164"] == "+491701234567"  # national number, account's country
    assert contact["email"] == "anna.schmidt@mueller-mb.de"


def test_ap_invoice_amounts_in_base_currency(built_warehouse):
    rows = {r["finance_ap_invoice_id"]: r for r in _rows(built_warehouse, "SELECT * FROM staging.stg_finance__ap_invoices")}
    usd = rows["AP-0000001"]
    assert usd["currency_code"] == "USD"
    assert usd["net_amount"] == Decimal("1234.5600")
    expected = (Decimal("1234.5600") * _fx_rate("USD", "2024-03-01")).quantize(Decimal("0.0001"))
    assert usd["net_amount_base"] == expected
    assert usd["total_amount_base"] == expected
    assert usd["po_reference"] == "PO-000123"
    eur = rows["AP-0000002"]
    assert eur["total_amount_base"] == Decimal("119.0000")
    assert eur["vendor_vat_id"] == "DE987654321"
    line = _rows(built_warehouse, "SELECT * FROM staging.stg_finance__ap_invoice_lines")[0]
    assert (line["sku"], line["line_description"]) == ("BRG-0001", "Bearings 6204")


def test_ingestion_ledger_staged(built_warehouse):
    audit = _rows(built_warehouse, "SELECT * FROM staging.stg_ingestion__load_audit")[0]
    assert (audit["source_system"], audit["raw_table"], audit["load_status"]) == ("erp", "erp__customers", "loaded")
    quarantined = _rows(built_warehouse, "SELECT * FROM staging.stg_ingestion__quarantine")[0]
    assert quarantined["source_line"] == 4 and "Jane Doe" in quarantined["raw_record"]
    ticket = _rows(built_warehouse, "SELECT * FROM staging.stg_support__tickets")[0]
    assert ticket["customer_email"] == "anna.schmidt@mueller-mb.de"


def test_views_survive_publishing_under_another_file_name(built_warehouse, tmp_path):
    """Publishing copies the candidate file to warehouse.duckdb: views must not name the old catalog."""
    published = tmp_path / "warehouse.duckdb"
    shutil.copy(built_warehouse, published)
    rows = _rows(published, "SELECT erp_customer_id FROM staging.stg_erp__customers ORDER BY 1")
    assert [r["erp_customer_id"] for r in rows] == ["C-00001", "C-00002"]


def test_dbt_creates_every_python_written_table_exactly_as_python_declares_it(built_warehouse, tmp_path):
    """The on-run-start macro (create_python_written_tables) and the Python writers read one declaration
    (models/sources/): on a fresh database dbt creates every such table, empty, with the same columns,
    types, order, NOT NULLs and primary key as the Python DDL."""
    from smb_warehouse.core import python_tables

    def shape(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> tuple[list[tuple], list[str], int]:
        columns = con.execute("SELECT column_name, data_type, is_nullable FROM information_schema.columns "
                              "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position", [schema, name]).fetchall()
        pk = con.execute("SELECT constraint_column_names FROM duckdb_constraints() WHERE schema_name = ? AND table_name = ? "
                         "AND constraint_type = 'PRIMARY KEY'", [schema, name]).fetchall()
        rows = con.execute(f'SELECT count(*) FROM "{schema}"."{name}"').fetchone()[0] if columns else -1
        return columns, (pk[0][0] if pk else []), rows

    declared = python_tables.all_tables()
    assert len(declared) >= 15
    reference = duckdb.connect(str(tmp_path / "declared.duckdb"))
    built = duckdb.connect(str(built_warehouse), read_only=True)
    try:
        for spec in declared.values():
            reference.execute(f'CREATE SCHEMA IF NOT EXISTS "{spec.schema}"')
            reference.execute(f"CREATE TABLE {spec.quoted_relation} ({spec.ddl()})")
            expected = shape(reference, spec.schema, spec.identifier)
            assert expected[0], spec.relation
            assert shape(built, spec.schema, spec.identifier) == expected, spec.relation
    finally:
        reference.close()
        built.close()
