"""A minimal warehouse for entity resolution: the raw tables it needs and the dbt models up to the
int_er__* views. Much faster than the whole Dagster job; shared by the benchmark and the tests."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import duckdb

from smb_warehouse.core import paths
from smb_warehouse.ingestion.contracts import all_entities
from smb_warehouse.ingestion.loader import ensure_ingestion_tables, load_entity

ER_SOURCES = {("erp", "customers"), ("erp", "suppliers"), ("erp", "products"), ("crm", "accounts"), ("crm", "contacts"),
              ("finance", "ar_invoices"), ("finance", "ap_invoices"), ("support", "tickets")}
ER_SELECTOR = "+path:models/intermediate/er"


def load_raw(db: Path, landing: Path) -> None:
    entities = all_entities()
    con = duckdb.connect(str(db))
    try:
        ensure_ingestion_tables(con, entities)
        load_id = f"er-bench-{uuid.uuid4()}"
        for entity in entities:
            if (entity.system, entity.name) in ER_SOURCES:
                load_entity(con, entity, landing, load_id=load_id)
    finally:
        con.close()


def build_er_models(db: Path) -> None:
    """`dbt build` of the int_er__* models and everything upstream (seeds, staging) with their tests; tests
    that also read unselected models (marts reconciliations) are left out (cautious selection).
    Own target/log paths: other people run dbt in the same project concurrently."""
    dbt = Path(sys.executable).with_name("dbt")
    with tempfile.TemporaryDirectory(prefix="er-dbt-") as tmp:
        env = {**os.environ, "DBT_DUCKDB_PATH": str(db), "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
        cmd = [str(dbt), "build", "--select", ER_SELECTOR, "--project-dir", str(paths.DBT_PROJECT_DIR),
               "--profiles-dir", str(paths.DBT_PROJECT_DIR), "--indirect-selection", "cautious",
               "--target-path", f"{tmp}/target", "--log-path", f"{tmp}/logs"]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"dbt build of the ER models failed:\n{done.stdout[-4000:]}")


def build(db: Path, landing: Path) -> Path:
    """Raw tables and the int_er__* models in ``db``; also makes sure the project's dbt manifest is current,
    since entity resolution names the models it reads through it (smb_warehouse.core.dbt_manifest)."""
    from orchestration.dbt.assets import ensure_manifest

    load_raw(db, landing)
    build_er_models(db)
    ensure_manifest()
    return db
