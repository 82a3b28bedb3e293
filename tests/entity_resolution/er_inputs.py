"""Helpers for entity-resolution tests: swap the dbt-built int_er__* views of a private warehouse copy for
tables holding a test's own rows (same columns and types as the models), so a test can state its case
(empty masters, one system, a VAT typo, ...) and run the real resolution on it."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from smb_warehouse.core.dbt_manifest import relation

MODELS = {"customer": "int_er__customer_records", "supplier": "int_er__supplier_records",
          "product": "int_er__product_records"}


def read_inputs(db: Path) -> dict[str, pd.DataFrame]:
    """entity_type -> all rows of its int_er__* model in the warehouse at ``db``."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {t: con.execute(f"SELECT * FROM {relation(m)} ORDER BY record_key").df() for t, m in MODELS.items()}
    finally:
        con.close()


def replace_inputs(con: duckdb.DuckDBPyConnection, frames: dict[str, pd.DataFrame]) -> None:
    """Replace the int_er__* models named by ``frames`` (entity_type -> rows; missing columns NULL, extra
    columns an error) with tables of the model's own columns and types. Types are cast by DuckDB."""
    for entity_type, frame in frames.items():
        rel = relation(MODELS[entity_type])
        columns = con.execute(f"DESCRIBE {rel}").fetchall()
        unknown = set(frame.columns) - {c[0] for c in columns}
        if unknown:
            raise ValueError(f"{entity_type}: columns {sorted(unknown)} are not in {rel}")
        con.register("test_rows", frame.reindex(columns=[c[0] for c in columns]).astype(object))
        select = ", ".join(f"CAST({name} AS {dtype}) AS {name}" for name, dtype, *_ in columns)
        con.execute(f"DROP VIEW IF EXISTS {rel}")
        con.execute(f"DROP TABLE IF EXISTS {rel}")
        con.execute(f"CREATE TABLE {rel} AS SELECT {select} FROM test_rows")
        con.unregister("test_rows")


def organisation(key: str, name: str, **fields: str | None) -> dict:
    """One int_er__customer_records row of an organisation; ``key`` is '<system>:<entity>:<id>'.
    name_clean / name_core are derived the simple way (lower case; the tests use names without legal forms)."""
    system, entity, source_id = key.split(":", 2)
    clean = name.lower()
    return {"record_key": key, "source_system": system, "source_entity": entity, "source_id": source_id,
            "record_kind": "organisation", "display_name": name, "name_clean": clean, "name_core": clean, **fields}


def person(key: str, name: str, email: str | None, parent: str | None = None, company_domain: str | None = None) -> dict:
    system, entity, source_id = key.split(":", 2)
    return {"record_key": key, "source_system": system, "source_entity": entity, "source_id": source_id,
            "record_kind": "person", "display_name": name, "email": email,
            "email_domain": email.split("@", 1)[1] if email else None, "company_domain": company_domain,
            "parent_record_key": parent}
