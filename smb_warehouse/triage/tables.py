"""The tables the triage asset writes (schema `triage`, declared in models/sources/_triage__sources.yml) and
the dbt models it reads."""
from __future__ import annotations

import duckdb
import pandas as pd

from smb_warehouse.core import dbt_manifest, python_tables
from smb_warehouse.core.warehouse import Replace, write_tables

PREDICTIONS = python_tables.table("triage.ticket_predictions")
KB_SUGGESTIONS = python_tables.table("triage.kb_suggestions")
TRIAGE_STATE = python_tables.table("triage.triage_state")
SCHEMA = PREDICTIONS.schema
TICKETS_MODEL = "int_triage__ticket_inputs"
ARTICLES_MODEL = "stg_support__kb_articles"
AUDIT_MODEL = "stg_ingestion__load_audit"


def read_inputs(con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(tickets, articles): every row of int_triage__ticket_inputs by support_ticket_id, and the KB articles
    (support_article_id, title, body, category, sku) by support_article_id."""
    tickets = con.execute(f"SELECT * FROM {dbt_manifest.relation(TICKETS_MODEL)} ORDER BY support_ticket_id").df()
    articles = con.execute("SELECT support_article_id, title, body, category, sku "
                           f"FROM {dbt_manifest.relation(ARTICLES_MODEL)} ORDER BY support_article_id").df()
    return tickets, articles


def write(con: duckdb.DuckDBPyConnection, predictions: pd.DataFrame, suggestions: pd.DataFrame,
          state: pd.DataFrame) -> None:
    """Replace the three tables in one transaction: suggestions and the serving / safe-mode state never belong
    to another run's predictions."""
    write_tables(con, [Replace(PREDICTIONS, predictions), Replace(KB_SUGGESTIONS, suggestions),
                       Replace(TRIAGE_STATE, state)])
